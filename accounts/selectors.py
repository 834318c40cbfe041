"""Reads of users, always scoped to what the actor may see."""

from __future__ import annotations

from typing import Any, NamedTuple
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


class UserRow(NamedTuple):
    """What a membership shows of its user: read as a tuple, no model instance."""

    id: UUID
    email: str
    full_name: str
    role: str
    is_active: bool

    @property
    def chat_user_id(self) -> str:
        return str(self.id)


def user_rows_in_tenant(*, tenant_id: UUID, user_ids: list[UUID]) -> tuple[list[UserRow], list[UUID]]:
    """Like :func:`users_in_tenant`, as :class:`UserRow` tuples in the order of
    ``user_ids`` (repeats dropped): for bulk writes that need ids and a few fields."""
    found = {
        row[0]: UserRow(*row)
        for row in User.objects.for_tenant(tenant_id)
        .filter(pk__in=user_ids)
        .order_by()
        .values_list(*UserRow._fields)
    }
    ordered = list(dict.fromkeys(user_ids))
    return [found[uid] for uid in ordered if uid in found], [uid for uid in ordered if uid not in found]
