"""The tenant-scoping base every tenant-owned model and API view builds on.

Tenant isolation rests on one rule: rows are reached through ``for_actor``,
which filters by the actor's tenant (platform staff see every tenant). The API
base (:class:`tenants.api.mixins.TenantScopedViewSet`) applies it in
``get_queryset`` so a view cannot forget it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Self
from uuid import UUID

from django.db import models

if TYPE_CHECKING:
    from tenants.models import Tenant


class Actor(Protocol):
    """Who is asking: an authenticated user of the platform."""

    pk: Any
    tenant_id: UUID | None
    role: str

    @property
    def is_platform_staff(self) -> bool: ...


class TenantScopedQuerySet(models.QuerySet):
    tenant_field = "tenant"

    def for_tenant(self, tenant: Tenant | UUID) -> Self:
        return self.filter(**{self.tenant_field: tenant})

    def for_actor(self, actor: Actor) -> Self:
        """Rows the actor may reach at all: its own tenant's; every tenant's for staff."""
        if actor.is_platform_staff:
            return self
        if actor.tenant_id is None:
            return self.none()
        return self.filter(**{f"{self.tenant_field}_id": actor.tenant_id})
