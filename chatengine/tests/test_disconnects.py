"""A user who is deactivated or deleted, or whose tokens are revoked, stops
hearing events at once: its open sockets get ``connection.error`` and close
(a suspended tenant's people must not keep reading along)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import websockets
from stream_chat import StreamChat

from chatengine.tests.live import LiveEngine
from chatengine.tests.wsclient import next_event, open_socket

pytestmark = pytest.mark.slow


def _closed_after(live_engine: LiveEngine, act: Callable[[StreamChat, str], object]) -> tuple[dict, int]:
    server = StreamChat(live_engine.api_key, live_engine.api_secret, base_url=live_engine.base_url)
    user_id = f"leaver-{uuid.uuid4().hex[:6]}"
    server.upsert_user({"id": user_id, "teams": ["acme"]})

    async def scenario() -> tuple[dict, int]:
        ws, handshake = await open_socket(live_engine, user_id)
        assert handshake["type"] == "health.check"
        try:
            await asyncio.to_thread(act, server, user_id)
            error = await next_event(ws, "connection.error")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            return error, closed.value.rcvd.code if closed.value.rcvd else -1
        finally:
            await ws.close()

    return asyncio.run(scenario())


def test_deactivation_closes_the_users_sockets(live_engine: LiveEngine) -> None:
    error, code = _closed_after(live_engine, lambda server, user_id: server.deactivate_user(user_id))
    assert (error["error"]["code"], code) == (5, 1000)
    assert "deactivated" in error["error"]["message"]


def test_deletion_closes_the_users_sockets(live_engine: LiveEngine) -> None:
    error, _ = _closed_after(live_engine, lambda server, user_id: server.delete_users([user_id], "hard"))
    assert "deleted" in error["error"]["message"]


def test_revoking_a_users_tokens_closes_its_sockets(live_engine: LiveEngine) -> None:
    def revoke(server: StreamChat, user_id: str) -> None:
        time.sleep(1.1)  # the cutoff must come after the token's iat (whole seconds)
        server.revoke_user_token(user_id, datetime.now(UTC))

    error, _ = _closed_after(live_engine, revoke)
    assert error["error"]["code"] == 40
