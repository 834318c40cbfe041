"""Reads of tenants."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from tenants.models import Tenant, TenantQuerySet


def _count_of(relation: str) -> Coalesce:
    """Rows of the reverse relation ``relation`` per tenant, as a correlated subquery."""
    related = Tenant._meta.get_field(relation).related_model
    counts = (
        related._default_manager.filter(tenant=OuterRef("pk"))
        .order_by()
        .values("tenant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def tenants_with_counts(queryset: TenantQuerySet) -> TenantQuerySet:
    """Annotate ``user_count`` and ``channel_count`` (one subquery each, no join fan-out)."""
    return queryset.annotate(user_count=_count_of("users"), channel_count=_count_of("channels"))
