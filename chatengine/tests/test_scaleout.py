"""Several server processes serve one engine: they share the database and, via
Redis, the channel layer. A socket on one process receives what a request
served by another process causes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from stream_chat import StreamChat

from chatengine.tests.live import LiveEngine, fresh_database, migrate, serve
from chatengine.tests.test_fanout import assert_complete_and_ordered, burst
from chatengine.tests.wsclient import next_event, open_socket, user_token

pytestmark = [pytest.mark.slow, pytest.mark.redis]

# The run's own Redis database (the redis marker's TEST_REDIS_URL): groups are
# named after ids unique to each test, and the cache has a prefix per process.
REDIS_URL = os.environ["TEST_REDIS_URL"]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveEngine, LiveEngine]]:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running")
    tmp: Path = tmp_path_factory.mktemp("scaleout")
    env = {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": f"chatengine-test-{os.getpid()}"}
    with fresh_database(tmp) as database_url:
        migrate(database_url)
        with (
            serve(database_url, tmp / "spec.log", **env) as first,
            serve(database_url, tmp / "spec.log", **env) as second,
        ):
            yield first, second
            violations, checked = first.spec_violations(), first.spec_checked()
    assert checked and violations == [], violations


def test_an_event_crosses_server_processes(two_processes: tuple[LiveEngine, LiveEngine]) -> None:
    first, second = two_processes
    server = StreamChat(first.api_key, first.api_secret, base_url=first.base_url)
    author, reader = f"author-{uuid.uuid4().hex[:6]}", f"reader-{uuid.uuid4().hex[:6]}"
    server.upsert_users([{"id": author, "teams": ["acme"]}, {"id": reader, "teams": ["acme"]}])
    channel = server.channel("messaging", f"acme-{uuid.uuid4().hex[:8]}", {"team": "acme"})
    channel.create(author)
    channel.add_members([author, reader])

    async def scenario() -> dict:
        ws, handshake = await open_socket(second, reader)  # the socket lives on the second process
        try:
            assert handshake["type"] == "health.check" and handshake["me"]["id"] == reader
            # ... and the first process subscribes it to the channel, then posts to it.
            watch = await asyncio.to_thread(
                requests.post,
                f"{first.base_url}/channels/messaging/{channel.id}/query",
                params={"api_key": first.api_key, "connection_id": handshake["connection_id"]},
                json={"state": True, "watch": True},
                headers={"Authorization": user_token(first, reader), "stream-auth-type": "jwt"},
                timeout=10,
            )
            assert watch.status_code == 201, watch.text
            await asyncio.to_thread(channel.send_message, {"text": "across processes"}, author)
            return await next_event(ws, "message.new")
        finally:
            await ws.close()

    event = asyncio.run(scenario())
    assert event["message"]["text"] == "across processes"
    assert event["total_unread_count"] == 1, "the reader's own unread count travels with the event"


def test_a_demotion_served_by_one_process_ends_a_watch_held_on_another(
    two_processes: tuple[LiveEngine, LiveEngine],
) -> None:
    first, second = two_processes
    server = StreamChat(first.api_key, first.api_secret, base_url=first.base_url)
    server.update_app_settings(multi_tenant_enabled=True)
    # Any team role that reads channels it is not a member of will do: admin.
    mod, cat = f"mod-{uuid.uuid4().hex[:6]}", f"cat-{uuid.uuid4().hex[:6]}"
    server.upsert_users(
        [
            {"id": mod, "teams": ["acme"], "teams_role": {"acme": "admin"}},
            {"id": cat, "teams": ["acme"], "teams_role": {"acme": "user"}},
        ]
    )
    channel = server.channel("messaging", f"acme-{uuid.uuid4().hex[:8]}", {"team": "acme"})
    channel.create(cat)
    channel.add_members([cat])

    async def watch(engine: LiveEngine, user_id: str):
        ws, handshake = await open_socket(engine, user_id)
        response = await asyncio.to_thread(
            requests.post,
            f"{engine.base_url}/channels/messaging/{channel.id}/query",
            params={"api_key": engine.api_key, "connection_id": handshake["connection_id"]},
            json={"state": True, "watch": True},
            headers={"Authorization": user_token(engine, user_id), "stream-auth-type": "jwt"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return ws

    async def scenario() -> list[str]:
        mod_ws, cat_ws = await watch(second, mod), await watch(first, cat)
        other = StreamChat(second.api_key, second.api_secret, base_url=second.base_url)
        send = other.channel("messaging", channel.id).send_message
        try:
            await asyncio.to_thread(send, {"text": "before"}, cat)
            assert (await next_event(mod_ws, "message.new"))["message"]["text"] == "before"
            await next_event(cat_ws, "message.new")
            # The first process demotes; the second holds the socket and sends.
            await asyncio.to_thread(
                server.upsert_user, {"id": mod, "teams": ["acme"], "teams_role": {"acme": "user"}}
            )
            await asyncio.to_thread(send, {"text": "after"}, cat)
            assert (await next_event(cat_ws, "message.new"))["message"]["text"] == "after"
            heard = []
            with contextlib.suppress(TimeoutError):
                heard.append((await next_event(mod_ws, "message.new", timeout=1.5))["message"]["text"])
            return heard
        finally:
            await mod_ws.close()
            await cat_ws.close()

    assert asyncio.run(scenario()) == []


def test_a_burst_across_processes_reaches_every_watcher_complete_and_in_order(
    two_processes: tuple[LiveEngine, LiveEngine],
) -> None:
    # Watchers on both processes, senders posting through both: one order for all.
    heard = burst(list(two_processes), watchers=10, senders=4, per_sender=25)
    assert len(heard) == 10
    assert_complete_and_ordered(heard, senders=4, per_sender=25)


def test_a_grant_taken_away_by_one_process_applies_at_once_on_another(
    two_processes: tuple[LiveEngine, LiveEngine],
) -> None:
    """Each process keeps its own copy of the channel types for a moment
    (``chatengine.copies``); a change drops every process's copy, not only
    that of the process that made it."""
    first, second = two_processes
    server = StreamChat(first.api_key, first.api_secret, base_url=first.base_url)
    type_name = f"t{uuid.uuid4().hex[:8]}"
    server.create_channel_type({"name": type_name})
    author = f"author-{uuid.uuid4().hex[:6]}"
    server.upsert_user({"id": author, "teams": ["acme"]})  # (multi-tenancy may be on)
    channel = server.channel(type_name, f"c-{uuid.uuid4().hex[:8]}", {"team": "acme"})
    channel.create(author)
    channel.add_members([author])

    def send(text: str) -> requests.Response:
        return requests.post(
            f"{second.base_url}/channels/{type_name}/{channel.id}/message",
            params={"api_key": second.api_key},
            json={"message": {"text": text}},
            headers={"Authorization": user_token(second, author), "stream-auth-type": "jwt"},
            timeout=10,
        )

    async def scenario() -> tuple[requests.Response, requests.Response]:
        # A socket on the second process: its hub hears what other processes publish.
        ws, _ = await open_socket(second, author)
        try:
            allowed = await asyncio.to_thread(send, "before")  # the second process reads the type
            await asyncio.to_thread(
                server.update_channel_type, type_name, grants={"channel_member": ["read-channel"]}
            )
            return allowed, await asyncio.to_thread(send, "after")
        finally:
            await ws.close()

    allowed, refused = asyncio.run(scenario())
    assert allowed.status_code == 201, allowed.text
    assert refused.status_code == 403 and refused.json()["code"] == 17, refused.text
