"""A member's own settings: pin and archive a channel for oneself, custom
member data, through ``PATCH …/member`` and the SDKs' older
``PATCH …/member/{user_id}``; and how queryChannels lists what a user pinned
or archived, as the UI kit's ChannelList asks for it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chatengine.models import Member
from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant, post
from chatengine.tests.spec_check import violations

pytestmark = pytest.mark.django_db

MEMBER_RESPONSE = "#/components/schemas/UpdateMemberPartialResponse"


@pytest.fixture
def world():
    multi_tenant()
    ann, bob = make_user("ann"), make_user("bob")
    zed = make_user("zed", team="globex")
    general = make_channel("acme-general", ann, bob)
    random = make_channel("acme-random", ann, bob)
    quiet = make_channel("acme-quiet", ann)
    make_channel("globex-room", zed, team="globex")
    for channel, text in ((general, "older"), (random, "newer")):
        post(channel, bob, text)
    return {"ann": ann, "bob": bob, "zed": zed, "general": general, "random": random, "quiet": quiet}


def patch(caller: str | None, path: str, body: object, **params: str):
    """``PATCH`` as the user ``caller`` (None: server-side auth)."""
    return StreamClient(caller).call("PATCH", path, body, **params)


def member_of(caller: str | None, path: str, body: object, **params: str) -> dict:
    response = patch(caller, path, body, **params)
    assert response.status_code == 200, response.content
    assert violations(MEMBER_RESPONSE, response.json()) == []
    return response.json()["channel_member"]


def test_a_member_pins_and_archives_a_channel_for_itself(world):
    path = "channels/messaging/acme-general/member/ann"
    pinned = member_of("ann", path, {"set": {"pinned": True}})
    assert pinned["user_id"] == "ann" and pinned["pinned_at"].endswith("Z")
    again = member_of("ann", path, {"set": {"pinned": True}})
    assert again["pinned_at"] == pinned["pinned_at"], "pinning twice keeps the first pinned_at"

    archived = member_of("ann", path, {"set": {"archived": True}})
    assert archived["archived_at"] and archived["pinned_at"] == pinned["pinned_at"]
    state = StreamClient("ann").call("POST", "channels/messaging/acme-general/query", {"state": True}).json()
    assert state["membership"]["pinned_at"] == pinned["pinned_at"]
    assert state["membership"]["archived_at"] == archived["archived_at"]
    bobs = StreamClient("bob").call("POST", "channels/messaging/acme-general/query", {"state": True}).json()
    assert "pinned_at" not in bobs["membership"], "a pin is its member's own"

    cleared = member_of("ann", path, {"set": {"pinned": False}, "unset": ["archived"]})
    assert "pinned_at" not in cleared and "archived_at" not in cleared


def test_both_paths_share_one_mechanism(world):
    """``…/member`` names the member by the token (or, server side, by user_id)."""
    own = member_of("ann", "channels/messaging/acme-general/member", {"set": {"pinned": True}})
    assert own["user_id"] == "ann" and own["pinned_at"]
    by_server = member_of(
        None, "channels/messaging/acme-general/member", {"set": {"archived": True}}, user_id="bob"
    )
    assert by_server["user_id"] == "bob" and by_server["archived_at"]
    by_path = member_of(None, "channels/messaging/acme-general/member/bob", {"unset": ["archived"]})
    assert "archived_at" not in by_path


def test_custom_member_data_is_set_and_unset(world):
    path = "channels/messaging/acme-general/member/ann"
    member = member_of("ann", path, {"set": {"nickname": "A", "colour": {"hue": 200}}})
    assert (member["nickname"], member["colour"]) == ("A", {"hue": 200})
    member = member_of("ann", path, {"unset": ["nickname"]})
    assert "nickname" not in member and member["colour"] == {"hue": 200}
    muted = member_of("ann", path, {"set": {"notifications_muted": True}})
    assert muted["notifications_muted"] is True
    members = StreamClient("bob").call(
        "GET", "members", payload='{"type": "messaging", "id": "acme-general", "filter_conditions": {}}'
    )
    shown = {m["user_id"]: m for m in members.json()["members"]}
    assert shown["ann"]["colour"] == {"hue": 200}


def test_a_client_changes_only_its_own_membership(world):
    response = patch("bob", "channels/messaging/acme-general/member/ann", {"set": {"pinned": True}})
    assert (response.status_code, response.json()["code"]) == (403, 17)
    assert Member.objects.get(channel=world["general"], user=world["ann"]).pinned_at is None
    server = member_of(None, "channels/messaging/acme-general/member/ann", {"set": {"pinned": True}})
    assert server["pinned_at"], "server-side auth reaches any member"


def test_another_teams_channel_answers_like_a_missing_one(world):
    foreign = patch("ann", "channels/messaging/globex-room/member/ann", {"set": {"pinned": True}})
    StreamClient().call("DELETE", "channels/messaging/globex-room")
    missing = patch("ann", "channels/messaging/globex-room/member/ann", {"set": {"pinned": True}})
    assert foreign.status_code == missing.status_code == 404
    body, missing_body = foreign.json(), missing.json()
    body.pop("duration"), missing_body.pop("duration")
    assert body == missing_body and body["code"] == 16
    other_user = patch("ann", "channels/messaging/nope/member/zed", {"set": {"pinned": True}})
    assert (other_user.status_code, other_user.json()["code"]) == (404, 16)


def test_a_non_member_has_no_membership_to_change(world):
    response = patch("bob", "channels/messaging/acme-quiet/member/bob", {"set": {"pinned": True}})
    assert (response.status_code, response.json()["code"]) == (404, 16)
    server = patch(None, "channels/messaging/acme-quiet/member/nobody", {"set": {"pinned": True}})
    assert (server.status_code, server.json()["code"]) == (404, 16)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"set": []}, "set must be an object"),
        ({"unset": "pinned"}, "unset a list"),
        ({"unset": [3]}, "list of field names"),
        ({"set": {"pinned": "yes"}}, "set.pinned must be true or false"),
        ({"set": {"archived": 1}}, "set.archived must be true or false"),
        ({"set": {"notifications_muted": None}}, "true or false"),
        ({"set": {"channel_role": "channel_moderator"}}, "channel_role cannot be changed"),
        ({"unset": ["banned"]}, "banned cannot be changed"),
    ],
)
def test_bad_member_updates_are_input_errors(world, body, fragment):
    response = patch("ann", "channels/messaging/acme-general/member/ann", body)
    assert (response.status_code, response.json()["code"]) == (400, 4)
    assert fragment in response.json()["message"]
    assert Member.objects.get(channel=world["general"], user=world["ann"]).channel_role == "channel_member"


def test_the_channel_list_shows_pinned_first_and_leaves_archived_out(world):
    """What the kit's ChannelList sends: ``archived: false`` in the filter and
    ``[{pinned_at: -1}, {last_message_at: -1}]`` as the sort."""
    member_of("ann", "channels/messaging/acme-quiet/member/ann", {"set": {"pinned": True}})
    member_of("ann", "channels/messaging/acme-random/member/ann", {"set": {"archived": True}})
    ann = StreamClient("ann")
    sort = [{"field": "pinned_at", "direction": -1}, {"field": "last_message_at", "direction": -1}]
    listed = ann.query_channels({"members": {"$in": ["ann"]}, "archived": False}, sort=sort)
    assert listed == ["messaging:acme-quiet", "messaging:acme-general"]
    assert ann.query_channels({"archived": True}, sort=sort) == ["messaging:acme-random"]
    assert ann.query_channels({"pinned": True}) == ["messaging:acme-quiet"]
    by_activity = ann.query_channels({}, sort=[{"field": "last_message_at", "direction": -1}])
    assert by_activity[0] == "messaging:acme-random"
    # Bob pinned nothing: his list is by activity alone.
    assert StreamClient("bob").query_channels({}, sort=sort) == [
        "messaging:acme-random",
        "messaging:acme-general",
    ]


def test_a_member_update_takes_a_fixed_number_of_queries(world):
    path = "channels/messaging/acme-general/member/ann"
    patch("ann", path, {"set": {"pinned": True}})  # warm the app and channel type caches
    with CaptureQueriesContext(connection) as queries:
        assert patch("ann", path, {"set": {"archived": True, "nickname": "A"}}).status_code == 200
    statements = [
        q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    # The caller, the channel, the membership; the membership locked, saved (the
    # app's settings come from the cache).
    assert len(statements) == 5, statements
