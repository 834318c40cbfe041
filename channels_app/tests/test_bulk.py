"""Channels and memberships written in bulk: the rows, and the app's bulk
signals that queue what changed for the chat service, once each."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from channels_app.bulk import (
    ChannelUpdate,
    MembershipRoleChange,
    NewChannel,
    NewMembership,
    channels_bulk_create,
    channels_bulk_update,
    memberships_bulk_write,
)
from channels_app.models import Channel, Membership
from streamsync.models import EntityType, OutboxEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_outbox(world):
    """An empty outbox, so a test sees the rows its own change writes."""
    OutboxEntry.objects.all().delete()


def queued() -> list[tuple[str, str, uuid.UUID | None]]:
    return sorted(OutboxEntry.objects.values_list("entity_type", "entity_id", "tenant_id"))


def test_created_channels_are_written_and_queued(world, no_outbox):
    new = NewChannel(uuid.uuid4(), "sales", "Sales", "Deals", "private")
    channels_bulk_create(tenant=world.tenant_a, channels=[new], now=timezone.now())

    channel = Channel.objects.get(pk=new.pk)
    assert (channel.tenant_id, channel.slug, channel.name, channel.visibility) == (
        world.tenant_a.pk,
        "sales",
        "Sales",
        "private",
    )
    assert queued() == [(EntityType.CHANNEL, str(new.pk), world.tenant_a.pk)]


def test_updated_channels_are_written_and_queued(world, no_outbox):
    channel = world.public_channel
    update = ChannelUpdate(channel.pk, "All hands", "Everyone", "private")
    channels_bulk_update(tenant=world.tenant_a, updates=[update], now=timezone.now())

    channel.refresh_from_db()
    assert (channel.name, channel.description, channel.visibility) == ("All hands", "Everyone", "private")
    assert queued() == [(EntityType.CHANNEL, str(channel.pk), world.tenant_a.pk)]


def test_memberships_queue_each_changed_channel_once(world, no_outbox):
    general, secret = world.public_channel, world.private_channel
    existing = Membership.objects.get(channel=general, user=world.member)
    memberships_bulk_write(
        created=[
            NewMembership(general.pk, world.admin.pk, "member"),
            NewMembership(general.pk, world.moderator.pk, "moderator"),
            NewMembership(secret.pk, world.admin.pk, "member"),
        ],
        role_changes=[MembershipRoleChange(existing.pk, general.pk, world.member.pk, "moderator")],
        now=timezone.now(),
    )

    assert sorted(Membership.objects.filter(channel=general).values_list("user__email", "role")) == [
        ("admin@acme.test", "member"),
        ("member@acme.test", "moderator"),
        ("mod@acme.test", "moderator"),
    ]
    assert queued() == sorted(
        [
            (EntityType.CHANNEL_MEMBERS, str(general.pk), world.tenant_a.pk),
            (EntityType.CHANNEL_MEMBERS, str(secret.pk), world.tenant_a.pk),
        ]
    )


def test_nothing_to_write_queues_nothing(world, no_outbox):
    now = timezone.now()
    channels_bulk_create(tenant=world.tenant_a, channels=[], now=now)
    channels_bulk_update(tenant=world.tenant_a, updates=[], now=now)
    memberships_bulk_write(created=[], role_changes=[], now=now)
    assert queued() == []
