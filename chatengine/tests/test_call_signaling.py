"""Call signaling rides on custom events of the call's channel (``webrtc-*``):
channel members send them, nobody else does, and they reach only the
connections watching that channel, never another tenant's."""

from __future__ import annotations

import pytest

from chatengine import hub
from chatengine.models import ChatUser, Connection
from chatengine.tests.factories import StreamClient, two_teams

pytestmark = pytest.mark.django_db

SIGNALS = ["webrtc-ring", "webrtc-offer", "webrtc-answer", "webrtc-ice", "webrtc-accept", "webrtc-decline"]
EVENT = "channels/messaging/acme-general/event"


@pytest.fixture
def sent(monkeypatch):
    """What the engine publishes to the hubs after commit: (header, body) pairs.
    A header's kind ``k`` is "c" (a channel's watchers, ``cid``), "u" (users),
    "s"/"x" (sockets subscribed to or unsubscribed from ``cids``)."""
    published: list[tuple[dict, object]] = []
    monkeypatch.setattr(hub, "publish", lambda header, event, wait=None: published.append((header, event)))
    return published


def channel_events(sent, event_type: str | None = None) -> list[tuple[str, str]]:
    """(cid, event type) of every event published to a channel's watchers."""
    return [
        (header["cid"], event["type"])
        for header, event in sent
        if header["k"] == "c" and (event_type is None or event["type"] == event_type)
    ]


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
    assert channel_events(sent) == [("messaging:acme-general", event_type)]


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
    # Zed's socket was never subscribed to the call's channel, and no event was sent.
    assert channel_events(sent) == []
    assert not [header for header, _ in sent if header["k"] == "s"]


def test_a_member_watching_gets_the_signal_a_foreign_watcher_does_not(
    sent, django_capture_on_commit_callbacks
):
    """Ann rings in #acme-general while Bob (member) and Zed (globex) watch their
    own channels: the ring goes to #acme-general's watchers only."""
    people = two_teams()
    with django_capture_on_commit_callbacks(execute=True):
        for user, channel in ((people.bob, "acme-general"), (people.zed, "globex-room")):
            watched = StreamClient(user.id).call(
                "POST", f"channels/messaging/{channel}/query", {"watch": True}, connection_id=socket_of(user)
            )
            assert watched.status_code == 201, watched.content
        assert signal("ann", "webrtc-ring", kind="video").status_code == 201
    assert channel_events(sent, "webrtc-ring") == [("messaging:acme-general", "webrtc-ring")]
    # Each socket was subscribed to its own channel only.
    subscribed = {cid for header, _ in sent if header["k"] == "s" for cid in header["cids"]}
    assert subscribed == {"messaging:acme-general", "messaging:globex-room"}
