"""Query channels, users and members: Stream's filter language, sorting,
limits, the team wall for client-side callers, and a fixed query count."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chatengine.models import Channel, ChatUser, Connection, Member, Watch
from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    multi_tenant()
    ann, bob, zed = (
        make_user("ann", name="Ann"),
        make_user("bob", name="Bob"),
        make_user("zed", team="globex"),
    )
    general = make_channel("acme-general", ann, bob, name="General", topic="news", priority=2)
    random = make_channel("acme-random", bob, name="Random", priority=5)
    private = make_channel("acme-ann", ann, name="Ann alone")
    foreign = make_channel("globex-general", zed, team="globex", name="Globex")
    post(random, bob, "newest")
    return {
        "ann": ann,
        "bob": bob,
        "zed": zed,
        "general": general,
        "random": random,
        "private": private,
        "foreign": foreign,
    }


def cids(*channels: Channel) -> list[str]:
    return [channel.cid for channel in channels]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"type": "messaging", "team": "acme"}, ["acme-ann", "acme-general", "acme-random"]),
        ({"id": {"$in": ["acme-general", "globex-general"]}}, ["acme-general", "globex-general"]),
        ({"cid": "messaging:acme-random"}, ["acme-random"]),
        ({"members": {"$in": ["ann"]}}, ["acme-ann", "acme-general"]),
        ({"members": {"$eq": ["ann", "bob"]}}, ["acme-general"]),
        ({"members": {"$eq": ["ann"]}}, ["acme-ann"]),
        ({"$or": [{"team": "globex"}, {"id": "acme-ann"}]}, ["acme-ann", "globex-general"]),
        ({"$and": [{"team": "acme"}, {"members": {"$in": ["bob"]}}]}, ["acme-general", "acme-random"]),
        ({"team": "acme", "$nor": [{"id": "acme-ann"}]}, ["acme-general", "acme-random"]),
        ({"name": {"$autocomplete": "gen"}}, ["acme-general"]),
        ({"priority": {"$gt": 3}}, ["acme-random"]),
        ({"topic": {"$exists": True}}, ["acme-general"]),
        ({"member_count": {"$gte": 2}}, ["acme-general"]),
        ({"last_message_at": {"$exists": True}}, ["acme-random"]),
    ],
)
def test_server_side_filters(world, conditions, expected):
    found = StreamClient().query_channels(conditions, sort=[{"field": "cid", "direction": 1}])
    assert found == [f"messaging:{cid}" for cid in expected]


def test_date_filters_and_sorts(world):
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    client = StreamClient()
    assert len(client.query_channels({"created_at": {"$gt": past}})) == 4
    assert client.query_channels({"created_at": {"$lt": past}}) == []
    by_member_count = client.query_channels(
        {"team": "acme"}, sort=[{"field": "member_count", "direction": -1}]
    )
    assert by_member_count[0] == world["general"].cid
    by_last_message = client.query_channels(
        {"team": "acme"}, sort=[{"field": "last_message_at", "direction": -1}]
    )
    assert by_last_message[0] == world["random"].cid, "channels with messages first, nulls last"
    by_updated = client.query_channels({"team": "acme"}, sort=[{"field": "updated_at", "direction": -1}])
    assert by_updated[0] == world["random"].cid, "a new message updates its channel"
    by_created = client.query_channels({"team": "acme"}, sort=[{"field": "created_at", "direction": 1}])
    assert by_created == cids(world["general"], world["random"], world["private"])
    page = client.query_channels({"team": "acme"}, sort=[{"field": "cid", "direction": 1}], limit=2, offset=1)
    assert page == cids(world["general"], world["random"])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"filter_conditions": {"cid": {"$regex": "x"}}}, "operator $regex"),
        ({"filter_conditions": {"created_at": {"$gt": "yesterday"}}}, "RFC 3339"),
        ({"filter_conditions": {"member_count": "two"}}, "needs a number"),
        ({"filter_conditions": {"$or": []}}, "non-empty list"),
        ({"filter_conditions": {"weird field!": 1}}, "not allowed"),
        ({"filter_conditions": [1, 2]}, "must be an object"),
        ({"filter_conditions": {}, "sort": [{"field": "colour", "direction": 1}]}, "cannot sort by colour"),
        ({"filter_conditions": {}, "sort": [{"field": "cid", "direction": 2}]}, "must be 1 or -1"),
        ({"filter_conditions": {}, "limit": 31}, "limit must be between"),
        ({"filter_conditions": {"joined": True}}, "needs a user"),
    ],
)
def test_bad_filters_are_input_errors(world, body, fragment):
    response = StreamClient().call("POST", "channels", body)
    assert response.status_code == 400
    assert response.json()["code"] == 4
    assert fragment in response.json()["message"]


def test_custom_field_names_are_literal_keys_never_lookups(world):
    """A ``__`` in a custom field name is part of the key: it never reaches the
    ORM as a transform or lookup (``name__regex``, a nested key)."""
    odd = make_channel("acme-odd", world["ann"], **{"a__b": "x", "a": {"b": "nested"}, "trail_": 1})
    client = StreamClient()
    assert client.query_channels({"a__b": "x"}) == [odd.cid]
    assert client.query_channels({"a__b": "nested"}) == []
    assert client.query_channels({"a__b": {"$exists": True}}) == [odd.cid]
    assert client.query_channels({"trail_": {"$in": [1]}}) == [odd.cid]
    assert client.query_channels({"name__regex": "^Gen"}) == []
    assert client.query_channels({"name__regex": "("}) == []
    assert client.query_channels({"name__icontains": {"$ne": "x"}}) == []


@pytest.mark.parametrize(
    "conditions",
    [{"priority": {"$gt": None}}, {"topic": {"$in": [{"a": 1}]}}, {"topic": {"$q": 3}}],
)
def test_bad_custom_field_operands_are_input_errors(world, conditions):
    response = StreamClient().call("POST", "channels", {"filter_conditions": conditions})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == 4


def test_custom_contains_matches_or_is_refused(world):
    make_channel("acme-tagged", world["ann"], tags=["x", "y"])
    response = StreamClient().call("POST", "channels", {"filter_conditions": {"tags": {"$contains": ["x"]}}})
    if connection.features.supports_json_field_contains:
        assert [s["channel"]["id"] for s in response.json()["channels"]] == ["acme-tagged"]
    else:
        assert response.status_code == 400, response.content
        assert response.json()["code"] == 4


def test_sorts_by_the_users_own_membership(world):
    """``pinned_at``, ``unread_count`` and ``has_unread`` are the querying
    user's own: the UI kit sorts ``{pinned_at: -1}`` first to keep pinned
    channels on top."""
    Member.objects.filter(channel=world["private"], user=world["ann"]).update(pinned_at=timezone.now())
    post(world["general"], world["bob"], "for ann")
    ann = StreamClient("ann")
    pinned_first = [{"field": "pinned_at", "direction": -1}, {"field": "last_message_at", "direction": -1}]
    assert ann.query_channels({}) == cids(world["general"], world["private"]), "by activity"
    assert ann.query_channels({}, sort=pinned_first) == cids(world["private"], world["general"])
    by_unread = ann.query_channels({}, sort=[{"field": "unread_count", "direction": -1}])
    assert by_unread == cids(world["general"], world["private"])
    has_unread_last = ann.query_channels({}, sort=[{"field": "has_unread", "direction": 1}])
    assert has_unread_last == cids(world["private"], world["general"])
    # Bob pinned nothing: the same sort lists his channels by activity.
    assert StreamClient("bob").query_channels({}, sort=pinned_first) == cids(
        world["general"], world["random"]
    )

    server = StreamClient().call("POST", "channels", {"filter_conditions": {}, "sort": pinned_first})
    assert (server.status_code, server.json()["code"]) == (400, 4)
    assert "needs a user" in server.json()["message"]
    on_behalf = StreamClient().query_channels({"members": {"$in": ["ann"]}}, sort=pinned_first, user_id="ann")
    assert on_behalf == cids(world["private"], world["general"])


def test_hidden_channels_leave_the_users_lists_until_a_new_message(world):
    ann = StreamClient("ann")
    for path in ("channels/messaging/acme-general/hide", "channels/messaging/acme-ann/hide"):
        assert ann.call("POST", path, {}).status_code == 201
    assert ann.query_channels({}) == []
    assert sorted(ann.query_channels({"hidden": True})) == sorted(cids(world["general"], world["private"]))
    assert ann.query_channels({"$or": [{"hidden": False}, {"id": "acme-ann"}]}) == cids(world["private"])
    assert StreamClient("bob").query_channels({"id": "acme-general"}) == cids(world["general"]), (
        "a channel is hidden for the member who hid it only"
    )
    state = ann.call("POST", "channels/messaging/acme-general/query", {"state": True}).json()
    assert state["hidden"] is True and state["channel"]["hidden"] is True, "asked for by id, it answers"
    assert StreamClient().query_channels({"members": {"$in": ["ann"]}}) != [], "server side lists it all"

    post(world["general"], world["bob"], "are you there?")
    assert ann.query_channels({}) == cids(world["general"]), "a new message brings it back"
    assert ann.call("POST", "channels/messaging/acme-ann/show", {}).status_code == 201
    assert ann.query_channels({}, sort=[{"field": "cid", "direction": 1}]) == cids(
        world["private"], world["general"]
    )


def test_client_side_queries_stay_in_the_users_team_and_channels(world):
    ann = StreamClient("ann")
    assert sorted(ann.query_channels({})) == sorted(cids(world["general"], world["private"]))
    assert ann.query_channels({"team": "globex"}) == []
    assert ann.query_channels(
        {"joined": True, "team": "acme"}, sort=[{"field": "cid", "direction": 1}]
    ) == cids(world["private"], world["general"])
    zed = StreamClient("zed")
    assert zed.query_channels({"cid": {"$in": cids(world["general"], world["foreign"])}}) == cids(
        world["foreign"]
    )


def test_client_side_user_search_is_confined_to_the_team(world):
    def search(client: StreamClient, conditions: dict) -> list[str]:
        response = client.call("GET", "users", payload=json.dumps({"filter_conditions": conditions}))
        assert response.status_code == 200
        return sorted(user["id"] for user in response.json()["users"])

    assert search(StreamClient("ann"), {"id": {"$in": ["ann", "bob", "zed"]}}) == ["ann", "bob"]
    assert search(StreamClient("zed"), {"name": {"$autocomplete": "an"}}) == []
    assert search(StreamClient(), {"teams": {"$contains": "globex"}}) == ["zed"]
    assert search(StreamClient(), {"teams": {"$in": ["acme", "globex"]}, "id": {"$ne": "bob"}}) == [
        "ann",
        "zed",
    ]


def test_query_members_filters_and_sorts(world):
    payload = {
        "type": "messaging",
        "id": "acme-general",
        "filter_conditions": {"name": {"$autocomplete": "bo"}},
    }
    response = StreamClient("ann").call("GET", "members", payload=json.dumps(payload))
    assert [m["user_id"] for m in response.json()["members"]] == ["bob"]
    payload = {
        "type": "messaging",
        "id": "acme-general",
        "filter_conditions": {},
        "sort": [{"field": "user_id", "direction": -1}],
    }
    response = StreamClient().call("GET", "members", payload=json.dumps(payload))
    assert [m["user_id"] for m in response.json()["members"]] == ["bob", "ann"]


def test_query_channels_costs_the_same_for_many_channels(world):
    """The state of every listed channel is loaded in batches: the query count
    does not grow with the number of channels."""

    def count_queries(how_many: int) -> int:
        for index in range(how_many):
            channel = make_channel(f"load-{how_many}-{index}", world["ann"], world["bob"], batch=how_many)
            post(channel, world["bob"], "hello")
        with CaptureQueriesContext(connection) as queries:
            found = StreamClient("ann").query_channels({"batch": how_many}, limit=30)
        assert len(found) == how_many
        return len(queries)

    assert count_queries(2) == count_queries(12)


def test_a_client_read_takes_no_write_lock(world):
    """Client calls identify their user with a plain read: a query opens no
    transaction (on SQLite every transaction here takes the write lock)."""
    StreamClient("ann").query_channels({"members": {"$in": ["ann"]}})  # warm caches
    with CaptureQueriesContext(connection) as queries:
        found = StreamClient("ann").query_channels({"members": {"$in": ["ann"]}})
    assert {"messaging:acme-general", "messaging:acme-ann"} <= set(found)
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert "SAVEPOINT" not in statements and "BEGIN" not in statements, statements


# ---------------------------------------------------------------------------
# The write and real-time paths: a send, a handshake, a watch
# ---------------------------------------------------------------------------
def _socket(user, name: str) -> Connection:
    """A live connection of ``user`` (as a handshake registers one)."""
    return Connection.objects.create(id=f"conn-{name}", channel_name=f"test.{name}", user=user)


def _crowd(channel_id: str, size: int, *, watching: int = 0) -> tuple[Channel, list]:
    """A channel of ``size`` acme members, ``watching`` of whom have a socket watching it."""
    people = [make_user(f"{channel_id}-{index}") for index in range(size)]
    channel = make_channel(channel_id, *people)
    for person in people[:watching]:
        Watch.objects.create(connection=_socket(person, person.id), channel=channel)
    return channel, people


def _send(user_id: str, channel_id: str, **message) -> None:
    response = StreamClient(user_id).call(
        "POST", f"channels/messaging/{channel_id}/message", {"message": {"text": "hello", **message}}
    )
    assert response.status_code == 201, response.content


# A client's send: its user (authentication); its membership with the channel,
# its bans and (in a conversation) whether the other member blocks it; one read
# of who hears of it (unread totals, who watches); then the writes (the
# message, the channel's counters, every member's read state in one update):
# one statement on PostgreSQL, three on SQLite, inside a savepoint here (the
# test's transaction). The app and the channel type come from the cache.
def send_queries() -> int:
    return 6 if connection.vendor == "postgresql" else 8


@pytest.mark.parametrize(("size", "watching"), [(3, 0), (3, 3), (40, 10)])
def test_a_send_takes_a_fixed_number_of_queries_whatever_the_channel(
    size, watching, django_assert_num_queries
):
    multi_tenant()
    channel, people = _crowd(f"crowd-{size}-{watching}", size, watching=watching)
    _send(people[0].id, channel.channel_id)  # warm the app and channel type caches
    with django_assert_num_queries(send_queries()):
        _send(people[1].id, channel.channel_id)
    unread = dict(Member.objects.filter(channel=channel).values_list("user_id", "unread_messages"))
    assert unread == {people[0].id: 1, people[1].id: 0, **{p.id: 2 for p in people[2:]}}


@pytest.mark.django_db(transaction=True)
def test_a_send_outside_a_transaction_is_one_write_statement_on_postgresql(django_assert_num_queries):
    """Without a caller's transaction the writes of a send are one statement
    on PostgreSQL, atomic on its own: no BEGIN, no COMMIT, and the members'
    locks held for that statement only. SQLite writes in a transaction."""
    multi_tenant()
    channel, people = _crowd("crowd-alone", 4, watching=2)
    _send(people[0].id, channel.channel_id)
    expected = 4 if connection.vendor == "postgresql" else 8
    with django_assert_num_queries(expected) as queries:
        _send(people[1].id, channel.channel_id)
    statements = [query["sql"] for query in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert statements[-1].startswith("WITH "), statements[-1]
        assert not any(sql.startswith(("BEGIN", "SAVEPOINT", "COMMIT")) for sql in statements)
    unread = dict(Member.objects.filter(channel=channel).values_list("user_id", "unread_messages"))
    assert unread == {people[0].id: 1, people[1].id: 0, **{p.id: 2 for p in people[2:]}}


def test_a_send_in_a_conversation_costs_no_more_and_keeps_blocks(django_assert_num_queries):
    """The block lookup of a conversation rides on the membership's query."""
    from chatengine.services.blocks import user_block

    multi_tenant()
    ann, bob = make_user("ann"), make_user("bob")
    pair = make_channel("acme-pair", ann, bob)
    _send("ann", "acme-pair")
    with django_assert_num_queries(send_queries()):
        _send("ann", "acme-pair")
    user_block(user=bob, target=ann)
    with django_assert_num_queries(send_queries()):
        _send("ann", "acme-pair")
    assert Member.objects.get(channel=pair, user=bob).unread_messages == 2, "a blocker's count stays"


