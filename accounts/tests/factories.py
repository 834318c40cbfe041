from __future__ import annotations

import itertools

from accounts.models import User
from tenants.roles import Role
from tenants.tests.factories import TenantFactory

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"

_unset = object()


def UserFactory(*, tenant=_unset, role=Role.MEMBER, password=PASSWORD, **fields) -> User:
    n = next(_seq)
    if tenant is _unset:
        tenant = None if fields.get("is_staff") else TenantFactory()  # staff have no tenant
    fields.setdefault("email", f"user{n}@example.test")
    fields.setdefault("full_name", f"User {n}")
    user = User(tenant=tenant, role=role, **fields)
    user.set_password(password)
    user.save()
    return user
