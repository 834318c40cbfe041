"""A minimal WebSocket client speaking Stream's protocol, for tests that need a
socket without the JS SDK (several server processes, the standalone mode)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import websockets

from chatengine.tests.live import LiveEngine


def user_token(engine: LiveEngine, user_id: str) -> str:
    return jwt.encode({"user_id": user_id, "iat": int(time.time()) - 5}, engine.api_secret, algorithm="HS256")


def connect_url(engine: LiveEngine, user_id: str, token: str | None = None) -> str:
    query = urlencode(
        {
            "json": json.dumps(
                {"user_id": user_id, "user_details": {"id": user_id}, "client_request_id": "t"}
            ),
            "api_key": engine.api_key,
            "authorization": token or user_token(engine, user_id),
            "stream-auth-type": "jwt",
            "X-Stream-Client": "chatengine-tests",
        }
    )
    return engine.base_url.replace("http", "ws", 1) + "/connect?" + query


async def next_event(ws: Any, event_type: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame of ``event_type`` (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == event_type:
                return frame


async def open_socket(engine: LiveEngine, user_id: str) -> tuple[Any, dict[str, Any]]:
    """Connect as ``user_id``; return the socket and the handshake frame."""
    ws = await websockets.connect(connect_url(engine, user_id))
    handshake = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return ws, handshake
