"""Query benchmark of the built-in chat engine: the reads a chat UI makes.

Two tenants (teams), each with 1,000 channels and 10,000 messages: 999
channels of 9 messages and one busy channel of 1,009; every channel has 5
members, one of whom (the viewer) is in all of its team's channels. Timed
in-process through the engine's REST views (auth, filters, state building,
serialisation; no network), each call repeated:

- queryChannels as the viewer (members $in, last_message_at desc, 30 channels,
  25 messages each: the client defaults), first page and a deep page;
- watching the busy channel (100 messages, the client default) and paging its
  history back with id_lt;
- a server-side queryChannels by team; query members;
- the write and real-time paths: a message sent by a client in a channel of
  5 members and in one of 100 (its query count must not grow with the
  members), a WebSocket handshake (authentication, the connection's row and
  ``me``), the same for a user coming online, the watch of one channel by a
  fresh socket (what each client of a reconnect does after its handshake),
  and queryChannels with ``watch: true`` subscribing a fresh socket to a page
  of 10 and of 30 channels.

    .venv/bin/python bench/chatengine_queries.py [--repeat 30] [--explain] [--sql]

Uses a fresh SQLite file, or a fresh PostgreSQL database when DATABASE_URL
names one. Prints p50/p95 latency, the median CPU time of this process (the
Python side of a call, steadier than latency on a shared machine) and the
query count of each call; with --explain, the plan of its slowest query; with
--sql, every statement.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatengine.tests.live import fresh_database, migrate, server_env  # noqa: E402

TEAMS = ("acme", "globex")
CHANNELS_PER_TEAM = 1000
MESSAGES_PER_TEAM = 10_000
USERS_PER_TEAM = 100
MEMBERS_PER_CHANNEL = 5


def seed() -> None:
    from django.utils import timezone

    from chatengine.models import App, Channel, ChatUser, Member, Message, UserTeam

    App.objects.update_or_create(pk=1, defaults={"multi_tenant_enabled": True})
    start = timezone.now() - timedelta(days=30)
    for team in TEAMS:
        users = [
            ChatUser(
                id=f"{team}-u{i:03d}", name=f"User {i}", teams=[team], created_at=start, updated_at=start
            )
            for i in range(USERS_PER_TEAM)
        ]
        ChatUser.objects.bulk_create(users)
        UserTeam.objects.bulk_create([UserTeam(user=u, team=team) for u in users])
        viewer = users[0]
        busy_extra = MESSAGES_PER_TEAM - (CHANNELS_PER_TEAM * 9)
        channels, members, messages = [], [], []
        clock = start
        for c in range(CHANNELS_PER_TEAM):
            cid = f"messaging:{team}-{c:04d}"
            count = 9 + (busy_extra if c == 0 else 0)
            people = [
                viewer,
                *(users[1 + (c + k) % (USERS_PER_TEAM - 1)] for k in range(MEMBERS_PER_CHANNEL - 1)),
            ]
            for m in range(count):
                clock += timedelta(milliseconds=100)
                messages.append(
                    Message(
                        id=f"{team}-{c:04d}-{m:05d}",
                        channel_id=cid,
                        user=people[m % len(people)],
                        text=f"message {m} of channel {c}",
                        created_at=clock,
                        updated_at=clock,
                    )
                )
            channels.append(
                Channel(
                    cid=cid,
                    type="messaging",
                    channel_id=f"{team}-{c:04d}",
                    team=team,
                    custom={"name": f"Channel {c}"},
                    member_count=len(people),
                    message_count=count,
                    last_message_at=clock,
                    created_at=start,
                    updated_at=start,
                )
            )
            members += [
                Member(
                    channel_id=cid,
                    user=user,
                    last_read=start,
                    unread_messages=count,
                    created_at=start,
                    updated_at=start,
                )
                for user in people
            ]
        # One channel every user of the team is in (the send path must not
        # cost more in it than in a small one).
        town = f"messaging:{team}-town"
        channels.append(
            Channel(
                cid=town,
                type="messaging",
                channel_id=f"{team}-town",
                team=team,
                custom={"name": "Town"},
                member_count=USERS_PER_TEAM,
                created_at=start,
                updated_at=start,
            )
        )
        members += [
            Member(channel_id=town, user=user, last_read=start, created_at=start, updated_at=start)
            for user in users
        ]
        Channel.objects.bulk_create(channels)
        Member.objects.bulk_create(members, batch_size=2000)
        Message.objects.bulk_create(messages, batch_size=2000)


def measure(name: str, call, repeat: int, explain: bool, sql: bool = False, setup=None) -> None:
    """Time ``call`` (after ``setup``, untimed, when given) and count its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    setup = setup or (lambda: None)
    setup()
    call()  # warm up
    times, cpu = [], []
    for _ in range(repeat):
        setup()
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    setup()
    with CaptureQueriesContext(connection) as queries:
        call()
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(
        f"{name:<48} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
        f"cpu {statistics.median(cpu):6.1f} ms  {len(queries):3d} queries"
    )
    if explain:
        slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        with connection.cursor() as cursor:
            cursor.execute(prefix + slowest["sql"])
            plan = "\n".join("      " + " ".join(str(c) for c in row) for row in cursor.fetchall())
        print(
            f"    slowest query ({float(slowest['time']) * 1000:.1f} ms): {slowest['sql'][:160]}...\n{plan}"
        )
    if sql:
        for query in queries.captured_queries:
            print(f"      {float(query['time']) * 1000:6.2f} ms  {query['sql'][:300]}")


