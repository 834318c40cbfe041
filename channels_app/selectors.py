"""Reads of channels and memberships, scoped to what the actor may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from accounts.selectors import UserRow
from channels_app.models import Channel, ChannelKind, ChannelQuerySet, Membership
from tenants.scoping import Actor


class MemberRow(NamedTuple):
    """A membership as the API shows it, built from tuples: what bulk writes
    return instead of a model instance per row (the serializer reads both)."""

    user: UserRow
    role: str
    created_at: datetime
    updated_at: datetime


def channels_visible_to(*, actor: Actor) -> ChannelQuerySet:
    """The channels the actor may see, annotated with ``is_member`` (``member_count``
    is a column the database keeps)."""
    return (
        Channel.objects.visible_to(actor)
        .annotate(is_member=Exists(Membership.objects.filter(channel=OuterRef("pk"), user_id=actor.pk)))
        .order_by("name", "id")
    )


def channel_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> ChannelQuerySet:
    """The channels the actor lists, filtered by ``search``, ``visibility``,
    ``kind``, ``tenant`` and ``joined``.

    Direct conversations are listed only to their members (and platform
    staff): a tenant's admins and moderators list every ordinary channel but
    not other people's conversations, though an admin may still reach one by
    id, to delete it.
    """
    filters = filters or {}
    queryset = channels_visible_to(actor=actor)
    if not actor.is_platform_staff:
        queryset = queryset.filter(Q(kind=ChannelKind.CHANNEL) | Q(is_member=True))
    if kind := filters.get("kind"):
        queryset = queryset.filter(kind=kind)
    if search := filters.get("search"):
        queryset = queryset.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    if visibility := filters.get("visibility"):
        queryset = queryset.filter(visibility=visibility)
    if tenant := filters.get("tenant"):
        queryset = queryset.filter(tenant_id=tenant)
    if filters.get("joined") is not None:
        queryset = queryset.filter(is_member=filters["joined"])
    return queryset


def channel_members(*, channel: Channel) -> Any:
    return (
        Membership.objects.filter(channel=channel)
        .select_related("user")
        .order_by("created_at", "user__email")
    )


def channel_member_get(*, channel: Channel, user_id: Any) -> User | None:
    return User.objects.filter(pk=user_id, memberships__channel=channel).first()
