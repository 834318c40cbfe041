"""The ``/connect`` WebSocket, as Stream's client SDKs speak it.

Handshake: the SDK sends its API key, JWT and a JSON payload in the query
string; the first frame back is ``health.check`` carrying ``connection_id`` and
``me``, or ``connection.error`` followed by a close with code 1000 (any other
code makes the client retry forever). Then the client pings every 25 s with a
``health.check`` frame, which is answered in kind (once per frame), and events
arrive from the process's hub (``chatengine.hub``), each completed with the
recipient's own fields.

A socket costs no channel-layer inbox and no database round trip per ping:
the hub keeps its last ping and writes those of all its sockets in one UPDATE
every few seconds. The database work of handshakes and closes runs on a small
pool of threads of its own (``CHATENGINE_DB_THREADS``), not on the one thread
every socket's sync work would otherwise queue behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from chatengine import auth, hub
from chatengine.errors import Code, StreamError, database_busy
from chatengine.models import ChatUser
from chatengine.selectors import user_with_summary
from chatengine.serializers import iso
from chatengine.services.app import app_get
from chatengine.services.connections import connection_close, connection_open, connections_seen
from chatengine.services.mutes import own_user
from chatengine.services.users import user_for_client, validate_user_id
from chatengine.threads import in_db_thread
from chatplatform import json_input

logger = logging.getLogger(__name__)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _query(scope: dict[str, Any]) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return {key: values[-1] for key, values in parse_qs(raw).items()}


@database_sync_to_async
def _open(query: dict[str, str], channel_name: str) -> tuple[str, ChatUser, dict[str, Any]]:
    """Authenticate the connection and register it; return its id, the user and ``me``."""
    auth.check_api_key(query.get("api_key"))
    if query.get("stream-auth-type", "jwt") != "jwt":
        raise StreamError(Code.AUTH, "anonymous access is not enabled for this app")
    try:
        payload = json_input.loads(query.get("json") or "{}")
    except json_input.JSONInputError as exc:
        raise StreamError(Code.INPUT, f"the json parameter is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise StreamError(Code.INPUT, "the json parameter must be a JSON object")
    token = query.get("authorization") or payload.get("user_token") or ""
    claims = auth.decode_token(token)
    if claims.server:
        raise StreamError(Code.AUTH, "a server token cannot open a client connection")
    user_id = claims.user_id or ""
    raw_details = payload.get("user_details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    requested = payload.get("user_id") or details.get("id")
    if requested and requested != user_id:
        raise StreamError(Code.AUTH, f"the token is for user '{user_id}', not '{requested}'")
    app = app_get()
    # The common case, a user that exists, is one read: its row with what
    # ``me`` and the presence event need (validated first: the id reaches SQL).
    found = user_with_summary(validate_user_id(user_id))
    if found is not None:
        user, summary = found
    else:
        # user_details name and image only ever shape a user created here; its
        # role and teams come from the server alone.
        user = user_for_client(
            user_id=user_id,
            multi_tenant=app.multi_tenant_enabled,
            name=_text(details.get("name")),
            image=_text(details.get("image")),
        )
        summary = None
    auth.check_not_revoked(claims, app=app, user=user)
    auth.check_user_may_connect(user)
    connection = connection_open(
        user=user, channel_name=channel_name, was_online=summary.online if summary else None
    )
    me = own_user(user, summary=summary)
    return connection.id, user, me


# Frames a socket may have waiting to go out before it counts as too slow: it
# is then closed with a code that makes the SDK reconnect and re-query its
# channels (``connection.recovered``) rather than left with a gap.
SOCKET_QUEUE_LIMIT = 5000
# The close code for a socket that fell behind ("try again later").
FELL_BEHIND_CODE = 1013
# How long a handshake waits for its hub to hear other processes (Redis).
HUB_READY_SECONDS = 5.0


async def _write_seen(connection_ids: list[str]) -> None:
    await in_db_thread(connections_seen)(connection_ids=connection_ids)


class ChatConsumer(AsyncWebsocketConsumer):
    # Not a configured layer: a socket gets no channel-layer inbox of its own;
    # its events come from the hub of its process.
    channel_layer_alias = "chatengine-hub"
    connection_id: str = ""
    user_id: str = ""
    name: str = ""

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, a
        # hop to its sync thread per frame; this consumer's database work runs
        # in ``in_db_thread``, which does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self._out: deque[str | tuple[str, int]] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self.hub = hub.current(_write_seen)
        await self.accept()
        self._writer = asyncio.get_running_loop().create_task(self._write())
        self.name = self.channel_name = self.hub.new_name()
        try:
            self.connection_id, user, me = await in_db_thread(_open)(_query(self.scope), self.name)
        except StreamError as error:
            self._refuse(error)
            return
        except Exception as exc:
            busy = database_busy(exc)
            if busy is None:
                logger.exception("chat connection failed")
            # A busy engine refuses with 429, which the SDK retries after a pause.
            self._refuse(busy or StreamError(Code.INTERNAL, "internal error", status=500))
            return
        self.user_id = user.id
        if not self.hub.ready.is_set():
            try:
                await asyncio.wait_for(self.hub.ready.wait(), HUB_READY_SECONDS)
            except TimeoutError:
                logger.error("chat engine hub is not hearing other processes; connecting anyway")
        self.push(hub.dumps({**self._health_check(), "me": me}))
        self.hub.add(self)

    def _refuse(self, error: StreamError) -> None:
        self.end(hub.dumps(error.body(duration="")), 1000)

    def _health_check(self) -> dict[str, Any]:
        return {
            "type": "health.check",
            "connection_id": self.connection_id,
            "cid": "*",
            "created_at": iso(timezone.now()),
        }

    # -- what goes out, in order --------------------------------------------
    def push(self, text: str) -> None:
        if self._closing:
            return
        if len(self._out) >= SOCKET_QUEUE_LIMIT:
            logger.warning("chat socket %s fell behind; closing it to re-sync", self.connection_id)
            self._drop_queued()
            self.end("", FELL_BEHIND_CODE)
            return
        self._out.append(text)
        self.hub.queued += 1
        self._wake.set()

    def _drop_queued(self) -> None:
        self.hub.queued -= sum(isinstance(item, str) for item in self._out)
        self._out.clear()

    def end(self, error: str, code: int) -> None:
        if self._closing:
            return
        self._closing = True
        self._out.append((error, code))
        self._wake.set()

    async def _write(self) -> None:
        out, send = self._out, self.base_send
        while True:
            while not out:
                self._wake.clear()
                await self._wake.wait()
            item = out.popleft()
            if isinstance(item, str):
                self.hub.queued -= 1
                await send({"type": "websocket.send", "text": item})
                continue
            error, code = item
            if error:
                frame = {
                    "type": "connection.error",
                    "connection_id": self.connection_id,
                    "created_at": iso(timezone.now()),
                }
                # ``error`` is a serialized error body: splice it in as it is.
                text = hub.dumps(frame)[:-1] + ',"error":' + error + "}"
                await send({"type": "websocket.send", "text": text})
            await self.close(code=code)
            return

    # -- what comes in --------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.connection_id or self._closing:
            return
        try:
            frames = json_input.loads(text_data or "null")
        except json_input.JSONInputError:
            return
        frames = frames if isinstance(frames, list) else [frames]
        # A frame is one ping however many health checks it holds: one answer.
        if not any(isinstance(frame, dict) and frame.get("type") == "health.check" for frame in frames):
            return
        self.hub.saw(self.connection_id)
        self.push(hub.dumps(self._health_check()))

    async def disconnect(self, code: int) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.cancel()
            self._drop_queued()
        if not self.connection_id:
            return
        self.hub.remove(self)
        connection_id, self.connection_id = self.connection_id, ""
        await in_db_thread(connection_close)(connection_id=connection_id)
