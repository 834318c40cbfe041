"""The team wall on the engine's side (invariant 5): a deleted user's tokens
stay refused, a client never creates a user, and no channel holds members of
two teams or teamless members while multi-tenancy is on, whoever adds them."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chatengine.consumers import ChatConsumer
from chatengine.models import Channel, ChatUser, Member
from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant, token, two_teams

pytestmark = pytest.mark.django_db

STREAM_ERROR_KEYS = {"code", "message", "StatusCode", "duration", "more_info", "details"}


def delete(user_id: str, mode: str) -> None:
    body: dict = {"user_ids": [user_id], "user": mode}
    if mode == "hard":
        body.update(messages="hard", conversations="hard")
    response = StreamClient().call("POST", "users/delete", body)
    assert response.status_code == 201, response.content


def refused(response, code: int, status: int) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == STREAM_ERROR_KEYS and body["code"] == code, body
    return body["message"]


async def _connect(user_id: str, details: dict) -> dict:
    query = {
        "json": json.dumps({"user_id": user_id, "user_details": {"id": user_id, **details}}),
        "api_key": settings.STREAM_API_KEY,
        "authorization": token(user_id),
        "stream-auth-type": "jwt",
    }
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/chat-api/connect?" + urlencode(query))
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    return first


def connect(user_id: str, **details) -> dict:
    return async_to_sync(_connect)(user_id, details)


# ---------------------------------------------------------------------------
# Deleted users
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["hard", "soft", "pruning"])
@pytest.mark.parametrize("multi_tenancy", [True, False])
def test_a_deleted_users_token_stays_refused(mode, multi_tenancy):
    if multi_tenancy:
        multi_tenant()
    make_user("ann")
    ann = StreamClient("ann")  # signed before the delete, still unexpired
    assert ann.call("POST", "channels", {}).status_code == 201
    delete("ann", mode)

    message = refused(ann.call("POST", "channels", {}), code=5, status=401)
    assert "ann" in message and "deleted" in message
    assert "deleted" in refused(StreamClient("ann").call("GET", "users/block"), code=5, status=401)
    if mode == "hard":
        assert not ChatUser.objects.filter(id="ann").exists(), "a refused token re-creates nobody"
    else:
        assert ChatUser.objects.get(id="ann").deleted_at is not None


@pytest.mark.parametrize("mode", ["hard", "soft"])
@pytest.mark.django_db(transaction=True)
def test_a_deleted_user_cannot_open_a_connection(mode):
    make_user("ann")
    delete("ann", mode)
    first = connect("ann", name="Ann again")
    assert first["type"] == "connection.error"
    assert first["error"]["code"] == 5 and "deleted" in first["error"]["message"]
    assert not ChatUser.objects.filter(id="ann", deleted_at__isnull=True).exists()


def test_a_hard_deleted_id_created_again_server_side_refuses_the_old_tokens():
    multi_tenant()
    make_user("ann")
    old = StreamClient("ann", iat=1_700_000_000)
    delete("ann", "hard")
    make_user("ann")  # Stream lets the server reuse the id of a hard-deleted user
    assert refused(old.call("POST", "channels", {}), code=40, status=401)
    fresh = StreamClient(
        "ann", iat=int(ChatUser.objects.get(id="ann").revoke_tokens_issued_before.timestamp()) + 1
    )
    assert fresh.call("POST", "channels", {}).status_code == 201


def test_a_soft_deleted_user_stays_refused_after_a_reactivation():
    make_user("ann")
    delete("ann", "soft")
    StreamClient().call("POST", "users/reactivate", {"user_ids": ["ann"]})
    refused(StreamClient("ann").call("POST", "channels", {}), code=5, status=401)


def test_pruning_forgets_the_profile():
    make_user("ann", name="Ann", image="https://img.example/ann.png", nickname="annie")
    delete("ann", "pruning")
    ann = ChatUser.objects.get(id="ann")
    assert (ann.name, ann.image, ann.custom) == ("", "", {})


# ---------------------------------------------------------------------------
# Clients never create users
# ---------------------------------------------------------------------------
def test_a_client_call_of_an_unknown_user_creates_nobody_with_multi_tenancy_on():
    multi_tenant()
    message = refused(StreamClient("mallory").call("POST", "channels", {}), code=5, status=401)
    assert "mallory" in message and "server" in message
    assert not ChatUser.objects.filter(id="mallory").exists()


@pytest.mark.django_db(transaction=True)
def test_a_connection_of_an_unknown_user_creates_nobody_with_multi_tenancy_on():
    multi_tenant()
    first = connect("mallory", name="Mallory", teams=["globex"], role="admin")
    assert first["type"] == "connection.error" and first["error"]["code"] == 5
    assert not ChatUser.objects.filter(id="mallory").exists()


@pytest.mark.django_db(transaction=True)
def test_user_details_never_give_teams_or_a_role():
    first = connect("ann", name="Ann", teams=["globex"], role="admin", teams_role={"globex": "admin"})
    assert first["type"] == "health.check", first
    ann = ChatUser.objects.get(id="ann")
    assert (ann.role, ann.teams, ann.teams_role) == ("user", [], {})


def test_a_teamless_user_reaches_no_other_teams_user():
    """The attack: a user without teams (the server made it so) builds a
    channel with a member of another team. Every way in is closed."""
    world = two_teams()
    make_user("loner", team=None)
    loner = StreamClient("loner")
    refused(
        loner.call("POST", "channels/messaging/open-room/query", {"data": {"members": ["loner", "zed"]}}),
        code=17,
        status=403,
    )
    refused(
        loner.call("POST", "channels/messaging/query", {"data": {"members": ["loner", "zed"]}}),
        code=17,
        status=403,
    )
    assert not Channel.objects.exclude(
        cid__in=[world.general.cid, world.private.cid, world.globex.cid]
    ).exists()


# ---------------------------------------------------------------------------
# No channel holds members of two teams or teamless members
# ---------------------------------------------------------------------------
def server_create(channel_id: str, data: dict):
    return StreamClient().call("POST", f"channels/messaging/{channel_id}/query", {"data": data})


def test_the_server_cannot_create_a_channel_across_teams():
    two_teams()
    for data in (
        {"team": "acme", "members": ["ann", "zed"]},
        {"members": ["ann", "zed"]},
        {"members": ["ann", "bob"]},
    ):
        message = refused(server_create("mixed", data), code=4, status=400)
        assert "team" in message
    distinct = StreamClient().call("POST", "channels/messaging/query", {"data": {"members": ["ann", "zed"]}})
    refused(distinct, code=4, status=400)
    assert not Channel.objects.filter(cid__startswith="messaging:mixed").exists()
    assert not Channel.objects.filter(channel_id__startswith="!members-").exists()


def test_teamless_users_are_no_members_with_multi_tenancy_on():
    world = two_teams()
    make_user("loner", team=None)
    path = f"channels/messaging/{world.general.channel_id}"
    for operation in ("add_members", "invites"):
        response = StreamClient().call("POST", path, {operation: ["loner"]})
        assert "loner" in refused(response, code=4, status=400)
    response = StreamClient().call("POST", path, {"invites": ["zed"]})
    assert "zed" in refused(response, code=4, status=400)
    refused(server_create("no-team", {"members": ["loner"]}), code=4, status=400)
    assert not Member.objects.filter(user_id__in=["loner", "zed"]).exclude(channel=world.globex).exists()


def test_a_channel_without_a_team_takes_no_members_with_multi_tenancy_on():
    two_teams()
    created = server_create("lobby", {})
    assert created.status_code == 201, created.content
    added = StreamClient().call("POST", "channels/messaging/lobby", {"add_members": ["ann"]})
    assert "no team" in refused(added, code=4, status=400)


def test_the_team_of_a_channel_with_members_does_not_change_under_them():
    world = two_teams()
    path = f"channels/messaging/{world.general.channel_id}"
    moved = StreamClient().call("POST", path, {"data": {"team": "globex", "name": "General"}})
    assert "ann" in refused(moved, code=4, status=400)
    for body in ({"set": {"team": "globex"}}, {"unset": ["team"]}):
        refused(StreamClient().call("PATCH", path, body), code=4, status=400)
    world.general.refresh_from_db()
    assert world.general.team == "acme"


def test_a_member_keeps_the_team_of_its_channels():
    world = two_teams()
    moved = StreamClient().call("POST", "users", {"users": {"ann": {"id": "ann", "teams": ["globex"]}}})
    assert world.general.cid in refused(moved, code=4, status=400)
    partial = StreamClient().call("PATCH", "users", {"users": [{"id": "bob", "unset": ["teams"]}]})
    refused(partial, code=4, status=400)
    assert ChatUser.objects.get(id="ann").teams == ["acme"]
    assert ChatUser.objects.get(id="bob").teams == ["acme"]


def test_without_multi_tenancy_channels_take_anyone():
    ann, zed = make_user("ann"), make_user("zed", team="globex")
    channel = make_channel("open", ann, zed)
    assert channel.member_count == 2
