"""Bans: a banned user reads but does not write, in a channel or everywhere,
until the ban ends or is lifted; who may ban whom."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from chatengine.models import Ban, ChatUser, Member
from chatengine.tests.factories import StreamClient, make_channel, make_moderator, make_user, multi_tenant

pytestmark = pytest.mark.django_db

ROOM = "messaging:acme-room"


@pytest.fixture
def room():
    multi_tenant()
    ann, bob, mod = make_user("ann"), make_user("bob"), make_user("mod")
    make_user("zed", team="globex")
    channel = make_channel("acme-room", ann, bob, mod)
    make_channel("acme-other", ann, bob)
    make_moderator(channel, "mod")
    return channel


def send(user_id: str, channel_id: str = "acme-room"):
    return StreamClient(user_id).call(
        "POST", f"channels/messaging/{channel_id}/message", {"message": {"text": "hello"}}
    )


def capabilities(user_id: str) -> list[str]:
    state = StreamClient(user_id).call("POST", "channels/messaging/acme-room/query", {"state": True})
    assert state.status_code == 201, state.content
    return state.json()["channel"]["own_capabilities"]


def ban(user_id: str | None, **body):
    return StreamClient(user_id).call("POST", "moderation/ban", body)


def unban(user_id: str | None, **params):
    return StreamClient(user_id).call("DELETE", "moderation/ban", **params)


def test_a_channel_moderator_bans_a_member_who_then_only_reads(room):
    response = ban("mod", target_user_id="bob", type="messaging", id="acme-room", reason="spam", timeout=60)
    assert response.status_code == 201, response.content
    assert Member.objects.get(channel=room, user_id="bob").banned is True

    refused = send("bob")
    assert (refused.status_code, refused.json()["code"]) == (403, 17)
    assert "banned" in refused.json()["message"]
    assert "send-message" not in capabilities("bob") and "read-events" in capabilities("bob")
    assert send("bob", "acme-other").status_code == 201, "a channel ban stays in its channel"

    assert unban("mod", target_user_id="bob", channel_cid=ROOM).status_code == 200
    assert send("bob").status_code == 201
    assert Member.objects.get(channel=room, user_id="bob").banned is False


def test_a_ban_ends_by_itself(room):
    ban(None, target_user_id="bob", channel_cid=ROOM, timeout=5)
    assert send("bob").status_code == 403
    Ban.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert send("bob").status_code == 201


def test_a_ban_everywhere_still_lets_the_user_read_and_ends_by_itself(room):
    ban(None, target_user_id="bob", timeout=5)
    assert send("bob").status_code == 403
    assert "read-events" in capabilities("bob"), "a banned user connects and reads"
    Ban.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert send("bob").status_code == 201


def test_banned_is_not_a_field_clients_or_upserts_set(room):
    response = StreamClient().call(
        "POST", "users", {"users": {"bob": {"id": "bob", "teams": ["acme"], "banned": True}}}
    )
    assert response.status_code == 201
    assert ChatUser.objects.get(id="bob").banned is False
    assert send("bob").status_code == 201


def test_the_server_bans_everywhere(room):
    assert ban(None, target_user_id="bob", banned_by_id="mod", reason="abuse").status_code == 201
    assert ChatUser.objects.get(id="bob").banned is True
    assert send("bob").status_code == 403 and send("bob", "acme-other").status_code == 403
    listed = StreamClient().call("GET", "query_banned_users", payload=json.dumps({"filter_conditions": {}}))
    (entry,) = listed.json()["bans"]
    assert (entry["user"]["id"], entry["banned_by"]["id"], entry["reason"]) == ("bob", "mod", "abuse")
    assert "channel" not in entry
    assert unban(None, target_user_id="bob").status_code == 200
    assert send("bob").status_code == 201


def test_who_may_ban(room):
    member = ban("ann", target_user_id="bob", channel_cid=ROOM)
    assert (member.status_code, member.json()["code"]) == (403, 17), "members do not ban"
    everywhere = ban("mod", target_user_id="bob")
    assert everywhere.status_code == 403 and "server-side" in everywhere.json()["message"]
    other_team = ban("mod", target_user_id="zed", channel_cid=ROOM)
    assert (other_team.status_code, other_team.json()["code"]) == (404, 16)
    self_ban = ban("mod", target_user_id="mod", channel_cid=ROOM)
    assert self_ban.status_code == 400
    assert not Ban.objects.exists()


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({}, "target_user_id is required"),
        ({"target_user_id": "bob", "shadow": True}, "shadow bans are not supported"),
        ({"target_user_id": "bob", "reason": 5}, "reason must be text"),
        ({"target_user_id": "bob", "timeout": -1}, "timeout (minutes)"),
        ({"target_user_id": "bob", "channel_cid": 5}, "channel_cid must be"),
    ],
)
def test_bad_bans_are_input_errors(room, body, fragment):
    response = ban(None, **body)
    assert (response.status_code, response.json()["code"]) == (400, 4)
    assert fragment in response.json()["message"]


def test_lifting_a_ban_that_is_not_there_is_a_missing_ban(room):
    response = unban(None, target_user_id="bob", channel_cid=ROOM)
    assert (response.status_code, response.json()["code"]) == (404, 16)


def test_banned_users_are_listed_by_channel(room):
    ban("mod", target_user_id="bob", channel_cid=ROOM)
    ban(None, target_user_id="ann", channel_cid="messaging:acme-other")
    payload = json.dumps({"filter_conditions": {"channel_cid": ROOM}})
    listed = StreamClient().call("GET", "query_banned_users", payload=payload).json()["bans"]
    assert [(b["user"]["id"], b["channel"]["cid"], b["banned_by"]["id"]) for b in listed] == [
        ("bob", ROOM, "mod")
    ]
    client = StreamClient("mod").call("GET", "query_banned_users", payload=payload)
    assert client.status_code == 403
