"""Reads of tenants."""

from __future__ import annotations

from typing import TypeVar, cast

from django.db.models import Model, QuerySet

from chatplatform.db import count_of
from tenants.models import Tenant

TenantsT = TypeVar("TenantsT", bound=QuerySet[Tenant])


def tenants_with_counts(queryset: TenantsT) -> TenantsT:
    """Annotate ``user_count`` and ``channel_count`` (one subquery each, no join fan-out)."""
    related = {
        name: cast("type[Model]", Tenant._meta.get_field(name).related_model)
        for name in ("users", "channels")
    }
    return queryset.annotate(
        user_count=count_of(related["users"], "tenant"), channel_count=count_of(related["channels"], "tenant")
    )