def test_a_send_keeps_mutes_silence_and_hidden_channels(world):
    """The single update of the members' read state keeps each rule: muted
    channels and authors, silent messages, hidden channels coming back."""
    from chatengine.services.mutes import channels_mute, users_mute

    ann, bob = world["ann"], world["bob"]
    cat, dan = make_user("cat"), make_user("dan")
    room = make_channel("acme-rules", ann, bob, cat, dan)
    users_mute(user=bob, targets=[ann], duration=None)
    channels_mute(user=cat, channels=[room], duration=None)
    Member.objects.filter(channel=room, user=dan).update(hidden=True)
    _send("ann", "acme-rules")
    _send("ann", "acme-rules", silent=True)
    rows = {m.user_id: (m.unread_messages, m.hidden) for m in Member.objects.filter(channel=room)}
    assert rows == {"ann": (0, False), "bob": (0, False), "cat": (0, False), "dan": (1, False)}
    assert Member.objects.get(channel=room, user=ann).last_read_message_id != ""


def _handshake(user_id: str, name: str) -> dict:
    from django.conf import settings

    from chatengine.consumers import _open
    from chatengine.tests.factories import token

    query = {"api_key": settings.STREAM_API_KEY, "authorization": token(user_id)}
    _, _, me = _open.func(query, name)
    return me