def encoding(viewer, repeat: int) -> None:
    """The first page's body encoded as Django's JsonResponse does and with orjson."""
    import orjson
    from django.http import JsonResponse

    body = {
        "filter_conditions": {"type": "messaging", "members": {"$in": ["acme-u000"]}},
        "limit": 30,
        "message_limit": 25,
    }
    data = viewer.call("POST", "channels", body).json()
    timings = {}
    for name, encode in (
        ("django JsonResponse", lambda: JsonResponse(data).content),
        ("orjson", lambda: orjson.dumps(data)),
    ):
        started = time.perf_counter()
        for _ in range(repeat):
            encode()
        timings[name] = (time.perf_counter() - started) * 1000 / repeat
    size = len(orjson.dumps(data)) // 1024
    print(
        f"{'encode that page (' + str(size) + ' KiB)':<48} django {timings['django JsonResponse']:6.2f} ms  "
        f"orjson {timings['orjson']:6.2f} ms  ratio {timings['django JsonResponse'] / timings['orjson']:.1f}x"
    )


def main() -> None:
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--sql", action="store_true", help="print every statement of each call")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fresh_database(Path(tmp)) as database_url:
        migrate(database_url)
        os.environ.update(server_env(database_url, ALLOWED_HOSTS="testserver", LOG_LEVEL="ERROR"))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
        import django

        django.setup()
        from django.db import connection

        from chatengine.tests.factories import StreamClient

        started = time.perf_counter()
        seed()
        print(
            f"seeded {len(TEAMS)} teams x ({CHANNELS_PER_TEAM} channels, {MESSAGES_PER_TEAM} messages) "
            f"in {time.perf_counter() - started:.1f} s on {connection.vendor}"
        )
        viewer = StreamClient("acme-u000")
        server = StreamClient()

        def query_channels(offset: int) -> None:
            body = {
                "filter_conditions": {"type": "messaging", "members": {"$in": ["acme-u000"]}},
                "sort": [{"field": "last_message_at", "direction": -1}],
                "limit": 30,
                "offset": offset,
                "message_limit": 25,
                "state": True,
                "watch": False,
            }
            response = viewer.call("POST", "channels", body)
            assert response.status_code == 201 and len(response.json()["channels"]) == 30, response.content

        def watch_busy() -> None:
            response = viewer.call(
                "POST", "channels/messaging/acme-0000/query", {"state": True, "watch": False}
            )
            assert len(response.json()["messages"]) == 100

        pivots = [f"acme-0000-{n:05d}" for n in (1000, 600, 200)]

        def page_back() -> None:
            for pivot in pivots:
                body = {"state": True, "messages": {"limit": 100, "id_lt": pivot}}
                response = viewer.call("POST", "channels/messaging/acme-0000/query", body)
                assert len(response.json()["messages"]) == 100

        def server_query() -> None:
            body = {
                "filter_conditions": {"team": "acme"},
                "sort": [{"field": "created_at", "direction": 1}],
                "limit": 30,
            }
            assert len(server.call("POST", "channels", body).json()["channels"]) == 30

        def members() -> None:
            payload = json.dumps({"type": "messaging", "id": "acme-0000", "filter_conditions": {}})
            assert (
                len(viewer.call("GET", "members", payload=payload).json()["members"]) == MEMBERS_PER_CHANNEL
            )

        measure(
            "queryChannels, viewer, first page (30 x 25)",
            lambda: query_channels(0),
            args.repeat,
            args.explain,
        )
        measure("queryChannels, viewer, offset 270", lambda: query_channels(270), args.repeat, args.explain)
        encoding(viewer, args.repeat)
        measure("watch busy channel (100 messages)", watch_busy, args.repeat, args.explain)
        measure("page busy channel back, 3 x id_lt (100 each)", page_back, args.repeat, args.explain)
        measure("queryChannels, server, team filter", server_query, args.repeat, args.explain)
        measure("query members of busy channel", members, args.repeat, args.explain)

        def send(channel_id: str):
            def call() -> None:
                body = {"message": {"text": "hello"}}
                response = viewer.call("POST", f"channels/messaging/{channel_id}/message", body)
                assert response.status_code == 201, response.content

            return call

        measure("send, client, channel of 5 members", send("acme-0001"), args.repeat, args.explain, args.sql)
        measure(
            "send, client, channel of 100 members", send("acme-town"), args.repeat, args.explain, args.sql
        )

        from chatengine.consumers import _open
        from chatengine.tests.factories import token

        handshake_query = {"api_key": os.environ["STREAM_API_KEY"], "authorization": token("acme-u000")}
        opened: list[str] = []

        def handshake() -> None:
            connection_id, _, me = _open.func(handshake_query, f"bench.{len(opened)}")
            opened.append(connection_id)
            assert me["id"] == "acme-u000"

        measure("handshake (auth, connection, me)", handshake, args.repeat, args.explain, args.sql)

        def offline() -> None:
            from chatengine.models import Connection

            Connection.objects.filter(user_id="acme-u000").delete()

        # What each client of a reconnect storm does: its user comes online
        # (and the sockets that watch its channels with presence hear of it).
        measure(
            "handshake, coming online (first socket)", handshake, args.repeat, args.explain, args.sql, offline
        )

        def fresh_socket() -> None:
            offline()
            handshake()

        def watch(limit: int):
            def call() -> None:
                body = {
                    "filter_conditions": {"type": "messaging", "members": {"$in": ["acme-u000"]}},
                    "sort": [{"field": "last_message_at", "direction": -1}],
                    "limit": limit,
                    "message_limit": 25,
                    "state": True,
                    "watch": True,
                    "presence": True,
                }
                response = viewer.call("POST", "channels", body, connection_id=opened[-1])
                assert len(response.json()["channels"]) == limit, response.content

            return call

        def watch_one() -> None:
            # What each client of a reconnect storm does after its handshake:
            # channel.watch() of its channel, presence included.
            body = {"state": True, "watch": True, "presence": True, "messages": {"limit": 25}}
            response = viewer.call(
                "POST", "channels/messaging/acme-0002/query", body, connection_id=opened[-1]
            )
            assert len(response.json()["messages"]) == 9, response.content

        measure(
            "watch one channel, fresh socket (25 messages)",
            watch_one,
            args.repeat,
            args.explain,
            args.sql,
            setup=fresh_socket,
        )
        for limit in (10, 30):
            measure(
                f"queryChannels watch, fresh socket, {limit} channels",
                watch(limit),
                args.repeat,
                args.explain,
                args.sql,
                setup=fresh_socket,
            )
        connection.close()


if __name__ == "__main__":
    main()
