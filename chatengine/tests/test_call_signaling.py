"""Call signaling rides on custom events of the call's channel (``webrtc-*``):
channel members send them, nobody else does, and they reach only the
connections watching that channel, never another tenant's."""

from __future__ import annotations

import pytest

from chatengine import events
from chatengine.models import ChatUser, Connection
from chatengine.tests.factories import StreamClient, two_teams

pytestmark = pytest.mark.django_db

SIGNALS = ["webrtc-ring", "webrtc-offer", "webrtc-answer", "webrtc-ice", "webrtc-accept", "webrtc-decline"]
EVENT = "channels/messaging/acme-general/event"


@pytest.fixture
def sent(monkeypatch):
    """The channel-layer operations the engine hands over after commit."""
    batches: list[list[tuple]] = []
    monkeypatch.setattr(events._publisher, "submit", lambda sends, wait=None: batches.append(sends))
    return batches


def socket_of(user: ChatUser) -> str:
    return Connection.objects.create(id=f"conn-{user.id}", channel_name=f"test.{user.id}", user=user).id


def signal(user_id: str, event_type: str, path: str = EVENT, **fields):
    body = {"event": {"type": event_type, "call_id": "c1", "from": user_id, "to": "bob", **fields}}
    return StreamClient(user_id).call("POST", path, body)


@pytest.mark.parametrize("event_type", [*SIGNALS, "webrtc-hangup", "webrtc-state"])
def test_a_member_sends_call_signals_to_the_channels_watchers(
    event_type, sent, django_capture_on_commit_callbacks
):
    two_teams()
    with django_capture_on_commit_callbacks(execute=True):
        response = signal("ann", event_type, sdp="v=0")
    assert response.status_code == 201, response.content
    event = response.json()["event"]
    assert (event["type"], event["call_id"], event["from"], event["to"], event["sdp"]) == (
        event_type,
        "c1",
        "ann",
        "bob",
        "v=0",
    )
    assert event["user"]["id"] == "ann" and event["cid"] == "messaging:acme-general"
    ((operation,),) = sent
    assert operation[:2] == ("group_send", events.channel_group("messaging:acme-general"))
    assert operation[2]["event"]["type"] == event_type


def test_a_non_member_of_the_same_tenant_cannot_signal(sent, django_capture_on_commit_callbacks):
    two_teams()
    with django_capture_on_commit_callbacks(execute=True):
        response = signal("cat", "webrtc-ring")
    assert response.status_code == 403, response.content
    assert "not allowed" in response.json()["message"]
    assert sent == []


def test_another_tenants_user_cannot_signal_nor_watch_the_call(sent, django_capture_on_commit_callbacks):
    two_teams()
    zed = ChatUser.objects.get(id="zed")
    with django_capture_on_commit_callbacks(execute=True):
        response = signal("zed", "webrtc-offer", sdp="v=0")
        watch = StreamClient("zed").call(
            "POST",
            "channels/messaging/acme-general/query",
            {"watch": True, "state": True},
            connection_id=socket_of(zed),
        )
    assert response.status_code == 403, response.content
    assert watch.status_code in (403, 404), watch.content
    # Zed's socket was never added to the call's channel group, and no event was sent.
    assert not [op for batch in sent for op in batch if op[0] == "group_send"]
    assert not [op for batch in sent for op in batch if op[0] == "group_add"]


def test_a_member_watching_gets_the_signal_a_foreign_watcher_does_not(
    sent, django_capture_on_commit_callbacks
):
    """Ann rings in #acme-general while Bob (member) and Zed (globex) watch their
    own channels: the ring goes to #acme-general's group only."""
    people = two_teams()
    with django_capture_on_commit_callbacks(execute=True):
        for user, channel in ((people.bob, "acme-general"), (people.zed, "globex-room")):
            watched = StreamClient(user.id).call(
                "POST", f"channels/messaging/{channel}/query", {"watch": True}, connection_id=socket_of(user)
            )
            assert watched.status_code == 201, watched.content
        assert signal("ann", "webrtc-ring", kind="video").status_code == 201
    rings = [
        op
        for batch in sent
        for op in batch
        if op[0] == "group_send" and op[2]["event"]["type"] == "webrtc-ring"
    ]
    assert [op[1] for op in rings] == [events.channel_group("messaging:acme-general")]
    assert events.channel_group("messaging:globex-room") not in [op[1] for op in rings]
