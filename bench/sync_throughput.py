"""Sync worker throughput: users per second from the outbox to a local chat service.

    .venv/bin/python bench/sync_throughput.py [--users 5000] [--target fake|engine]

Runs on a fresh database (SQLite file by default; DATABASE_URL for PostgreSQL),
loads N users into one tenant with a channel holding all of them, and times the
worker draining the outbox: once with the real batching (100 users per upsert,
100 members per call) and once with batches of one, to show what batching buys.
`--target fake` uses the Stream-shaped test server (no chat semantics, pure
protocol cost); `--target engine` starts the built-in chat engine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--target", choices=["fake", "engine"], default="fake")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    os.environ["LOG_LEVEL"] = "WARNING"

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    server = None
    if args.target == "fake":
        from streamsync.tests.fake_stream import FakeStream

        fake = FakeStream(settings.STREAM_API_KEY, settings.STREAM_API_SECRET, validate=False).start()
        settings.STREAM_BASE_URL = fake.base_url
        describe = "Stream-shaped test server"
    else:
        from chatplatform.tests.servers import free_port, wait_for

        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "chatplatform.asgi:application",
            ],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"http://127.0.0.1:{port}/api/health")
        settings.STREAM_BASE_URL = ""
        settings.CHATENGINE_URL = f"http://127.0.0.1:{port}/chat-api"
        describe = "built-in chat engine (daphne, same machine)"

    try:
        print(f"target: {describe}; database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
        print(f"{'batch':>6} {'users':>7} {'rows':>6} {'seconds':>8} {'users/s':>9} {'calls':>6}")
        for chunk in (100, 1):
            run(args.users if chunk == 100 else min(args.users, 1000), chunk)
    finally:
        if server is not None:
            server.terminate()


def run(users: int, chunk: int) -> None:
    import requests

    from accounts.models import User
    from channels_app.services import channel_create
    from streamsync import batch as batch_module
    from streamsync import worker as worker_module
    from streamsync.client import get_client
    from streamsync.models import OutboxEntry, SyncState
    from streamsync.setup import stream_setup
    from tenants.services import tenant_create

    stream_setup(get_client())
    slug = f"bench-{chunk}-{int(time.time())}"
    tenant = tenant_create(name=slug, slug=slug)
    people = User.objects.bulk_create(
        User(tenant=tenant, email=f"u{i}@{slug}.test", full_name=f"User {i}", password="!")
        for i in range(users)
    )
    from streamsync.models import EntityType
    from streamsync.outbox import enqueue

    enqueue(EntityType.USER, [u.pk for u in people], tenant_id=tenant.pk)
    channel_create(tenant=tenant, name="Everyone", member_ids=[u.pk for u in people])
    rows = OutboxEntry.objects.count()

    calls = 0
    original = requests.Session.request

    def counting(self, *a, **kw):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return original(self, *a, **kw)

    requests.Session.request = counting  # type: ignore[method-assign]
    batch_module.CHUNK = chunk
    try:
        started = time.perf_counter()
        worker_module.SyncWorker(worker_id="bench").drain()
        elapsed = time.perf_counter() - started
    finally:
        requests.Session.request = original  # type: ignore[method-assign]
        batch_module.CHUNK = 100
    assert not OutboxEntry.objects.exists(), "the outbox did not drain"
    synced = SyncState.objects.filter(tenant_id=tenant.pk, entity_type="user").exclude(
        entity_id__startswith="system-"
    )
    assert synced.count() == users
    print(f"{chunk:>6} {users:>7} {rows:>6} {elapsed:>8.2f} {users / elapsed:>9.0f} {calls:>6}")


if __name__ == "__main__":
    main()
