"""Writes of tenants in bulk, for imports of any size.

The rows go in with the set-based helpers of ``chatplatform.db`` (``COPY`` on
PostgreSQL), which fire no model signals. Like ``tenant_create`` and
``tenant_update``, these queue nothing for the chat service (a team is its
slug, which never changes); a change of status goes through ``tenant_suspend``
and ``tenant_reactivate``, which tell it.

Preconditions: the caller has checked the rows (valid names, free slugs) and
holds the transaction; a constraint the database still finds violated raises
``IntegrityError`` and the caller's transaction must roll back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import transaction

from chatplatform.db import rows_insert, rows_update
from tenants.models import Tenant


@dataclass(frozen=True, slots=True)
class NewTenant:
    pk: UUID
    slug: str
    name: str
    status: str


@dataclass(frozen=True, slots=True)
class TenantRename:
    pk: UUID
    name: str


@transaction.atomic
def tenants_bulk_create(*, tenants: Sequence[NewTenant], now: datetime) -> None:
    rows_insert(
        Tenant,
        ("id", "slug", "name", "status", "created_at", "updated_at"),
        ((t.pk, t.slug, t.name, t.status, now, now) for t in tenants),
    )


@transaction.atomic
def tenants_bulk_rename(*, renames: Sequence[TenantRename], now: datetime) -> None:
    rows_update(Tenant, "id", ["name"], [(r.pk, r.name) for r in renames], constants={"updated_at": now})
