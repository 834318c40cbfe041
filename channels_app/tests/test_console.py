"""Channels and memberships edited in the onboarding console (the channel page
with its members inline, the membership list) go through the channel services:
audited with the staff user as actor, queued for the chat service, rules kept."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from channels_app.models import Channel, ChannelRole, Membership
from channels_app.services import channel_direct_start
from streamsync.models import EntityType, OutboxEntry

pytestmark = pytest.mark.django_db

ADD = reverse("admin:channels_app_channel_add")
MEMBERSHIPS = reverse("admin:channels_app_membership_changelist")
ADD_MEMBERSHIP = reverse("admin:channels_app_membership_add")


def change_url(channel: Channel) -> str:
    return reverse("admin:channels_app_channel_change", args=[channel.pk])


def events(**filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def channel_form(channel: Channel | None = None, members: list[dict] = (), **fields: object) -> dict:
    """The channel page as posted: its fields and its members inline (``members``:
    one dict per row, with ``id`` for an existing membership)."""
    data: dict[str, object] = {}
    if channel is not None:
        data.update(name=channel.name, description=channel.description, visibility=channel.visibility)
    data.update(fields)
    initial = [row for row in members if row.get("id")]
    data.update(
        {
            "memberships-TOTAL_FORMS": str(len(members)),
            "memberships-INITIAL_FORMS": str(len(initial)),
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        }
    )
    for i, row in enumerate(members):
        for key, value in row.items():
            data[f"memberships-{i}-{key}"] = value
        if channel is not None:
            data[f"memberships-{i}-channel"] = str(channel.pk)
    return data


def rows_of(channel: Channel) -> list[dict]:
    return [
        {"id": str(m.pk), "user": str(m.user_id), "role": m.role}
        for m in Membership.objects.filter(channel=channel).order_by("created_at")
    ]


def queued(entity_type: str, channel: Channel) -> bool:
    return OutboxEntry.objects.filter(entity_type=entity_type, entity_id=str(channel.pk)).exists()


@pytest.fixture
def no_outbox(world):
    OutboxEntry.objects.all().delete()


class TestChannelPage:
    def test_a_channel_added_with_members_is_audited_and_queued(self, staff_client: Client, world):
        data = channel_form(
            members=[{"user": str(world.member.pk), "role": "member"}],
            tenant=str(world.tenant_a.pk),
            name="Ops",
            slug="ops",
            description="",
            visibility="public",
        )
        response = staff_client.post(ADD, data)
        assert response.status_code == 302, response.content
        channel = Channel.objects.get(tenant=world.tenant_a, slug="ops")
        assert list(channel.memberships.values_list("user_id", flat=True)) == [world.member.pk]
        actions = [(e.action, e.actor_id) for e in events(target_id=str(channel.pk))]
        assert actions == [("channel.created", world.staff.pk), ("channel.members_added", world.staff.pk)]
        assert queued(EntityType.CHANNEL, channel) and queued(EntityType.CHANNEL_MEMBERS, channel)

    def test_a_rename_is_audited_and_queued(self, staff_client: Client, world, no_outbox):
        channel = world.public_channel
        response = staff_client.post(
            change_url(channel), channel_form(channel, rows_of(channel), name="General chat")
        )
        assert response.status_code == 302, response.content
        [event] = events(target_id=str(channel.pk))
        assert (event.action, event.actor_id, event.changes) == (
            "channel.updated",
            world.staff.pk,
            {"name": ["General", "General chat"]},
        )
        assert queued(EntityType.CHANNEL, channel)

    def test_members_added_changed_and_removed_inline_go_through_the_services(
        self, staff_client: Client, world, no_outbox
    ):
        channel = world.public_channel  # world.member is its one member
        [row] = rows_of(channel)
        rows = [
            {**row, "role": "moderator"},
            {"user": str(world.other_member.pk), "role": "member"},
        ]
        response = staff_client.post(change_url(channel), channel_form(channel, rows))
        assert response.status_code == 302, response.content
        roles = dict(channel.memberships.values_list("user_id", "role"))
        assert roles == {world.member.pk: ChannelRole.MODERATOR, world.other_member.pk: ChannelRole.MEMBER}
        actions = sorted(e.action for e in events(target_id=str(channel.pk)))
        assert actions == ["channel.members_added", "channel.members_added"]
        assert queued(EntityType.CHANNEL_MEMBERS, channel)

        OutboxEntry.objects.all().delete()
        rows = [{**row, "DELETE": "on"} for row in rows_of(channel)]
        response = staff_client.post(change_url(channel), channel_form(channel, rows))
        assert response.status_code == 302, response.content
        assert not channel.memberships.exists()
        removed = events(action="channel.member_removed")
        assert len(removed) == 2 and {e.actor_id for e in removed} == {world.staff.pk}
        assert queued(EntityType.CHANNEL_MEMBERS, channel)

    def test_a_member_of_another_tenant_is_a_form_error(self, staff_client: Client, world):
        channel = world.public_channel
        rows = [*rows_of(channel), {"user": str(world.outsider.pk), "role": "member"}]
        response = staff_client.post(change_url(channel), channel_form(channel, rows))
        assert response.status_code == 200
        assert "another tenant" in response.content.decode()
        assert not channel.memberships.filter(user=world.outsider).exists()

    def test_a_name_with_a_line_break_is_a_form_error(self, staff_client: Client, world):
        channel = world.public_channel
        response = staff_client.post(
            change_url(channel), channel_form(channel, rows_of(channel), name="A\nB")
        )
        assert response.status_code == 200
        assert "name" in response.context["adminform"].form.errors
        channel.refresh_from_db()
        assert channel.name == "General"

    def test_delete_selected_goes_through_the_service(self, staff_client: Client, world, no_outbox):
        selected = [world.public_channel, world.private_channel]
        response = staff_client.post(
            reverse("admin:channels_app_channel_changelist"),
            {"action": "delete_selected", "_selected_action": [str(c.pk) for c in selected], "post": "yes"},
        )
        assert response.status_code == 302
        assert not Channel.objects.filter(pk__in=[c.pk for c in selected]).exists()
        deleted = events(action="channel.deleted")
        assert sorted(e.target_id for e in deleted) == sorted(str(c.pk) for c in selected)
        assert {e.actor_id for e in deleted} == {world.staff.pk}
        assert all(queued(EntityType.CHANNEL, channel) for channel in selected)


class TestMembershipList:
    def test_a_membership_added_is_audited_and_queued(self, staff_client: Client, world, no_outbox):
        channel = world.public_channel
        response = staff_client.post(
            ADD_MEMBERSHIP, {"channel": str(channel.pk), "user": str(world.moderator.pk), "role": "moderator"}
        )
        assert response.status_code == 302, response.content
        assert channel.memberships.get(user=world.moderator).role == ChannelRole.MODERATOR
        [event] = events(target_id=str(channel.pk))
        assert (event.action, event.actor_id) == ("channel.members_added", world.staff.pk)
        assert queued(EntityType.CHANNEL_MEMBERS, channel)

    def test_a_role_change_is_audited_and_its_channel_and_user_are_fixed(
        self, staff_client: Client, world, no_outbox
    ):
        membership = world.public_channel.memberships.get(user=world.member)
        url = reverse("admin:channels_app_membership_change", args=[membership.pk])
        page = staff_client.get(url).content.decode()
        assert 'name="channel"' not in page and 'name="user"' not in page
        response = staff_client.post(
            url, {"channel": str(world.private_channel.pk), "user": str(world.admin.pk), "role": "moderator"}
        )
        assert response.status_code == 302, response.content
        membership.refresh_from_db()
        assert (membership.channel_id, membership.user_id, membership.role) == (
            world.public_channel.pk,
            world.member.pk,
            ChannelRole.MODERATOR,
        )
        [event] = events(target_id=str(world.public_channel.pk))
        assert (event.action, event.actor_id) == ("channel.members_added", world.staff.pk)

    def test_delete_selected_goes_through_the_service(self, staff_client: Client, world, no_outbox):
        selected = [
            world.public_channel.memberships.get(user=world.member),
            world.private_channel.memberships.get(user=world.other_member),
        ]
        response = staff_client.post(
            MEMBERSHIPS,
            {"action": "delete_selected", "_selected_action": [str(m.pk) for m in selected], "post": "yes"},
        )
        assert response.status_code == 302
        assert not Membership.objects.filter(pk__in=[m.pk for m in selected]).exists()
        removed = events(action="channel.member_removed")
        assert len(removed) == 2 and {e.actor_id for e in removed} == {world.staff.pk}
        assert queued(EntityType.CHANNEL_MEMBERS, world.public_channel)

    def test_delete_selected_leaves_a_direct_conversation_whole(self, staff_client: Client, world):
        conversation, _ = channel_direct_start(creator=world.member, user_ids=[world.other_member.pk])
        selected = [
            conversation.memberships.get(user=world.member),
            world.public_channel.memberships.get(user=world.member),
        ]
        response = staff_client.post(
            MEMBERSHIPS,
            {"action": "delete_selected", "_selected_action": [str(m.pk) for m in selected], "post": "yes"},
        )
        assert response.status_code in (302, 403)
        assert Membership.objects.filter(pk__in=[m.pk for m in selected]).count() == 2
        assert not events(action="channel.member_removed")
