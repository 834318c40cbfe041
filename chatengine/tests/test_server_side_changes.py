"""What the control plane owns changes server-side only: no client role, not a
channel moderator, not a team admin, creates a channel, changes its data, its
members or their roles, deletes or truncates it. A member's channel role is a
channel role, never a user-level one such as ``admin``."""

from __future__ import annotations

import pytest

from chatengine.models import Channel, Member, Message
from chatengine.services.app import BUILTIN_CHANNEL_TYPES
from chatengine.tests.factories import (
    StreamClient,
    make_channel,
    make_moderator,
    make_user,
    multi_tenant,
    post,
)

pytestmark = pytest.mark.django_db

PATH = "channels/messaging/acme-general"
SERVER_SIDE_CAPABILITIES = {"update-channel", "update-channel-members", "delete-channel", "leave-channel"}


@pytest.fixture
def world():
    """ann and mod are members of #acme-general (mod its channel moderator),
    boss is acme's team admin and a member, cat of acme is not a member."""
    multi_tenant()
    ann, mod = make_user("ann"), make_user("mod")
    make_user("cat")
    boss = make_user("boss", teams_role={"acme": "admin"})
    general = make_channel("acme-general", ann, mod, boss, name="General")
    make_moderator(general, "mod")
    post(general, ann, "history")
    return {"general": general}


def refused_403(response) -> str:
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == 17 and body["StatusCode"] == 403, body
    return body["message"]


def roles() -> dict[str, str]:
    return dict(
        Member.objects.filter(channel_id="messaging:acme-general").values_list("user_id", "channel_role")
    )


@pytest.mark.parametrize("role", ["admin", "global_admin", "global_moderator", "user", "channel_moderator"])
def test_a_channel_moderator_cannot_assign_roles(world, role):
    before = roles()
    response = StreamClient("mod").call(
        "POST", PATH, {"assign_roles": [{"user_id": "mod", "channel_role": role}]}
    )
    assert "server-side" in refused_403(response)
    assert roles() == before


@pytest.mark.parametrize("role", ["admin", "global_admin", "global_moderator", "user", "guest"])
def test_a_user_level_role_is_no_channel_role_even_server_side(world, role):
    before = roles()
    server = StreamClient()
    for body in (
        {"assign_roles": [{"user_id": "ann", "channel_role": role}]},
        {"add_members": [{"user_id": "cat", "channel_role": role}]},
        {"invites": [{"user_id": "cat", "channel_role": role}]},
    ):
        response = server.call("POST", PATH, body)
        assert response.status_code == 400, response.content
        assert response.json()["code"] == 4 and "channel role" in response.json()["message"]
    created = server.call(
        "POST",
        "channels/messaging/acme-new/query",
        {"data": {"team": "acme", "members": [{"user_id": "ann", "channel_role": role}]}},
    )
    assert created.status_code == 400, created.content
    assert roles() == before
    assert not Channel.objects.filter(cid="messaging:acme-new").exists()


def test_the_server_assigns_channel_roles_and_custom_ones(world):
    server = StreamClient()
    assert server.call("POST", "roles", {"name": "scribe"}).status_code == 201
    response = server.call(
        "POST",
        PATH,
        {
            "assign_roles": [
                {"user_id": "ann", "channel_role": "channel_moderator"},
                {"user_id": "mod", "channel_role": "scribe"},
            ]
        },
    )
    assert response.status_code == 201, response.content
    assert roles() == {"ann": "channel_moderator", "mod": "scribe", "boss": "channel_member"}


def test_a_user_level_channel_role_stored_earlier_confers_nothing(world):
    Member.objects.filter(channel_id="messaging:acme-general", user_id="ann").update(channel_role="admin")
    state = StreamClient("ann").call("POST", f"{PATH}/query", {"state": True}).json()
    capabilities = state["channel"]["own_capabilities"]
    assert "send-message" in capabilities and "delete-any-message" not in capabilities, "a plain member"


