"""Reads of tenants."""

from __future__ import annotations

from chatplatform.db import count_of
from tenants.models import Tenant, TenantQuerySet


def tenants_with_counts(queryset: TenantQuerySet) -> TenantQuerySet:
    """Annotate ``user_count`` and ``channel_count`` (one subquery each, no join fan-out)."""
    related = {name: Tenant._meta.get_field(name).related_model for name in ("users", "channels")}
    return queryset.annotate(
        user_count=count_of(related["users"], "tenant"), channel_count=count_of(related["channels"], "tenant")
    )
