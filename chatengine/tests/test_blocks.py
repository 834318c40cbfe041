"""Blocking users: who may block whom, the list of blocks, and what a block
does to the conversations of the two (hidden for the blocker, the blocked
user's messages neither unread nor announced to it there) while group
channels go on as before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chatengine.models import Member
from chatengine.services.mutes import own_user
from chatengine.tests.factories import (
    StreamClient,
    make_channel,
    make_moderator,
    make_user,
    post,
    two_teams_people,
)
from chatengine.tests.spec_check import violations

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    ann, bob, cat, zed = two_teams_people()
    return {
        "ann": ann,
        "bob": bob,
        "cat": cat,
        "zed": zed,
        "dm": make_channel("acme-dm", ann, bob),
        "team": make_channel("acme-team", ann, bob, cat),
    }


def block(caller: str | None, blocked_user_id: object, **body: object):
    return StreamClient(caller).call("POST", "users/block", {"blocked_user_id": blocked_user_id, **body})


def blocked_ids(caller: str | None, **params: str) -> list[str]:
    response = StreamClient(caller).call("GET", "users/block", **params)
    assert response.status_code == 200, response.content
    assert violations("#/components/schemas/GetBlockedUsersResponse", response.json()) == []
    return [entry["blocked_user_id"] for entry in response.json()["blocks"]]


def unread(channel, user) -> int:
    return Member.objects.get(channel=channel, user=user).unread_messages


def test_a_user_blocks_and_unblocks_another_of_its_team(world):
    response = block("ann", "bob")
    assert response.status_code == 201, response.content
    body = response.json()
    assert violations("#/components/schemas/BlockUsersResponse", body) == []
    assert (body["blocked_by_user_id"], body["blocked_user_id"]) == ("ann", "bob")
    again = block("ann", "bob").json()
    assert again["created_at"] == body["created_at"], "blocking again changes nothing"
    assert block("ann", "cat").status_code == 201
    assert blocked_ids("ann") == ["bob", "cat"]
    assert blocked_ids("bob") == [], "a block is the blocker's own"
    assert own_user(world["ann"])["blocked_user_ids"] == ["bob", "cat"], "what the handshake's me carries"

    unblocked = StreamClient("ann").call("POST", "users/unblock", {"blocked_user_id": "bob"})
    assert unblocked.status_code == 201
    assert violations("#/components/schemas/UnblockUsersResponse", unblocked.json()) == []
    assert StreamClient("ann").call("POST", "users/unblock", {"blocked_user_id": "bob"}).status_code == 201
    assert blocked_ids("ann") == ["cat"]


def test_blocking_oneself_is_an_input_error(world):
    response = block("ann", "ann")
    assert (response.status_code, response.json()["code"]) == (400, 4)
    assert "itself" in response.json()["message"]


def test_a_user_of_another_team_answers_like_an_unknown_one(world):
    foreign = block("ann", "zed")
    StreamClient().call("POST", "users/delete", {"user_ids": ["zed"], "user": "hard"})
    unknown = block("ann", "zed")
    assert foreign.status_code == unknown.status_code == 404
    foreign_body, unknown_body = foreign.json(), unknown.json()
    foreign_body.pop("duration"), unknown_body.pop("duration")
    assert foreign_body == unknown_body and foreign_body["code"] == 16
    assert blocked_ids("ann") == []


@pytest.mark.parametrize("blocked_user_id", [None, "", 5, ["bob"], {"id": "bob"}])
def test_bad_block_requests_are_input_errors(world, blocked_user_id):
    for path in ("users/block", "users/unblock"):
        response = StreamClient("ann").call("POST", path, {"blocked_user_id": blocked_user_id})
        assert (response.status_code, response.json()["code"]) == (400, 4), path
        assert "blocked_user_id" in response.json()["message"]


def test_the_server_blocks_on_a_users_behalf_within_its_teams(world):
    nobody = block(None, "bob")
    assert (nobody.status_code, nobody.json()["code"]) == (400, 4), "a server call names the blocker"
    assert block(None, "bob", user_id="ann").status_code == 201
    assert blocked_ids(None, user_id="ann") == ["bob"]
    foreign = block(None, "zed", user_id="ann")
    assert (foreign.status_code, foreign.json()["code"]) == (404, 16), "judged as the blocker sees users"
    assert StreamClient(None).call("GET", "users/block").status_code == 400


def test_a_block_hides_the_conversation_and_silences_the_blocked_user_there(world):
    dm, team, ann, bob = world["dm"], world["team"], world["ann"], world["bob"]
    block("ann", "bob")
    as_ann = StreamClient("ann")
    assert as_ann.query_channels({}) == [team.cid], "the conversation leaves the blocker's list"
    assert as_ann.query_channels({"hidden": True}) == [dm.cid]
    assert as_ann.query_channels({"hidden": True, "blocked": True}) == [dm.cid]
    assert as_ann.query_channels({"blocked": False}) == [team.cid]
    state = as_ann.call("POST", "channels/messaging/acme-dm/query", {"state": True}).json()
    assert (state["channel"]["blocked"], state["hidden"]) == (True, True)
    team_state = as_ann.call("POST", "channels/messaging/acme-team/query", {"state": True}).json()
    assert team_state["channel"]["blocked"] is False, "group channels are not touched"

    post(dm, bob, "are you there?")
    post(team, bob, "hello all")
    assert (unread(dm, ann), unread(team, ann)) == (0, 1)
    assert as_ann.query_channels({}) == [team.cid], "the blocked user's message does not bring it back"
    bobs = StreamClient("bob").call("POST", "channels/messaging/acme-dm/query", {"state": True}).json()
    assert bobs["channel"]["blocked"] is False and bobs["hidden"] is False, "nothing changes for bob"

    StreamClient("ann").call("POST", "users/unblock", {"blocked_user_id": "bob"})
    assert sorted(as_ann.query_channels({})) == sorted([dm.cid, team.cid])
    state = as_ann.call("POST", "channels/messaging/acme-dm/query", {"state": True}).json()
    assert [m["text"] for m in state["messages"]] == ["are you there?"], "every message is there"
    post(dm, bob, "again")
    assert unread(dm, ann) == 1


def test_a_blocked_user_cannot_add_its_blocker_to_a_channel(world):
    """No client adds members at all (the control plane does, server-side);
    a block does not keep the server from adding the blocker."""
    block("ann", "bob")
    make_moderator(make_channel("acme-new", world["bob"]), "bob")
    added = StreamClient("bob").call("POST", "channels/messaging/acme-new", {"add_members": ["ann", "cat"]})
    assert added.status_code == 403, added.content
    by_server = StreamClient().call("POST", "channels/messaging/acme-new", {"add_members": ["ann"]})
    assert sorted(m["user_id"] for m in by_server.json()["members"]) == ["ann", "bob"], (
        "the server says who is a member"
    )


def test_blocks_take_a_fixed_number_of_queries(world):
    for name in ("dan", "eve", "fay"):
        make_user(name)

    def count(*requests: tuple[str, str, dict | None]) -> list[int]:
        counts = []
        for method, path, body in requests:
            with CaptureQueriesContext(connection) as queries:
                assert StreamClient("ann").call(method, path, body).status_code < 300
            counts.append(
                len(
                    [q for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
                )
            )
        return counts

    block("ann", "cat")  # warm the app cache
    first = count(
        ("POST", "users/block", {"blocked_user_id": "dan"}),
        ("GET", "users/block", None),
        ("POST", "users/unblock", {"blocked_user_id": "dan"}),
    )
    block("ann", "eve")
    second = count(
        ("POST", "users/block", {"blocked_user_id": "fay"}),
        ("GET", "users/block", None),
        ("POST", "users/unblock", {"blocked_user_id": "fay"}),
    )
    assert first == second, "none grows with the blocks a user has"
    # Block: the caller, the target, the block looked up and written, its conversations
    # (the app's settings come from the cache).
    assert first[0] == 5, first
