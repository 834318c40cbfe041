"""Flags: members report messages and users; moderators review them server side."""

from __future__ import annotations

import json

import pytest

from chatengine.models import Flag
from chatengine.tests.factories import StreamClient, post, two_teams

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    teams = two_teams()
    return {
        "rude": post(teams.general, teams.bob, "rude words"),
        "own": post(teams.general, teams.ann, "my own words"),
        "private": post(teams.private, teams.cat, "between bob and cat"),
        "globex": post(teams.globex, teams.zed, "globex words"),
    }


def flag(user_id: str | None, path: str = "moderation/flag", **body):
    return StreamClient(user_id).call("POST", path, body)


def test_a_member_flags_a_message_once_and_may_take_it_back(world):
    response = flag("ann", target_message_id=world["rude"].id, reason="rude", custom={"severity": 2})
    assert response.status_code == 201, response.content
    body = response.json()["flag"]
    assert (body["user"]["id"], body["target_message_id"], body["reason"]) == (
        "ann",
        world["rude"].id,
        "rude",
    )
    assert body["custom"] == {"severity": 2} and body["created_by_automod"] is False

    again = flag("ann", target_message_id=world["rude"].id)
    assert (again.status_code, again.json()["code"]) == (400, 4)
    assert "already flagged" in again.json()["message"]
    assert flag("ann", "moderation/unflag", target_message_id=world["rude"].id).status_code == 201
    assert not Flag.objects.exists()
    gone = flag("ann", "moderation/unflag", target_message_id=world["rude"].id)
    assert (gone.status_code, gone.json()["code"]) == (404, 16)


def test_flags_reach_only_what_the_flagger_can_read(world):
    outside = flag("ann", target_message_id=world["private"].id)
    assert (outside.status_code, outside.json()["code"]) == (403, 17), "not a member of that channel"
    other_team = flag("ann", target_message_id=world["globex"].id)
    assert (other_team.status_code, other_team.json()["code"]) == (404, 16), (
        "another team's message looks missing"
    )
    other_user = flag("ann", target_user_id="zed")
    assert (other_user.status_code, other_user.json()["code"]) == (404, 16), (
        "another team's user looks missing"
    )
    assert not Flag.objects.exists()


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({}, "target_message_id or target_user_id"),
        ({"target_message_id": "m", "target_user_id": "bob"}, "target_message_id or target_user_id"),
        ({"target_user_id": "ann"}, "cannot flag yourself"),
        ({"target_user_id": "bob", "reason": "x" * 256}, "at most 255"),
        ({"target_user_id": "bob", "custom": ["x"]}, "custom must be an object"),
    ],
)
def test_bad_flags_are_input_errors(world, body, fragment):
    response = flag("ann", **body)
    assert (response.status_code, response.json()["code"]) == (400, 4)
    assert fragment in response.json()["message"]


def test_own_messages_cannot_be_flagged(world):
    response = flag("ann", target_message_id=world["own"].id)
    assert response.status_code == 400 and "your own message" in response.json()["message"]


def test_users_are_flagged_too(world):
    response = flag("ann", target_user_id="bob", reason="spam")
    assert response.status_code == 201
    assert response.json()["flag"]["target_user"]["id"] == "bob"


def test_moderators_review_message_flags_server_side(world):
    flag("ann", target_message_id=world["rude"].id, reason="rude")
    assert flag("bob", target_message_id=world["private"].id).status_code == 201
    flag("ann", target_user_id="bob")

    def review(**payload):
        return StreamClient().call("GET", "moderation/flags/message", payload=json.dumps(payload))

    everything = review()
    assert everything.status_code == 200
    assert [f["message"]["text"] for f in everything.json()["flags"]] == ["between bob and cat", "rude words"]
    in_general = review(filter_conditions={"channel_cid": "messaging:acme-general"})
    assert [(f["user"]["id"], f["reason"]) for f in in_general.json()["flags"]] == [("ann", "rude")]
    by_author = review(filter_conditions={"message_user_id": {"$in": ["cat"]}})
    assert [f["message"]["user"]["id"] for f in by_author.json()["flags"]] == ["cat"]
    bad = review(filter_conditions={"reason": "rude"})
    assert bad.status_code == 400 and "channel_cid" in bad.json()["message"]
    client = StreamClient("ann").call("GET", "moderation/flags/message", payload="{}")
    assert (client.status_code, client.json()["code"]) == (403, 17)


def test_flagging_is_a_capability_of_members(world):
    state = StreamClient("ann").call("POST", "channels/messaging/acme-general/query", {"state": True})
    assert "flag-message" in state.json()["channel"]["own_capabilities"]
