"""Reads of users, always scoped to what the actor may see."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Q

from accounts.models import User, UserQuerySet


def user_list(*, actor: User, filters: dict[str, Any] | None = None) -> UserQuerySet:
    """Users the actor may list, filtered by ``search``, ``role``, ``is_active``, ``tenant``."""
    filters = filters or {}
    queryset = User.objects.for_actor(actor)
    if search := filters.get("search"):
        queryset = queryset.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    if role := filters.get("role"):
        queryset = queryset.filter(role=role)
    if (is_active := filters.get("is_active")) is not None:
        queryset = queryset.filter(is_active=is_active)
    if tenant := filters.get("tenant"):
        queryset = queryset.filter(tenant_id=tenant)
    return queryset.order_by("email")


def users_in_tenant(*, tenant_id: UUID, user_ids: list[UUID]) -> tuple[list[User], list[UUID]]:
    """The users of ``tenant_id`` among ``user_ids``, and the ids that are not (missing or foreign)."""
    found = list(User.objects.for_tenant(tenant_id).filter(pk__in=user_ids))
    found_ids = {u.pk for u in found}
    missing = [uid for uid in dict.fromkeys(user_ids) if uid not in found_ids]
    return found, missing
