"""Nothing lost: a burst of messages in one channel reaches every watcher,
each sender's messages in the order it sent them and all watchers in the same
order (the order the engine committed them); past its delivery ceiling the
engine refuses sends with Stream's 429 instead of dropping events, and a
socket that falls behind is closed to re-sync rather than left with a gap."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.conf import settings
from django.core.asgi import get_asgi_application
from stream_chat import StreamChat

from chatengine import consumers, hub
from chatengine.asgi import EngineHTTP
from chatengine.consumers import ChatConsumer
from chatengine.tests.factories import token
from chatengine.tests.live import LiveEngine
from chatengine.tests.wsclient import open_socket, user_token

WATCHERS = 20
SENDERS = 4
MESSAGES_PER_SENDER = 40


def burst(engines: list[LiveEngine], *, watchers: int, senders: int, per_sender: int) -> list[list[str]]:
    """Watchers spread over ``engines`` (server processes) watch one channel
    while ``senders`` threads post ``per_sender`` messages each, through the
    engines in turn; returns the texts of ``message.new`` each watcher heard."""
    first = engines[0]
    server = StreamChat(first.api_key, first.api_secret, base_url=first.base_url)
    tag = uuid.uuid4().hex[:6]
    readers = [f"r{i}-{tag}" for i in range(watchers)]
    authors = [f"a{i}-{tag}" for i in range(senders)]
    server.upsert_users([{"id": user_id, "teams": ["acme"]} for user_id in readers + authors])
    channel = server.channel("messaging", f"burst-{tag}", {"team": "acme"})
    channel.create(authors[0])
    channel.add_members(readers + authors)
    expected = senders * per_sender

    def send_all(index: int) -> None:
        engine = engines[index % len(engines)]
        client = StreamChat(engine.api_key, engine.api_secret, base_url=engine.base_url)
        target = client.channel("messaging", channel.id)
        for n in range(per_sender):
            target.send_message({"text": f"{index}:{n}"}, authors[index])

    async def watch(index: int) -> tuple[Any, str]:
        engine = engines[index % len(engines)]
        ws, handshake = await open_socket(engine, readers[index])
        response = await asyncio.to_thread(
            requests.post,
            f"{engine.base_url}/channels/messaging/{channel.id}/query",
            params={"api_key": engine.api_key, "connection_id": handshake["connection_id"]},
            json={"state": True, "watch": True, "messages": {"limit": 1}},
            headers={"Authorization": user_token(engine, readers[index]), "stream-auth-type": "jwt"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return ws, readers[index]

    async def hear(ws: Any) -> list[str]:
        texts: list[str] = []
        async with asyncio.timeout(120):
            while len(texts) < expected:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "message.new":
                    texts.append(frame["message"]["text"])
        return texts

    async def scenario() -> list[list[str]]:
        sockets = await asyncio.gather(*(watch(i) for i in range(watchers)))
        try:
            listening = [asyncio.create_task(hear(ws)) for ws, _ in sockets]
            threads = [threading.Thread(target=send_all, args=(i,)) for i in range(senders)]
            for thread in threads:
                thread.start()
            await asyncio.to_thread(lambda: [thread.join() for thread in threads])
            return await asyncio.gather(*listening)
        finally:
            await asyncio.gather(*(ws.close() for ws, _ in sockets))

    return asyncio.run(scenario())


def assert_complete_and_ordered(heard: list[list[str]], *, senders: int, per_sender: int) -> None:
    reference = heard[0]
    assert sorted(reference) == sorted(f"{s}:{n}" for s in range(senders) for n in range(per_sender))
    for sender in range(senders):
        own = [text for text in reference if text.startswith(f"{sender}:")]
        assert own == [f"{sender}:{n}" for n in range(per_sender)], "a sender's messages arrive in order"
    for texts in heard[1:]:
        assert texts == reference, "every watcher hears the same messages in the same order"


@pytest.mark.slow
def test_a_burst_reaches_every_watcher_complete_and_in_order(live_engine: LiveEngine) -> None:
    heard = burst([live_engine], watchers=WATCHERS, senders=SENDERS, per_sender=MESSAGES_PER_SENDER)
    assert len(heard) == WATCHERS
    assert_complete_and_ordered(heard, senders=SENDERS, per_sender=MESSAGES_PER_SENDER)


async def _post_while_connected(path: str) -> tuple[int, dict[str, str], dict]:
    """Open a socket (so this process has a hub), then POST ``path`` through the
    engine's ASGI application; the status, headers and body of the answer."""
    query = {
        "json": json.dumps({"user_id": "ann", "user_details": {"id": "ann"}}),
        "api_key": settings.STREAM_API_KEY,
        "authorization": token("ann"),
        "stream-auth-type": "jwt",
    }
    socket = WebsocketCommunicator(ChatConsumer.as_asgi(), "/chat-api/connect?" + urlencode(query))
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=5))["type"] == "health.check"
    try:
        request = HttpCommunicator(
            EngineHTTP(get_asgi_application()),
            "POST",
            path,
            body=json.dumps({"message": {"text": "hi", "user_id": "ann"}}).encode(),
            headers=[
                (b"host", b"testserver"),
                (b"content-type", b"application/json"),
                (b"authorization", token().encode()),
            ],
        )
        response = await request.get_response(timeout=10)
    finally:
        await socket.disconnect()
    headers = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    return response["status"], headers, json.loads(response["body"] or b"{}")


