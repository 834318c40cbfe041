"""Writes of channels and memberships in bulk, for imports of any size.

The rows go in with the set-based helpers of ``chatplatform.db`` (``COPY`` on
PostgreSQL), which fire no model signals: each service here sends its app's
bulk signal itself (``channels_bulk_changed``, ``channel_members_changed``),
inside the transaction of the write, so the chat service hears of every
channel and member list that changed, and only of those.

Preconditions, as for every bulk service: the caller has checked the rows
(valid values, free slugs, ordinary channels and members of their tenant) and
holds the transaction; a constraint the database still finds violated raises
``IntegrityError`` and the caller's transaction must roll back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import transaction

from channels_app.models import Channel, Membership
from channels_app.signals import channel_members_changed, channels_bulk_changed
from chatplatform.db import rows_insert, rows_update
from tenants.models import Tenant


@dataclass(frozen=True, slots=True)
class NewChannel:
    """An ordinary channel to create (without members)."""

    pk: UUID
    slug: str
    name: str
    description: str
    visibility: str


@dataclass(frozen=True, slots=True)
class ChannelUpdate:
    """The new name, description and visibility of an existing channel."""

    pk: UUID
    name: str
    description: str
    visibility: str


@dataclass(frozen=True, slots=True)
class NewMembership:
    channel_id: UUID
    user_id: UUID
    role: str


@dataclass(frozen=True, slots=True)
class MembershipRoleChange:
    membership_id: int
    channel_id: UUID
    user_id: UUID
    role: str


def _announce_channels(tenant: Tenant, channel_ids: list[UUID]) -> None:
    if channel_ids:
        channels_bulk_changed.send(sender=Channel, tenant_id=tenant.pk, channel_ids=channel_ids)


@transaction.atomic
def channels_bulk_create(*, tenant: Tenant, channels: Sequence[NewChannel], now: datetime) -> None:
    """Create ``channels`` in ``tenant`` and queue them for the chat service."""
    rows_insert(
        Channel,
        ("id", "tenant", "slug", "name", "description", "visibility", "created_at", "updated_at"),
        ((c.pk, tenant.pk, c.slug, c.name, c.description, c.visibility, now, now) for c in channels),
    )
    _announce_channels(tenant, [channel.pk for channel in channels])


@transaction.atomic
def channels_bulk_update(*, tenant: Tenant, updates: Sequence[ChannelUpdate], now: datetime) -> None:
    """Write the name, description and visibility of ``tenant``'s channels in
    ``updates`` and queue them for the chat service."""
    rows_update(
        Channel,
        "id",
        ["name", "description", "visibility"],
        [(u.pk, u.name, u.description, u.visibility) for u in updates],
        constants={"updated_at": now},
    )
    _announce_channels(tenant, [update.pk for update in updates])


@transaction.atomic
def memberships_bulk_write(
    *, created: Sequence[NewMembership], role_changes: Sequence[MembershipRoleChange], now: datetime
) -> None:
    """Add the ``created`` memberships, set the roles of ``role_changes``, and
    queue each channel whose members changed for the chat service, once."""
    rows_insert(
        Membership,
        ("channel", "user", "role", "created_at", "updated_at"),
        ((m.channel_id, m.user_id, m.role, now, now) for m in created),
    )
    rows_update(
        Membership,
        "id",
        ["role"],
        [(change.membership_id, change.role) for change in role_changes],
        constants={"updated_at": now},
    )
    changed: dict[UUID, list[UUID]] = defaultdict(list)
    touched: list[NewMembership | MembershipRoleChange] = [*created, *role_changes]
    for membership in touched:
        changed[membership.channel_id].append(membership.user_id)
    if not changed:
        return
    for channel in Channel.objects.filter(pk__in=list(changed)):
        channel_members_changed.send(sender=Channel, channel=channel, user_ids=changed[channel.pk])
