from __future__ import annotations

import time
import uuid

import pytest

from accounts.models import User
from channels_app.models import Channel
from streamsync import mapping
from streamsync.models import OutboxEntry, OutboxStatus
from streamsync.tests.fake_stream import FakeStream
from streamsync.worker import SyncWorker


@pytest.fixture
def fake_stream(settings):
    fake = FakeStream(settings.STREAM_API_KEY, settings.STREAM_API_SECRET).start()
    settings.STREAM_BASE_URL = fake.base_url
    settings.STREAM_TIMEOUT = 1.0
    settings.STREAM_SYNC_BACKOFF_BASE = 0.01
    settings.STREAM_SYNC_BACKOFF_CAP = 0.05
    yield fake
    fake.stop()


def drain(worker: SyncWorker | None = None, timeout: float = 20.0) -> SyncWorker:
    """Run the worker until nothing is waiting (retries included) or time runs out."""
    worker = worker or SyncWorker(worker_id=f"test-{uuid.uuid4().hex[:6]}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.drain()
        if not OutboxEntry.objects.exclude(status=OutboxStatus.DEAD).exists():
            return worker
        time.sleep(0.02)
    left = list(OutboxEntry.objects.values_list("entity_type", "entity_id", "status", "last_error"))
    raise AssertionError(f"outbox not drained: {left}")


def expected_state() -> dict:
    """What the chat service should hold, projected from the database."""
    users = {}
    for user in User.objects.filter(tenant__isnull=False).select_related("tenant"):
        payload = mapping.user_payload(user)
        users[payload["id"]] = {
            "name": payload["name"],
            "role": "user",
            "teams": payload["teams"],
            "teams_role": payload["teams_role"],
            "deactivated": not (user.is_active and user.tenant.is_active),
        }
    channels = {}
    for channel in Channel.objects.select_related("tenant"):
        data = mapping.channel_data(channel)
        channels[channel.cid] = {
            **{k: data.get(k) for k in ("team", "name", "slug", "description", "visibility", "kind")},
            "members": mapping.channel_members(channel),
        }
    return {"users": users, "channels": channels}


def chat_state(fake: FakeStream) -> dict:
    """The fake's state without the per-team system users."""
    state = fake.snapshot()
    state["users"] = {uid: u for uid, u in state["users"].items() if not uid.startswith("system-")}
    return state