@pytest.fixture
def fresh_sweep(monkeypatch):
    """Stale connections are swept once a minute per process: due now."""
    from chatengine.services import connections

    monkeypatch.setitem(connections._last_sweep, "at", -connections.STALE_SWEEP_EVERY)


# A handshake: the user with its presence, unread totals and whether it has
# mutes or blocks (one read); its last_active and its connection (one statement
# on PostgreSQL, which writes through a CTE; two on SQLite).
def _handshake_queries() -> int:
    return 2 if connection.vendor == "postgresql" else 3


@pytest.mark.parametrize("memberships", [1, 12])
def test_a_handshake_takes_three_queries_and_four_to_come_online(
    memberships, django_assert_num_queries, fresh_sweep
):
    """A handshake's reads and writes (``_handshake_queries``: three on SQLite,
    two on PostgreSQL); coming online also reads who to tell. No more with more
    channels."""
    multi_tenant()
    ann = make_user("ann")
    for index in range(memberships):
        post(
            make_channel(f"acme-{index}", ann, make_user(f"peer-{index}")),
            ChatUser.objects.get(id=f"peer-{index}"),
            "hi",
        )
    _handshake("ann", "warm")  # warm the app cache, sweep once
    Connection.objects.all().delete()
    with django_assert_num_queries(_handshake_queries() + 1):
        me = _handshake("ann", "first")
    assert (me["total_unread_count"], me["unread_channels"]) == (memberships, memberships)
    with django_assert_num_queries(_handshake_queries()):
        _handshake("ann", "second")
    second = Connection.objects.get(channel_name="second")
    assert (second.user_id, Connection.objects.filter(user_id="ann").count()) == ("ann", 2)
    assert ChatUser.objects.get(id="ann").last_active == second.last_seen, "both writes happened"


