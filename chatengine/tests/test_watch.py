"""Watching: the caller who starts watching is among the watchers of the
state it gets back (the UI kit's header counts "N online" from it), for one
channel, a channel created on the way, and a page of queryChannels."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chatengine.models import ChatUser, Connection
from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant, post

pytestmark = pytest.mark.django_db


def socket_of(user: ChatUser) -> str:
    """A live connection of ``user``, as its WebSocket handshake registers one."""
    return Connection.objects.create(id=f"conn-{user.id}", channel_name=f"test.{user.id}", user=user).id


@pytest.fixture
def room():
    multi_tenant()
    ann, bob = make_user("ann"), make_user("bob")
    return {"ann": ann, "bob": bob, "channel": make_channel("acme-room", ann, bob)}


def watchers(state: dict) -> list[str]:
    return sorted(user["id"] for user in state["watchers"])


def query(user_id: str, path: str, body: dict, **params: str) -> dict:
    response = StreamClient(user_id).call("POST", path, body, **params)
    assert response.status_code == 201, response.content
    return response.json()


def test_watching_one_channel_counts_the_caller(room):
    path, body = "channels/messaging/acme-room/query", {"state": True, "watch": True}
    state = query("ann", path, body, connection_id=socket_of(room["ann"]))
    assert (state["watcher_count"], watchers(state)) == (1, ["ann"])
    assert state["watchers"][0]["online"] is True

    second = query("bob", path, body, connection_id=socket_of(room["bob"]))
    assert (second["watcher_count"], watchers(second)) == (2, ["ann", "bob"])


def test_a_query_without_watch_counts_only_the_watchers(room):
    query("ann", "channels/messaging/acme-room/query", {"watch": True}, connection_id=socket_of(room["ann"]))
    state = query("bob", "channels/messaging/acme-room/query", {"state": True})
    assert (state["watcher_count"], watchers(state)) == (1, ["ann"])


def test_watching_a_distinct_channel_counts_the_caller(room):
    # The control plane creates the channel; the client finds it by its members.
    data = {"members": ["ann", "bob"], "team": "acme"}
    by_server = {"data": {**data, "created_by_id": "ann"}}
    created = StreamClient().call("POST", "channels/messaging/query", by_server)
    assert created.status_code == 201, created.content
    body = {"data": data, "state": True, "watch": True}
    state = query("ann", "channels/messaging/query", body, connection_id=socket_of(room["ann"]))
    assert state["channel"]["id"].startswith("!members-")
    assert (state["watcher_count"], watchers(state)) == (1, ["ann"])


def test_query_channels_with_watch_counts_the_caller_in_every_channel(room):
    make_channel("acme-other", room["ann"])
    body = {"filter_conditions": {"members": {"$in": ["ann"]}}, "state": True, "watch": True}
    states = query("ann", "channels", body, connection_id=socket_of(room["ann"]))["channels"]
    assert len(states) == 2
    assert [(s["watcher_count"], watchers(s)) for s in states] == [(1, ["ann"]), (1, ["ann"])]


def test_another_users_connection_id_watches_nothing(room):
    bob_socket = socket_of(room["bob"])
    state = query("ann", "channels/messaging/acme-room/query", {"watch": True}, connection_id=bob_socket)
    assert (state["watcher_count"], state["watchers"]) == (0, [])


def test_watching_a_page_of_channels_costs_the_same_for_many_channels(room):
    """The kit's ChannelList watches every channel it lists: the watch, its
    ``user.watching.start`` events and the counted state are batched."""

    def count_queries(how_many: int) -> int:
        for index in range(how_many):
            channel = make_channel(f"watch-{how_many}-{index}", room["ann"], room["bob"], batch=how_many)
            post(channel, room["bob"], "hello")
        connection_id = socket_of(room["ann"])
        body = {"filter_conditions": {"batch": how_many}, "watch": True, "limit": 30}
        with CaptureQueriesContext(connection) as queries:
            states = query("ann", "channels", body, connection_id=connection_id)["channels"]
        assert [s["watcher_count"] for s in states] == [1] * how_many
        Connection.objects.filter(id=connection_id).delete()
        return len(queries)

    assert count_queries(2) == count_queries(12)


def watching(room) -> list[str]:
    """Who watches the room now, as the server sees it."""
    return watchers(query_as_server("channels/messaging/acme-room/query", {"state": True}))


def query_as_server(path: str, body: dict) -> dict:
    response = StreamClient().call("POST", path, body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def watched(room):
    for name in ("ann", "bob"):
        query(
            name, "channels/messaging/acme-room/query", {"watch": True}, connection_id=socket_of(room[name])
        )
    assert watching(room) == ["ann", "bob"]
    return room


def test_a_channel_does_not_move_to_another_team_away_from_its_members(watched):
    # The team wall keeps a channel's members in its team, so its watchers keep it.
    make_user("zed", team="globex")
    moved = StreamClient().call("PATCH", "channels/messaging/acme-room", {"set": {"team": "globex"}})
    assert moved.status_code == 400, moved.content
    assert "not in team globex" in moved.json()["message"]
    assert watching(watched) == ["ann", "bob"]


def test_a_channel_role_without_read_channel_ends_the_members_watch(watched):
    assert StreamClient().call("POST", "roles", {"name": "channel_mute_reader"}).status_code == 201
    body = {"assign_roles": [{"user_id": "bob", "channel_role": "channel_mute_reader"}]}
    assert StreamClient().call("POST", "channels/messaging/acme-room", body).status_code == 201
    assert watching(watched) == ["ann"]


def test_turning_multi_tenancy_on_ends_watches_across_the_team_wall(settings):
    ann, zed = make_user("ann"), make_user("zed", team="globex")
    make_channel("acme-room", ann, zed)  # two teams in one channel: allowed without multi-tenancy
    for user in (ann, zed):
        query(user.id, "channels/messaging/acme-room/query", {"watch": True}, connection_id=socket_of(user))
    assert StreamClient().call("PATCH", "app", {"multi_tenant_enabled": True}).status_code == 200
    assert watchers(query_as_server("channels/messaging/acme-room/query", {"state": True})) == ["ann"]


def test_a_banned_member_keeps_watching_and_reading(watched):
    """Stream's banned users still connect to their channels and read them."""
    body = {"target_user_id": "bob", "user_id": "ann", "type": "messaging", "id": "acme-room"}
    assert StreamClient().call("POST", "moderation/ban", body).status_code == 201
    assert watching(watched) == ["ann", "bob"]
