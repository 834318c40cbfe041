"""The ``/connect`` WebSocket, as Stream's client SDKs speak it.

Handshake: the SDK sends its API key, JWT and a JSON payload in the query
string; the first frame back is ``health.check`` carrying ``connection_id`` and
``me``, or ``connection.error`` followed by a close with code 1000 (any other
code makes the client retry forever). Then the client pings every 25 s with a
``health.check`` frame, which is answered in kind (once per frame), and events
arrive from the channel layer, each completed with the recipient's own fields.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from chatengine import auth, events
from chatengine.errors import Code, StreamError
from chatengine.models import ChatUser
from chatengine.selectors import user_with_summary
from chatengine.serializers import iso
from chatengine.services.app import app_get
from chatengine.services.connections import connection_close, connection_open, connection_seen
from chatengine.services.mutes import own_user
from chatengine.services.users import user_for_client, validate_user_id
from chatplatform import json_input

logger = logging.getLogger(__name__)

# Seconds between two writes of a connection's last_seen. Clients ping every
# 25 s and a connection is dead after 90 s of silence, so writing at most this
# often keeps it alive while pings sent faster (or many in one frame) cost no
# more than one write each time it passes.
LAST_SEEN_EVERY = 10.0


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
    details = payload.get("user_details") if isinstance(payload.get("user_details"), dict) else {}
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
            name=details.get("name") if isinstance(details.get("name"), str) else "",
            image=details.get("image") if isinstance(details.get("image"), str) else "",
        )
        summary = None
    auth.check_not_revoked(claims, app=app, user=user)
    auth.check_user_may_connect(user)
    connection = connection_open(
        user=user, channel_name=channel_name, was_online=summary.online if summary else None
    )
    me = own_user(user, summary=summary)
    return connection.id, user, me


class ChatConsumer(AsyncWebsocketConsumer):
    connection_id: str = ""
    user_id: str = ""
    # When last_seen was last written (opening the connection writes it).
    seen_written: float = 0.0

    async def connect(self) -> None:
        await self.accept()
        try:
            self.connection_id, user, me = await _open(_query(self.scope), self.channel_name)
        except StreamError as error:
            await self._refuse(error)
            return
        except Exception:
            logger.exception("chat connection failed")
            await self._refuse(StreamError(Code.INTERNAL, "internal error", status=500))
            return
        self.user_id = user.id
        self.seen_written = time.monotonic()
        await self.channel_layer.group_add(events.user_group(user.id), self.channel_name)
        await self._send({**self._health_check(), "me": me})

    async def _refuse(self, error: StreamError) -> None:
        await self._close_with(error.body(duration=""))

    async def chat_disconnect(self, message: dict[str, Any]) -> None:
        """The user was deactivated or deleted, or its tokens revoked: say so and close."""
        await self._close_with(message["error"])

    async def _close_with(self, error: dict[str, Any]) -> None:
        frame = {
            "type": "connection.error",
            "connection_id": self.connection_id,
            "created_at": iso(timezone.now()),
        }
        await self._send({**frame, "error": error})
        await self.close(code=1000)

    def _health_check(self) -> dict[str, Any]:
        return {
            "type": "health.check",
            "connection_id": self.connection_id,
            "cid": "*",
            "created_at": iso(timezone.now()),
        }

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.connection_id:
            return
        try:
            frames = json_input.loads(text_data or "null")
        except json_input.JSONInputError:
            return
        frames = frames if isinstance(frames, list) else [frames]
        # A frame is one ping however many health checks it holds: one answer,
        # and at most one write, so a client cannot turn frames into DB load.
        if not any(isinstance(frame, dict) and frame.get("type") == "health.check" for frame in frames):
            return
        now = time.monotonic()
        if now - self.seen_written >= LAST_SEEN_EVERY:
            self.seen_written = now
            await database_sync_to_async(connection_seen)(connection_id=self.connection_id)
        await self._send(self._health_check())

    async def disconnect(self, code: int) -> None:
        if not self.connection_id:
            return
        await self.channel_layer.group_discard(events.user_group(self.user_id), self.channel_name)
        await database_sync_to_async(connection_close)(connection_id=self.connection_id)
        self.connection_id = ""

    async def chat_event(self, message: dict[str, Any]) -> None:
        """An event from the channel layer: add this user's own fields, send it
        (unless this user is one it must not reach: a blocker of its sender)."""
        if self.user_id in message.get("exclude", ()):
            return
        event = message["event"]
        own = message.get("per_user", {}).get(self.user_id)
        await self._send({**event, **own} if own else event)

    async def _send(self, data: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(data, separators=(",", ":")))