def test_a_handshake_reads_mutes_and_blocks_only_when_there_are(world, fresh_sweep):
    from chatengine.services.blocks import user_block
    from chatengine.services.mutes import users_mute

    _handshake("ann", "warm")
    users_mute(user=world["ann"], targets=[world["bob"]], duration=None)
    user_block(user=world["ann"], target=world["zed"])
    with CaptureQueriesContext(connection) as queries:
        me = _handshake("ann", "again")
    assert [m["target"]["id"] for m in me["mutes"]] == ["bob"]
    assert me["blocked_user_ids"] == ["zed"]
    assert me["channel_mutes"] == []
    assert len(queries) == _handshake_queries() + 2, "the user mutes and the blocks, not the channel mutes"


def test_stale_connections_are_swept_at_most_once_a_minute(world, fresh_sweep):
    from chatengine.models import CONNECTION_STALE_AFTER

    long_ago = timezone.now() - CONNECTION_STALE_AFTER - timedelta(seconds=1)
    _socket(world["bob"], "dead-1")
    Connection.objects.filter(id="conn-dead-1").update(last_seen=long_ago)
    _handshake("ann", "first")
    assert not Connection.objects.filter(id="conn-dead-1").exists(), "swept when due"
    _socket(world["bob"], "dead-2")
    Connection.objects.filter(id="conn-dead-2").update(last_seen=long_ago)
    _handshake("ann", "second")
    assert Connection.objects.filter(id="conn-dead-2").exists(), "not again within the minute"
    assert not Connection.objects.live().filter(id="conn-dead-2").exists(), "and ignored meanwhile"


