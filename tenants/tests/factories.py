from __future__ import annotations

import itertools

from tenants.models import Tenant

_seq = itertools.count(1)


def TenantFactory(**fields) -> Tenant:
    n = next(_seq)
    fields.setdefault("name", f"Tenant {n}")
    fields.setdefault("slug", f"tenant-{n}")
    return Tenant.objects.create(**fields)
