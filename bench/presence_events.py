"""How many presence and watching events connecting users cause in the
built-in chat engine.

``--users`` users (default 1,000) connect one after another, each opening one
socket and watching all of its channels, as a client does after its
handshake. Two layouts: every user in one of ``--channels`` channels (50
channels of 20, the load scenario), and every user in ``--per-user`` of them
(5: 50 channels of 100, people who share several channels). Each layout runs
with the watches asking for presence (``presence: true``, what the web client
sends) and without (the SDK's default). The sockets are the engine's own hub
with in-memory sockets that count the frames pushed to them, no network: the
counts are exact, not sampled.

    .venv/bin/python bench/presence_events.py [--users 1000] [--channels 50] [--engine DIR]

``--engine`` runs another checkout of the engine (e.g. an older commit,
``git archive <commit> | tar -x -C DIR``) for a before/after comparison.
Uses a fresh SQLite file, or a fresh PostgreSQL database when DATABASE_URL
names one. Prints a table and, with --json, the counts as JSON.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

KINDS = ("user.presence.changed", "user.watching.start")


class CountingSocket:
    """A hub socket that counts the frames it is handed, by event type."""

    def __init__(self, name: str, user_id: str, counts: Counter[str]) -> None:
        self.name, self.user_id, self.connection_id = name, user_id, ""
        self.counts = counts

    def push(self, text: str) -> None:
        self.counts[json.loads(text)["type"]] += 1

    def end(self, error: str, code: int) -> None:
        pass


def layout(users: int, channels: int, per_user: int) -> dict[str, list[int]]:
    """Channel id -> the indexes of its members: user i is in ``per_user``
    channels spread evenly over the ``channels``."""
    step = channels // per_user
    found: dict[str, list[int]] = {f"room-{c:03d}": [] for c in range(channels)}
    for user in range(users):
        for k in range(per_user):
            found[f"room-{(user + k * step) % channels:03d}"].append(user)
    return found


def seed(tag: str, users: int, rooms: dict[str, list[int]]) -> list[Any]:
    from django.utils import timezone

    from chatengine.models import Channel, ChatUser, Member, UserTeam

    now = timezone.now()
    people = [
        ChatUser(id=f"{tag}-u{i:04d}", teams=["acme"], created_at=now, updated_at=now) for i in range(users)
    ]
    ChatUser.objects.bulk_create(people)
    UserTeam.objects.bulk_create([UserTeam(user=user, team="acme") for user in people])
    Channel.objects.bulk_create(
        [
            Channel(
                cid=f"messaging:{tag}-{name}",
                type="messaging",
                channel_id=f"{tag}-{name}",
                team="acme",
                member_count=len(members),
                created_at=now,
                updated_at=now,
            )
            for name, members in rooms.items()
        ]
    )
    Member.objects.bulk_create(
        [
            Member(
                channel_id=f"messaging:{tag}-{name}",
                user=people[i],
                last_read=now,
                created_at=now,
                updated_at=now,
            )
            for name, members in rooms.items()
            for i in members
        ],
        batch_size=2000,
    )
    return people


def run_case(tag: str, users: int, rooms: dict[str, list[int]], presence: bool) -> dict[str, Any]:
    """Connect and watch every user of a fresh copy of ``rooms``; the frames of each kind."""
    import asyncio

    from chatengine import hub
    from chatengine.models import Channel
    from chatengine.services import connections

    people = seed(tag, users, rooms)
    channels_of: dict[str, list[Any]] = {}
    for channel in Channel.objects.filter(cid__startswith=f"messaging:{tag}-"):
        for i in rooms[channel.channel_id.removeprefix(f"{tag}-")]:
            channels_of.setdefault(people[i].id, []).append(channel)
    takes_presence = "presence" in inspect.signature(connections.channels_watch).parameters

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    the_hub = hub.Hub(loop)
    hub._hubs[loop] = the_hub

    def on_loop(apply: Any) -> None:
        done = threading.Event()
        loop.call_soon_threadsafe(lambda: (apply(), done.set()))
        done.wait(30)

    counts: Counter[str] = Counter()
    started = time.perf_counter()
    opened: list[str] = []
    try:
        for index, user in enumerate(people):
            if index % 100 == 0:
                # The sockets ping (a slow run must not let the first ones go stale).
                connections.connections_seen(connection_ids=opened)
            socket = CountingSocket(the_hub.new_name(), user.id, counts)
            on_loop(lambda socket=socket: the_hub.add(socket))
            connection = connections.connection_open(user=user, channel_name=socket.name)
            socket.connection_id = connection.id
            opened.append(connection.id)
            extra = {"presence": presence} if takes_presence else {}
            connections.channels_watch(connection=connection, channels=channels_of[user.id], **extra)
        on_loop(lambda: None)  # everything published so far is applied
    finally:
        del hub._hubs[loop]
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    return {
        "presence_requested": presence,
        **{kind: counts[kind] for kind in KINDS},
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--per-user", type=int, default=5, help="channels per user in the overlapping layout")
    parser.add_argument("--engine", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(args.engine.resolve()))
    os.chdir(args.engine)

    from chatengine.tests.live import fresh_database, migrate, server_env

    results = []
    with tempfile.TemporaryDirectory() as tmp, fresh_database(Path(tmp)) as database_url:
        migrate(database_url)
        os.environ.update(server_env(database_url, LOG_LEVEL="ERROR"))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
        import django

        django.setup()
        from chatengine.models import App

        App.objects.update_or_create(pk=1, defaults={"multi_tenant_enabled": False})
        for per_user in dict.fromkeys((1, args.per_user)):
            rooms = layout(args.users, args.channels, per_user)
            for presence in (True, False):
                tag = f"l{per_user}{'p' if presence else 'n'}"
                result = run_case(tag, args.users, rooms, presence)
                result["layout"] = f"{args.users} users x {per_user} of {args.channels} channels"
                results.append(result)

    print(f"engine: {args.engine}")
    print(f"| layout | presence: true | {' | '.join(KINDS)} | seconds |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['layout']} | {r['presence_requested']} | "
            f"{' | '.join(f'{r[kind]:,}' for kind in KINDS)} | {r['seconds']} |"
        )
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