# queryChannels watching a fresh socket: the caller; the channels; the socket;
# the watches written (one statement saying which are new); the watchers with
# their users (for the events and the state); the viewer's memberships with its
# presence, bans and blocks; every channel's history and pins (one ranked
# query); its members with their presence.
WATCH_QUERIES = 8


@pytest.mark.parametrize("page", [2, 12, 30])
def test_watching_a_page_of_channels_takes_eight_queries(page, django_assert_num_queries):
    multi_tenant()
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    for index in range(page):
        channel = make_channel(f"page-{page}-{index}", ann, bob, cat, batch=page)
        post(channel, bob, "hello", pinned=index % 2 == 0)
        Watch.objects.create(connection=_socket(bob, f"bob-{index}"), channel=channel)
    StreamClient("ann").query_channels({"batch": page})  # warm the caches
    socket = _socket(ann, "ann")
    body = {"filter_conditions": {"batch": page}, "watch": True, "presence": True, "limit": 30}
    with django_assert_num_queries(WATCH_QUERIES):
        response = StreamClient("ann").call("POST", "channels", body, connection_id=socket.id)
    states = response.json()["channels"]
    assert len(states) == page
    assert {s["watcher_count"] for s in states} == {2}
    assert {len(s["pinned_messages"]) for s in states} <= {0, 1}
    assert sum(len(s["pinned_messages"]) for s in states) == (page + 1) // 2
    online = {m["user_id"]: m["user"]["online"] for s in states for m in s["members"]}
    assert online == {"ann": True, "bob": True, "cat": False}
    assert Watch.objects.filter(connection=socket).count() == page