@pytest.mark.django_db(transaction=True)
def test_a_send_past_the_delivery_backlog_is_refused_with_streams_429(settings) -> None:
    path = f"/chat-api/channels/messaging/general/message?api_key={settings.STREAM_API_KEY}"
    # At the ceiling (here: nothing may wait), a send is refused before it is written.
    settings.CHATENGINE_MAX_BACKLOG = 0
    status, headers, body = async_to_sync(_post_while_connected)(path)
    assert status == 429
    assert body["code"] == 9 and body["StatusCode"] == 429 and body["message"].startswith("Too many requests")
    assert headers["retry-after"] == "1" and headers["x-ratelimit-remaining"] == "0"
    assert int(headers["x-ratelimit-reset"]) >= int(time.time())
    # Below it, the same request reaches the engine (which answers it as usual).
    settings.CHATENGINE_MAX_BACKLOG = 20000
    status, _, body = async_to_sync(_post_while_connected)(path)
    assert status != 429, body


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_falls_behind_is_closed_to_resync_and_nothing_stays_counted(monkeypatch) -> None:
    """A client that stops reading is not left with a gap it does not know
    about: past the queue limit its frames are dropped and its socket closed
    with 1013 (try again), which makes the SDK reconnect and re-query."""
    monkeypatch.setattr(consumers, "SOCKET_QUEUE_LIMIT", 10)
    async_to_sync(_fall_behind)()


async def _fall_behind() -> None:
    gate = asyncio.Event()
    gate.set()
    inner = ChatConsumer.as_asgi()

    async def slow_client(scope: Any, receive: Any, send: Any) -> None:
        async def gated(message: Any) -> None:
            await gate.wait()  # a client that stopped reading: the write waits
            await send(message)

        await inner(scope, receive, gated)

    query = {
        "json": json.dumps({"user_id": "ann", "user_details": {"id": "ann"}}),
        "api_key": settings.STREAM_API_KEY,
        "authorization": token("ann"),
        "stream-auth-type": "jwt",
    }
    socket = WebsocketCommunicator(slow_client, "/chat-api/connect?" + urlencode(query))
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=5))["type"] == "health.check"
    (consumer,) = [s for h in hub._local_hubs() for s in h.sockets.values() if s.user_id == "ann"]
    gate.clear()
    for n in range(12):  # the first waits in the write; the rest fill the queue past its limit
        consumer.push(hub.dumps({"type": "test.event", "n": n}))
        await asyncio.sleep(0)
    gate.set()
    assert (await socket.receive_json_from(timeout=5))["n"] == 0  # the write that was under way
    closed = await socket.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": consumers.FELL_BEHIND_CODE}
    assert consumer.hub.queued == 0
    await socket.disconnect()
