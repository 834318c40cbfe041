"""Muting users and channels: what a mute changes (unread counts, ``me``),
who may mute what, and when a mute ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chatengine.models import ChannelMute, Member, UserMute
from chatengine.services.app import channel_type_update
from chatengine.services.mutes import own_user
from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant

pytestmark = pytest.mark.django_db

ROOM = "messaging:acme-room"


@pytest.fixture
def room():
    multi_tenant()
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    make_user("zed", team="globex")
    make_channel("acme-room", ann, bob, cat)
    make_channel("globex-room", make_user("yan", team="globex"), team="globex")
    return {"ann": ann, "bob": bob}


def send(user_id: str, text: str) -> None:
    response = StreamClient(user_id).call(
        "POST", "channels/messaging/acme-room/message", {"message": {"text": text}}
    )
    assert response.status_code == 201, response.content


def unread(user_id: str) -> int:
    return Member.objects.get(channel_id=ROOM, user_id=user_id).unread_messages


def mute(user_id: str, path: str, body: dict):
    return StreamClient(user_id).call("POST", f"moderation/{path}", body)


def test_a_muted_channel_stops_counting_unread_until_unmuted(room):
    response = mute("bob", "mute/channel", {"channel_cid": ROOM})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["channel_mute"]["channel"]["cid"] == ROOM
    assert body["channel_mute"]["user"]["id"] == "bob"
    assert "expires" not in body["channel_mute"]
    assert [m["channel"]["cid"] for m in body["own_user"]["channel_mutes"]] == [ROOM]
    assert body["channel_mutes"] == body["own_user"]["channel_mutes"]

    send("ann", "while bob is away")
    assert (unread("bob"), unread("cat")) == (0, 1)
    assert mute("bob", "unmute/channel", {"channel_cids": [ROOM]}).status_code == 201
    send("ann", "bob is back")
    assert (unread("bob"), unread("cat")) == (1, 2)
    assert own_user(room["bob"])["channel_mutes"] == []


def test_a_muted_user_stops_counting_unread_for_the_muter_only(room):
    response = mute("bob", "mute", {"target_id": "ann", "timeout": 60})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["mute"]["user"]["id"], body["mute"]["target"]["id"]) == ("bob", "ann")
    assert "expires" in body["mute"]
    assert [m["target"]["id"] for m in body["own_user"]["mutes"]] == ["ann"]
    assert body["non_existing_users"] == []

    send("ann", "noise")
    assert (unread("bob"), unread("cat")) == (0, 1)
    send("cat", "signal")
    assert unread("bob") == 1
    assert mute("bob", "unmute", {"target_ids": ["ann"]}).status_code == 201
    send("ann", "heard")
    assert unread("bob") == 2


def test_a_mute_ends_by_itself(room):
    mute("bob", "mute/channel", {"channel_cid": ROOM, "expiration": 60_000})
    mute("bob", "mute", {"target_id": "cat"})
    assert own_user(room["bob"])["channel_mutes"][0]["expires"]
    past = timezone.now() - timedelta(seconds=1)
    ChannelMute.objects.update(expires=past)
    UserMute.objects.update(expires=past)
    send("ann", "after the mute")
    send("cat", "after the mute too")
    assert unread("bob") == 2
    me = own_user(room["bob"])
    assert (me["channel_mutes"], me["mutes"]) == ([], [])


def test_query_channels_filters_on_the_callers_mutes(room):
    mute("bob", "mute/channel", {"channel_cid": ROOM})
    assert StreamClient("bob").query_channels({"muted": True}) == [ROOM]
    assert StreamClient("bob").query_channels({"muted": False, "members": {"$in": ["bob"]}}) == []
    assert StreamClient("ann").query_channels({"muted": True}) == []


def test_muting_again_moves_the_end(room):
    mute("bob", "mute", {"target_id": "ann", "timeout": 5})
    mute("bob", "mute", {"target_id": "ann"})
    assert UserMute.objects.get().expires is None


def test_another_teams_users_and_channels_cannot_be_muted(room):
    unknown = mute("zed", "mute", {"target_id": "ann"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, 16), "another team's user looks missing"
    partly = mute("bob", "mute", {"target_ids": ["cat", "zed", "nobody"]})
    assert partly.status_code == 201
    assert partly.json()["non_existing_users"] == ["zed", "nobody"]
    assert list(UserMute.objects.values_list("target_id", flat=True)) == ["cat"]
    other = mute("bob", "mute/channel", {"channel_cid": "messaging:globex-room"})
    assert (other.status_code, other.json()["code"]) == (403, 17)
    assert not ChannelMute.objects.exists()


@pytest.mark.parametrize(
    "path, body, fragment",
    [
        ("mute", {}, "target_ids (or target_id) is required"),
        ("mute", {"target_id": "bob"}, "cannot mute itself"),
        ("mute", {"target_id": "ann", "timeout": "soon"}, "timeout (minutes) must be a whole number"),
        ("mute", {"target_ids": ["x"] * 101}, "at most 100"),
        ("mute/channel", {"channel_cids": "messaging:acme-room"}, "a list of ids"),
        ("mute/channel", {"channel_cid": ROOM, "expiration": -1}, "expiration (milliseconds)"),
        ("mute/channel", {"channel_cid": ROOM, "expiration": 10**30}, "more than ten years"),
        ("mute", {"target_id": "ann", "timeout": 10**12}, "more than ten years"),
        ("unmute/channel", {}, "channel_cids (or channel_cid) is required"),
    ],
)
def test_bad_mutes_are_input_errors(room, path, body, fragment):
    response = mute("bob", path, body)
    assert response.status_code == 400
    assert response.json()["code"] == 4
    assert fragment in response.json()["message"]


def test_a_channel_type_without_mutes_refuses_them(room):
    def capabilities() -> list[str]:
        state = StreamClient("bob").call("POST", "channels/messaging/acme-room/query", {"state": True})
        return state.json()["channel"]["own_capabilities"]

    assert "mute-channel" in capabilities()
    channel_type_update(name="messaging", data={"mutes": False})
    assert "mute-channel" not in capabilities()
    refused = mute("bob", "mute/channel", {"channel_cid": ROOM})
    assert refused.status_code == 403 and "disabled" in refused.json()["message"]


def test_the_server_mutes_on_a_users_behalf(room):
    response = StreamClient().call("POST", "moderation/mute/channel", {"channel_cid": ROOM, "user_id": "cat"})
    assert response.status_code == 201
    assert ChannelMute.objects.get().user_id == "cat"
    response = StreamClient().call("POST", "moderation/mute", {"target_ids": ["ann"], "user_id": "cat"})
    assert response.status_code == 201
    assert UserMute.objects.get().user_id == "cat"
