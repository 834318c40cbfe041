"""The worker against a real (Stream-shaped) HTTP server: the chat service ends up
exactly as the database says, with every request valid per Stream's spec."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.services import user_create, user_delete, user_update
from channels_app.services import (
    channel_create,
    channel_delete,
    channel_direct_start,
    channel_member_remove,
    channel_members_add,
    channel_update,
)
from streamsync.models import OutboxEntry
from streamsync.tests.conftest import chat_state, drain, expected_state
from tenants.services import tenant_create, tenant_delete, tenant_reactivate, tenant_suspend

pytestmark = pytest.mark.django_db


def _org(slug: str, people: int = 3):
    tenant = tenant_create(name=slug.title(), slug=slug)
    admin = user_create(tenant=tenant, email=f"admin@{slug}.test", full_name=f"{slug} admin", role="admin")
    moderator = user_create(
        tenant=tenant, email=f"mod@{slug}.test", full_name=f"{slug} mod", role="moderator"
    )
    members = [
        user_create(tenant=tenant, email=f"m{i}@{slug}.test", full_name=f"M {i}") for i in range(people)
    ]
    return tenant, admin, moderator, members


def test_a_tenant_with_users_and_channels_appears_with_teams_and_roles(fake_stream):
    tenant, admin, moderator, members = _org("acme")
    general = channel_create(
        tenant=tenant, name="General", created_by=admin, member_ids=[m.pk for m in members]
    )
    drain()
    state = chat_state(fake_stream)
    assert state == expected_state()
    assert state["users"][admin.chat_user_id]["teams_role"] == {"acme": "admin"}
    assert state["users"][moderator.chat_user_id]["teams_role"] == {"acme": "tenant_moderator"}
    assert state["users"][members[0].chat_user_id]["teams_role"] == {"acme": "user"}
    assert all(u["role"] == "user" and u["teams"] == ["acme"] for u in state["users"].values())
    channel = state["channels"][general.cid]
    assert channel["team"] == "acme"
    assert channel["members"][admin.chat_user_id] == "channel_moderator"  # the creator
    assert channel["members"][members[0].chat_user_id] == "channel_member"
    assert fake_stream.channels[general.cid]["created_by"] == admin.chat_user_id
    assert fake_stream.violations == []


def test_every_change_reaches_the_service(fake_stream):
    acme, admin, moderator, members = _org("acme")
    globex, gadmin, _, gmembers = _org("globex", people=2)
    general = channel_create(
        tenant=acme, name="General", created_by=admin, member_ids=[m.pk for m in members]
    )
    secret = channel_create(tenant=acme, name="Secret", visibility="private", created_by=moderator)
    g_general = channel_create(tenant=globex, name="General", created_by=gadmin, member_ids=[gmembers[0].pk])
    channel_create(tenant=globex, name="Made by staff", created_by=None)
    drain()
    assert chat_state(fake_stream) == expected_state()

    user_update(user=members[0], data={"full_name": "Renamed", "role": "moderator"})
    user_update(user=members[1], data={"is_active": False})
    channel_update(channel=general, data={"name": "Everyone", "description": "All hands"})
    channel_members_add(channel=secret, user_ids=[members[2].pk], role="moderator")
    channel_member_remove(channel=general, user=members[2])
    channel_members_add(channel=general, user_ids=[members[0].pk], role="moderator")
    drain()
    state = chat_state(fake_stream)
    assert state == expected_state()
    assert state["users"][members[1].chat_user_id]["deactivated"] is True

    tenant_suspend(tenant=globex)
    drain()
    assert all(chat_state(fake_stream)["users"][u.chat_user_id]["deactivated"] for u in [gadmin, *gmembers])
    tenant_reactivate(tenant=globex)
    gone_user, gone_channel = members[2].chat_user_id, secret.cid
    user_delete(user=members[2])
    channel_delete(channel=secret)
    drain()
    state = chat_state(fake_stream)
    assert state == expected_state()
    assert gone_user not in state["users"]
    assert gone_channel not in state["channels"]
    assert not any(u["deactivated"] for uid, u in state["users"].items() if uid != members[1].chat_user_id)

    g_general_cid = g_general.cid
    tenant_delete(tenant=globex)
    drain()
    state = chat_state(fake_stream)
    assert state == expected_state()
    assert g_general_cid not in state["channels"]
    assert "system-globex" not in fake_stream.users
    assert not any(u["teams"] == ["globex"] for u in state["users"].values())
    assert fake_stream.violations == []


def test_a_deleted_user_stays_known_to_the_chat_service_as_deleted(fake_stream):
    """A hard delete would let the user's unexpired token bring it back:
    Stream's connectUser creates a user it does not know. A pruned user stays
    there, marked deleted and stripped of its profile, so its tokens stay
    refused; its messages and conversations still go for good."""
    _tenant, _admin, _, members = _org("acme", people=1)
    drain()
    gone = members[0].chat_user_id
    user_delete(user=members[0])
    drain()
    assert fake_stream.deleted_users[gone] == {
        "user": "pruning",
        "messages": "hard",
        "conversations": "hard",
    }


def test_deactivation_revokes_chat_tokens(fake_stream):
    _tenant, _admin, _, members = _org("acme", people=1)
    drain()
    user_update(user=members[0], data={"is_active": False})
    drain()
    assert fake_stream.users[members[0].chat_user_id].get("revoke_tokens_issued_before")


def test_a_direct_conversation_reaches_the_service_unnamed_and_unowned(fake_stream):
    """No name, so chat UIs title it with the other members' names for each
    viewer; ``kind`` says what it is; the team's system user creates it, so
    none of its members owns it."""
    _tenant, _admin, _, members = _org("acme", people=3)
    conversation, _ = channel_direct_start(creator=members[0], user_ids=[members[1].pk, members[2].pk])
    drain()
    state = chat_state(fake_stream)
    assert state == expected_state()
    channel = fake_stream.channels[conversation.cid]
    assert "name" not in channel["data"]
    assert channel["data"]["kind"] == "direct"
    assert channel["data"]["team"] == "acme"
    assert channel["data"]["visibility"] == "private"
    assert channel["created_by"] == "system-acme"
    assert channel["members"] == {m.chat_user_id: "channel_member" for m in members}
    assert fake_stream.violations == []


def test_a_password_change_revokes_the_chat_tokens_issued_before_it(fake_stream):
    _tenant, _admin, _, members = _org("acme", people=2)
    drain()
    user = user_update(user=members[0], data={"password": "a-brand-new-long-passphrase"})
    fake_stream.calls.clear()
    drain()
    cutoff = user.sessions_revoked_at.replace(microsecond=0)
    assert fake_stream.users[user.chat_user_id]["revoke_tokens_issued_before"] == cutoff.isoformat()
    assert "revoke_tokens_issued_before" not in fake_stream.users[members[1].chat_user_id]
    assert fake_stream.calls["PATCH /users"] == 1
    assert not fake_stream.users[user.chat_user_id].get("deactivated_at")
    # Sent once: later saves send nothing more.
    fake_stream.calls.clear()
    user.save()
    drain()
    assert sum(fake_stream.calls.values()) == 0
    assert fake_stream.violations == []


def test_a_deactivation_undone_before_the_worker_runs_still_revokes_chat_tokens(fake_stream):
    _tenant, _admin, _, members = _org("acme", people=1)
    drain()
    user_update(user=members[0], data={"is_active": False})
    user = user_update(user=members[0], data={"is_active": True})
    drain()
    remote = fake_stream.users[user.chat_user_id]
    assert (
        remote["revoke_tokens_issued_before"] == user.sessions_revoked_at.replace(microsecond=0).isoformat()
    )
    assert not remote.get("deactivated_at")


def test_many_changes_to_one_user_coalesce_into_one_call(fake_stream):
    _tenant, _admin, _, members = _org("acme", people=1)
    drain()
    fake_stream.calls.clear()
    for n in range(10):
        user_update(user=members[0], data={"full_name": f"Name {n}"})
    assert OutboxEntry.objects.count() == 1
    drain()
    assert fake_stream.calls["POST /users"] == 1
    assert fake_stream.users[members[0].chat_user_id]["name"] == "Name 9"


def test_users_are_upserted_in_hundreds(fake_stream):
    tenant = tenant_create(name="Big", slug="big")
    for i in range(250):
        user_create(tenant=tenant, email=f"u{i}@big.test", full_name=f"U {i}")
    drain()
    assert fake_stream.calls["POST /users"] == 3
    assert (
        max(
            len(body["users"])
            for method, path, body in fake_stream.requests
            if path == "/users" and method == "POST"
        )
        == 100
    )
    assert len(chat_state(fake_stream)["users"]) == 250


def test_members_are_added_in_hundreds(fake_stream):
    tenant = tenant_create(name="Big", slug="big")
    admin = user_create(tenant=tenant, email="a@big.test", role="admin")
    users = [user_create(tenant=tenant, email=f"u{i}@big.test") for i in range(230)]
    channel = channel_create(tenant=tenant, name="All", created_by=admin, member_ids=[u.pk for u in users])
    drain()
    adds = [body for method, path, body in fake_stream.requests if body and "add_members" in body]
    assert [len(b["add_members"]) for b in adds] == [100, 100, 31]
    assert len(fake_stream.channels[channel.cid]["members"]) == 231


def test_saves_that_change_nothing_send_nothing(fake_stream):
    _tenant, _admin, _, members = _org("acme", people=1)
    drain()
    fake_stream.calls.clear()
    members[0].set_password("another-long-passphrase")
    members[0].save()
    members[0].save()  # a full save with no change
    drain()
    assert sum(fake_stream.calls.values()) == 0


def test_staff_without_tenant_is_not_a_chat_user(fake_stream):
    user_create(tenant=None, email="staff@platform.test", is_staff=True)
    assert not OutboxEntry.objects.exists()


def test_channel_created_by_staff_gets_a_team_system_user_as_creator(fake_stream):
    tenant = tenant_create(name="Acme", slug="acme")
    staff = user_create(tenant=None, email="staff@platform.test", is_staff=True)
    channel = channel_create(tenant=tenant, name="General", created_by=staff)
    drain()
    assert fake_stream.channels[channel.cid]["created_by"] == "system-acme"
    assert fake_stream.users["system-acme"]["teams"] == ["acme"]


def test_membership_waits_for_its_user_and_channel(fake_stream):
    """A membership row processed before its user and channel rows still works."""
    tenant, admin, _, members = _org("acme", people=1)
    channel = channel_create(tenant=tenant, name="General", created_by=admin, member_ids=[members[0].pk])
    OutboxEntry.objects.exclude(entity_type="channel_members").delete()
    drain()
    assert fake_stream.channels[channel.cid]["members"] == {
        admin.chat_user_id: "channel_moderator",
        members[0].chat_user_id: "channel_member",
    }


def test_setup_command_is_idempotent_and_valid(fake_stream, capsys):
    call_command("stream_setup", "--webhook-url", "https://chat.example.com/api/stream/webhook")
    first = capsys.readouterr().out
    assert "multi-tenancy" in first and "tenant_moderator" in first and "webhook" in first
    assert fake_stream.app["multi_tenant_enabled"] is True
    assert "delete-message" in fake_stream.grants["tenant_moderator"]
    assert fake_stream.grants["user"] == []
    assert "create-channel" not in fake_stream.grants["tenant_moderator"]
    for channel_type, grants in fake_stream.type_grants.items():
        assert "create-channel" not in grants["user"], f"a plain user could create {channel_type} channels"
        held = {perm for perms in grants.values() for perm in perms}
        assert not held & {
            "create-channel",
            "delete-channel",
            "update-channel",
            "update-channel-members",
            "remove-own-channel-membership",
            "truncate-channel-owner",
        }, f"a client role could change {channel_type} channels"
        assert grants["admin"] == ["delete-message"], "what is not server-side stays"
        assert grants["channel_member"] == ["read-channel", "create-message"]
    call_command("stream_setup", "--webhook-url", "https://chat.example.com/api/stream/webhook")
    assert "nothing changed" in capsys.readouterr().out
    assert len(fake_stream.app["event_hooks"]) == 1
    assert fake_stream.violations == []


def test_setup_keeps_other_webhooks(fake_stream):
    other = {"enabled": True, "hook_type": "sqs", "sqs_queue_url": "https://sqs.example/q"}
    fake_stream.app["event_hooks"] = [other]
    call_command("stream_setup", "--webhook-url", "https://chat.example.com/api/stream/webhook")
    assert other in fake_stream.app["event_hooks"]
    assert len(fake_stream.app["event_hooks"]) == 2


def test_once_command(fake_stream, capsys):
    _org("acme", people=1)
    call_command("stream_sync", "--once")
    assert "Processed" in capsys.readouterr().out
    assert chat_state(fake_stream) == expected_state()