# channel.watch() of one channel by a fresh socket, what every client does
# after its handshake: the caller; the channel with its creator; the viewer's
# membership with its presence, bans and blocks (which the access check reuses);
# the socket; the watch written; the watchers with their users; the history and
# pins (one ranked query); the members with their presence.
CHANNEL_WATCH_QUERIES = 8


@pytest.mark.parametrize("members", [3, 40])
def test_watching_one_channel_takes_eight_queries(members, django_assert_num_queries):
    multi_tenant()
    ann, bob = make_user("ann"), make_user("bob")
    others = [make_user(f"peer-{index}") for index in range(members - 2)]
    channel = make_channel("watched", ann, bob, *others)
    for index in range(30):
        post(channel, bob, f"hello {index}", pinned=index == 3)
    Watch.objects.create(connection=_socket(bob, "bob"), channel=channel)
    StreamClient("ann").call("POST", "channels/messaging/watched/query", {"state": True})  # warm the caches
    socket = _socket(ann, "ann")
    body = {"state": True, "watch": True, "presence": True, "messages": {"limit": 25}}
    with django_assert_num_queries(CHANNEL_WATCH_QUERIES):
        response = StreamClient("ann").call(
            "POST", "channels/messaging/watched/query", body, connection_id=socket.id
        )
    assert response.status_code == 201, response.content
    state = response.json()
    assert [m["text"] for m in state["messages"]] == [f"hello {index}" for index in range(5, 30)]
    assert [m["text"] for m in state["pinned_messages"]] == ["hello 3"]
    assert state["watcher_count"] == 2
    assert [w["id"] for w in state["watchers"]] == ["bob", "ann"]
    assert len(state["members"]) == members
    online = {m["user_id"]: m["user"]["online"] for m in state["members"]}
    assert (online["ann"], online["bob"]) == (True, True)
    assert not any(online[user.id] for user in others)
    assert state["membership"]["user_id"] == "ann"
    assert "send-message" in state["channel"]["own_capabilities"]
    assert Watch.objects.filter(connection=socket, channel=channel, presence=True).exists()


