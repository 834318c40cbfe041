"""Faults on the way to the chat service: rate limits, server errors, timeouts,
dropped connections, poison records and a worker killed mid-batch. After the
faults stop and the worker drains, the service holds exactly what the database
says, with nothing lost or duplicated, and only poison records are dead."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.services import user_create
from channels_app.services import channel_create
from chatplatform.tests.servers import ROOT, python
from streamsync.models import OutboxEntry, OutboxStatus
from streamsync.tests.conftest import chat_state, drain, expected_state
from streamsync.tests.fake_stream import Fault
from streamsync.worker import SyncWorker
from tenants.services import tenant_create

pytestmark = pytest.mark.django_db


def _populate(people: int = 20):
    tenant = tenant_create(name="Acme", slug="acme")
    admin = user_create(tenant=tenant, email="admin@acme.test", role="admin")
    users = [user_create(tenant=tenant, email=f"u{i}@acme.test", full_name=f"U {i}") for i in range(people)]
    channel = channel_create(
        tenant=tenant, name="General", created_by=admin, member_ids=[u.pk for u in users]
    )
    return tenant, admin, users, channel


def test_rate_limit_waits_for_the_reset_time(fake_stream):
    _populate()
    reset = time.time() + 1.0
    fake_stream.faults.append(Fault("status", 429, headers={"X-RateLimit-Reset": str(int(reset) + 1)}))
    worker = SyncWorker()
    worker.run_once()
    row = OutboxEntry.objects.filter(status=OutboxStatus.PENDING).order_by("next_attempt_at").first()
    assert row.attempts == 1 and "429" in row.last_error
    assert row.next_attempt_at.timestamp() >= int(reset) + 1
    assert worker.paused_until >= int(reset) + 1
    started = time.time()
    drain(worker)
    assert time.time() >= int(reset) + 1 - 0.05  # nothing was sent before the reset
    assert chat_state(fake_stream) == expected_state()
    assert time.time() - started < 5


def test_rate_limit_without_reset_header_backs_off(fake_stream):
    _populate(people=2)
    fake_stream.faults.append(Fault("status", 429))
    drain()
    assert chat_state(fake_stream) == expected_state()


def test_server_errors_are_retried_with_backoff(fake_stream, settings):
    settings.STREAM_SYNC_BACKOFF_BASE = 10.0
    settings.STREAM_SYNC_BACKOFF_CAP = 300.0
    _populate(people=3)
    for _ in range(3):
        fake_stream.faults.append(Fault("status", 503))
    worker = SyncWorker()
    failed_at = timezone.now()
    worker.run_once()
    rows = list(OutboxEntry.objects.all())
    assert rows and all(r.status == OutboxStatus.PENDING and r.attempts == 1 for r in rows)
    assert all("503" in r.last_error for r in rows)
    # First retry after 5 to 10 s (10 s base, jittered down to half at most).
    assert all(timedelta(seconds=5) <= r.next_attempt_at - failed_at <= timedelta(seconds=11) for r in rows)
    settings.STREAM_SYNC_BACKOFF_BASE = 0.01
    OutboxEntry.objects.update(next_attempt_at=timezone.now())  # skip the wait
    drain(worker)
    assert chat_state(fake_stream) == expected_state()
    assert not OutboxEntry.objects.exists()


def test_backoff_grows_and_is_capped(settings):
    from streamsync.failures import backoff

    settings.STREAM_SYNC_BACKOFF_BASE = 1.0
    settings.STREAM_SYNC_BACKOFF_CAP = 300.0
    assert timedelta(seconds=0.5) <= backoff(0) <= timedelta(seconds=1)
    assert timedelta(seconds=4) <= backoff(3) <= timedelta(seconds=8)
    assert backoff(30) <= timedelta(seconds=300)


def test_timeouts_are_retried_without_duplicating_effects(fake_stream):
    _populate(people=5)
    # The service applies the request but answers too late: the retry must be harmless.
    fake_stream.faults.append(Fault("delay", seconds=1.5, route="/query"))
    fake_stream.faults.append(Fault("delay", seconds=1.5, route="POST /users"))
    drain()
    assert chat_state(fake_stream) == expected_state()
    assert len(fake_stream.channels) == 1


def test_dropped_connections_are_retried(fake_stream):
    _populate(people=5)
    for route in ("POST /users", "/query", "POST /channels/"):
        fake_stream.faults.append(Fault("drop", route=route))
    drain()
    assert chat_state(fake_stream) == expected_state()


def test_a_poison_user_is_bisected_out_and_only_it_is_dead(fake_stream):
    tenant = tenant_create(name="Acme", slug="acme")
    users = [user_create(tenant=tenant, email=f"u{i}@acme.test") for i in range(100)]
    poison = users[37]
    fake_stream.poison_users.add(poison.chat_user_id)
    drain()
    dead = list(OutboxEntry.objects.filter(status=OutboxStatus.DEAD))
    assert [(r.entity_type, r.entity_id) for r in dead] == [("user", str(poison.pk))]
    assert "HTTP 400" in dead[0].last_error
    synced = chat_state(fake_stream)["users"]
    assert len(synced) == 99 and poison.chat_user_id not in synced
    # Bisecting 100 users down to one costs about 2*log2(100) calls, not 100.
    assert fake_stream.calls["POST /users"] <= 16


def test_a_poison_member_dead_letters_only_its_channel_row(fake_stream):
    tenant, admin, users, channel = _populate(people=10)
    other = channel_create(tenant=tenant, name="Other", created_by=admin, member_ids=[users[0].pk])
    drain()
    bad = user_create(tenant=tenant, email="bad@acme.test")
    fake_stream.poison_users.add(bad.chat_user_id)
    from channels_app.services import channel_members_add

    channel_members_add(channel=channel, user_ids=[bad.pk, users[1].pk])
    channel_members_add(channel=other, user_ids=[users[2].pk])
    drain()
    dead = list(OutboxEntry.objects.filter(status=OutboxStatus.DEAD).values_list("entity_type", "entity_id"))
    assert sorted(dead) == sorted([("user", str(bad.pk)), ("channel_members", str(channel.pk))])
    assert users[2].chat_user_id in fake_stream.channels[other.cid]["members"]


def test_dead_rows_are_retried_from_the_admin_action_once_fixed(fake_stream):
    from streamsync.outbox import retry_now

    tenant = tenant_create(name="Acme", slug="acme")
    user = user_create(tenant=tenant, email="u@acme.test")
    fake_stream.poison_users.add(user.chat_user_id)
    drain()
    assert OutboxEntry.objects.get().status == OutboxStatus.DEAD
    fake_stream.poison_users.clear()
    assert retry_now(OutboxEntry.objects.all()) == 1
    drain()
    assert not OutboxEntry.objects.exists()
    assert user.chat_user_id in fake_stream.users


class Crash(BaseException):
    """Stands for the process dying: nothing in the worker catches it."""


def test_a_worker_dying_mid_batch_loses_nothing(fake_stream, settings):
    _tenant, _admin, _users, _channel = _populate(people=150)
    from streamsync.client import get_client

    calls = 0

    def dying_client():
        client = get_client()
        original = client.upsert_users

        def upsert(batch):
            nonlocal calls
            calls += 1
            if calls == 2:  # the first hundred reached the service; then the process dies
                raise Crash
            return original(batch)

        client.upsert_users = upsert
        return client

    with pytest.raises(Crash):
        SyncWorker(client_factory=dying_client, lease=timedelta(seconds=0.3)).run_once()
    assert OutboxEntry.objects.filter(status=OutboxStatus.CLAIMED).exists()
    assert 0 < len(fake_stream.users) < 151
    time.sleep(0.4)  # the dead worker's lease runs out
    drain(SyncWorker())
    assert chat_state(fake_stream) == expected_state()
    assert len(fake_stream.channels) == 1
    assert not OutboxEntry.objects.filter(status=OutboxStatus.DEAD).exists()


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_mid_batch_loses_nothing(fake_stream, settings):
    """The real thing: SIGKILL a `manage.py stream_sync` process halfway through."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database a second process can share (PostgreSQL)")
    _tenant, _admin, _users, _channel = _populate(people=250)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "STREAM_BASE_URL": fake_stream.base_url,
        "STREAM_API_KEY": settings.STREAM_API_KEY,
        "STREAM_API_SECRET": settings.STREAM_API_SECRET,
        "STREAM_SYNC_LEASE_SECONDS": "1",
        "STREAM_SYNC_BACKOFF_BASE": "0.01",
        "STREAM_SYNC_BACKOFF_CAP": "0.05",
    }
    # Slow the second upsert down so the kill lands in the middle of the batch.
    fake_stream.faults.append(Fault("delay", seconds=0.0, route="POST /users"))
    fake_stream.faults.append(Fault("delay", seconds=30.0, route="POST /users"))
    worker = subprocess.Popen([python(), "manage.py", "stream_sync"], cwd=ROOT, env=env)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while fake_stream.calls["POST /users"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake_stream.calls["POST /users"] >= 2, "the worker never reached the second batch of users"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert OutboxEntry.objects.filter(status=OutboxStatus.CLAIMED).exists()
    time.sleep(1.1)  # the lease of the killed worker runs out
    result = subprocess.run(  # noqa: S603
        [python(), "manage.py", "stream_sync", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert chat_state(fake_stream) == expected_state()
    assert not OutboxEntry.objects.exists()
