"""stream_reconcile finds drift between the database and the chat service and repairs it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.services import user_create
from channels_app.services import channel_create, channel_direct_start
from streamsync.tests.conftest import chat_state, drain, expected_state
from tenants.services import tenant_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(fake_stream):
    acme = tenant_create(name="Acme", slug="acme")
    admin = user_create(tenant=acme, email="admin@acme.test", full_name="Ada", role="admin")
    users = [user_create(tenant=acme, email=f"u{i}@acme.test", full_name=f"U {i}") for i in range(3)]
    channel = channel_create(tenant=acme, name="General", created_by=admin, member_ids=[u.pk for u in users])
    globex = tenant_create(name="Globex", slug="globex")
    user_create(tenant=globex, email="g@globex.test", role="admin")
    drain()
    assert chat_state(fake_stream) == expected_state()
    return {"admin": admin, "users": users, "channel": channel}


def _run(*args: str, capsys) -> str:
    call_command("stream_reconcile", *args)
    return capsys.readouterr().out


def test_in_sync_reports_nothing(synced, capsys):
    out = _run(capsys=capsys)
    assert "acme: 4 users, 1 channels: in sync" in out
    assert "globex: 1 users, 0 channels: in sync" in out
    assert "0 differences" in out


def test_drift_is_reported_and_repaired(synced, fake_stream, capsys):
    users, channel = synced["users"], synced["channel"]
    # Drift on the chat side: a user vanished, one was renamed, a stranger joined the
    # team, a member left the channel, a channel appeared from nowhere.
    del fake_stream.users[users[0].chat_user_id]
    fake_stream.users[users[1].chat_user_id]["name"] = "Someone else"
    stranger = "6f1c3a6e-0000-4000-8000-000000000001"
    fake_stream.users[stranger] = {
        "name": "Stranger",
        "role": "user",
        "teams": ["acme"],
        "teams_role": {"acme": "user"},
    }
    del fake_stream.channels[channel.cid]["members"][users[2].chat_user_id]
    ghost = "messaging:" + "ab" * 16
    fake_stream.channels[ghost] = {
        "data": {"team": "acme", "name": "Ghost"},
        "members": {},
        "created_at": "2026-01-01T00:00:00Z",
        "created_by": None,
    }

    out = _run("--tenant", "acme", capsys=capsys)
    assert f"user {users[0].chat_user_id}: missing" in out
    assert f"user {users[1].chat_user_id}: different (name is 'Someone else'" in out
    assert f"user {stranger}: extra" in out
    assert f"channel_members {channel.chat_id}: different (missing ['{users[2].chat_user_id}']" in out
    assert f"channel {'ab' * 16}: extra" in out
    assert "5 differences" in out
    assert chat_state(fake_stream) != expected_state()

    out = _run("--tenant", "acme", "--fix", capsys=capsys)
    assert "queued 5 repairs" in out
    drain()
    assert chat_state(fake_stream) == expected_state()
    assert ghost not in fake_stream.channels
    assert "in sync" in _run("--tenant", "acme", capsys=capsys)
    assert fake_stream.violations == []


def test_members_past_those_a_channel_carries_are_read_page_by_page(synced, fake_stream, capsys):
    fake_stream.member_embed_limit = 2  # General has 4 members: the other 2 come from query_members
    out = _run("--tenant", "acme", capsys=capsys)
    assert "acme: 4 users, 1 channels: in sync" in out


def test_unknown_tenant_is_an_error(synced):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No tenant"):
        call_command("stream_reconcile", "--tenant", "nope")


def test_unreachable_service_is_a_clear_error(synced, fake_stream, settings):
    from django.core.management.base import CommandError

    from chatplatform.tests.servers import free_port

    settings.STREAM_BASE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(CommandError, match="chat service failed"):
        call_command("stream_reconcile")


def test_a_name_on_a_direct_conversation_is_drift_and_is_unset(synced, fake_stream, capsys):
    users = synced["users"]
    conversation, _ = channel_direct_start(creator=users[0], user_ids=[users[1].pk])
    drain()
    assert "in sync" in _run("--tenant", "acme", capsys=capsys)
    # Someone named it on the chat side: every member would see that name instead of the others'.
    fake_stream.channels[conversation.cid]["data"]["name"] = "Named by hand"

    out = _run("--tenant", "acme", capsys=capsys)
    assert f"channel {conversation.chat_id}: different (name is 'Named by hand', expected none)" in out
    _run("--tenant", "acme", "--fix", capsys=capsys)
    drain()
    assert "name" not in fake_stream.channels[conversation.cid]["data"]
    assert chat_state(fake_stream) == expected_state()
    assert "in sync" in _run("--tenant", "acme", capsys=capsys)
    assert fake_stream.violations == []