def test_the_watchers_of_a_busy_channel_are_counted_not_all_read(django_assert_num_queries):
    """Users watching with two sockets count once; the state lists the first
    ``watchers.limit`` of them in the order they started; the read is the
    same one statement however many sockets watch."""
    multi_tenant()
    ann = make_user("ann")
    people = [make_user(f"watcher-{index:02d}") for index in range(30)]
    channel = make_channel("busy-watch", ann, *people)
    for person in people:
        for tab in ("a", "b"):
            Watch.objects.create(connection=_socket(person, f"{person.id}-{tab}"), channel=channel)
    path = "channels/messaging/busy-watch/query"
    StreamClient("ann").call("POST", path, {"state": True})  # warm the caches
    socket = _socket(ann, "ann")
    body = {"state": True, "watch": True, "watchers": {"limit": 3}}
    with django_assert_num_queries(CHANNEL_WATCH_QUERIES):
        response = StreamClient("ann").call("POST", path, body, connection_id=socket.id)
    state = response.json()
    assert state["watcher_count"] == 31
    assert [w["id"] for w in state["watchers"]] == ["watcher-00", "watcher-01", "watcher-02"]
    assert all(w["online"] for w in state["watchers"])
    state = StreamClient("ann").call("POST", path, {"state": True}).json()
    assert state["watcher_count"] == 31
    assert [w["id"] for w in state["watchers"]] == [f"watcher-{index:02d}" for index in range(10)]
    assert {m["user_id"] for m in state["members"] if m["user"]["online"]} == {"ann", *(p.id for p in people)}


def test_the_send_statements_are_prepared_on_postgresql():
    """The engine's statements bind their values on the server, so each is the
    same text on every call and PostgreSQL plans it once per connection."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    multi_tenant()
    channel, people = _crowd("crowd-prepared", 3, watching=1)
    for _ in range(6):
        _send(people[0].id, channel.channel_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(statement.startswith("WITH w0 AS (INSERT") for statement in prepared), prepared
    assert any(statement.startswith("WITH lw AS") for statement in prepared), prepared
    assert Member.objects.get(channel=channel, user=people[1]).unread_messages == 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_to_one_channel_all_go_through():
    """Sends to one channel from several connections lock its members in one
    order: none waits on another in a cycle (PostgreSQL aborts one of a
    deadlock, which the client would see as a 429 and a second's wait)."""
    import threading

    from django.db import connections

    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database's shared cache refuses concurrent writers")
    multi_tenant()
    channel, people = _crowd("crowd-concurrent", 40)
    statuses: list[int] = []

    def send_many(author: str) -> None:
        try:
            for _ in range(10):
                response = StreamClient(author).call(
                    "POST", f"channels/messaging/{channel.channel_id}/message", {"message": {"text": "hi"}}
                )
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send_many, args=(person.id,)) for person in people[:8]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 80
    assert Channel.objects.get(pk=channel.pk).message_count == 80