CLIENT_CHANGES = [
    ("POST", PATH, {"data": {"team": "acme", "name": "Renamed"}}),
    ("PATCH", PATH, {"set": {"name": "Renamed"}}),
    ("PATCH", PATH, {"unset": ["name"]}),
    ("POST", PATH, {"add_members": ["cat"]}),
    ("POST", PATH, {"invites": ["cat"]}),
    ("POST", PATH, {"remove_members": ["boss"]}),
    ("POST", PATH, {"add_moderators": ["ann"]}),
    ("POST", PATH, {"demote_moderators": ["mod"]}),
    ("POST", PATH, {"assign_roles": [{"user_id": "ann", "channel_role": "channel_member"}]}),
    ("DELETE", PATH, None),
    ("POST", f"{PATH}/truncate", {}),
]


@pytest.mark.parametrize("caller", ["mod", "boss", "ann"])
@pytest.mark.parametrize(("method", "path", "body"), CLIENT_CHANGES)
def test_no_client_changes_what_the_control_plane_owns(world, caller, method, path, body):
    message = refused_403(StreamClient(caller).call(method, path, body))
    assert "server-side" in message
    channel = Channel.objects.get(cid="messaging:acme-general")
    assert channel.custom.get("name") == "General"
    assert roles() == {"ann": "channel_member", "mod": "channel_moderator", "boss": "channel_member"}
    assert Message.objects.filter(channel=channel).count() == 1


@pytest.mark.parametrize("caller", ["ann", "mod", "boss"])
def test_a_member_leaves_through_the_control_plane_only(world, caller):
    assert "server-side" in refused_403(StreamClient(caller).call("POST", PATH, {"remove_members": [caller]}))
    assert caller in roles()


def test_the_capabilities_offer_nothing_server_side(world):
    for caller in ("ann", "mod", "boss"):
        state = StreamClient(caller).call("POST", f"{PATH}/query", {"state": True}).json()
        capabilities = set(state["channel"]["own_capabilities"])
        assert not capabilities & SERVER_SIDE_CAPABILITIES, caller
        assert "send-message" in capabilities
    boss = StreamClient("boss").call("POST", f"{PATH}/query", {"state": True}).json()
    assert {"delete-any-message", "pin-message", "ban-channel-members"} <= set(
        boss["channel"]["own_capabilities"]
    ), "a team admin still moderates"


def test_the_client_sdk_calls_of_the_web_client_still_work(world):
    """What the web client does through the chat SDK: list and watch its
    channels, post, react, mark read, pin or archive for itself."""
    ann = StreamClient("ann")
    assert ann.query_channels({"type": "messaging", "members": {"$in": ["ann"]}, "team": "acme"}) == [
        "messaging:acme-general"
    ]
    sent = ann.call("POST", f"{PATH}/message", {"message": {"text": "hi"}})
    assert sent.status_code == 201, sent.content
    message_id = sent.json()["message"]["id"]
    assert (
        ann.call("POST", f"messages/{message_id}/reaction", {"reaction": {"type": "like"}}).status_code == 201
    )
    assert ann.call("POST", f"{PATH}/read", {}).status_code == 201
    assert ann.call("PATCH", f"{PATH}/member", {"set": {"pinned": True}}).status_code == 200
    assert ann.call("POST", f"{PATH}/hide", {}).status_code == 201


@pytest.mark.parametrize("channel_type", BUILTIN_CHANNEL_TYPES)
@pytest.mark.parametrize("caller", ["boss", "mod", "ann"])
def test_no_client_role_creates_a_channel(world, caller, channel_type):
    for path, data in (
        (f"channels/{channel_type}/acme-new/query", {"team": "acme", "members": [caller]}),
        (f"channels/{channel_type}/query", {"team": "acme", "members": [caller, "ann"]}),
    ):
        message = refused_403(StreamClient(caller).call("POST", path, {"data": data}))
        assert f"create channels of type {channel_type}" in message and "server-side" in message
    assert Channel.objects.count() == 1


def test_grants_cannot_give_a_client_role_a_server_side_permission(world):
    server = StreamClient()
    for role, permission in (
        ("channel_moderator", "update-channel-members"),
        ("admin", "delete-channel"),
        ("user", "create-channel"),
        ("channel_member", "remove-own-channel-membership"),
    ):
        response = server.call(
            "PUT", "channeltypes/messaging", {"grants": {role: ["read-channel", permission]}}
        )
        assert response.status_code == 400, response.content
        assert permission in response.json()["message"]
    grants = server.call("GET", "channeltypes/messaging").json()["grants"]
    assert not any(
        set(perms) & {"create-channel", "update-channel", "update-channel-members", "delete-channel"}
        for perms in grants.values()
    )
