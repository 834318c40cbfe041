"""ASGI middleware in front of the engine's HTTP routes: a request body the
engine would refuse for its size is refused before it is read.

Django's ASGI handler reads a whole body (into memory, then a temporary file)
before any view runs, so a view can only refuse an oversize upload once it
has arrived. Here an upload route's body is bounded by the upload limit
(``CHATENGINE_UPLOAD_MAX_MB`` and the form around the file) and any other
engine route's by ``DATA_UPLOAD_MAX_MEMORY_SIZE``, the most Django would take
as a JSON body: a declared ``Content-Length`` over it is answered 413 from the
headers alone, and a body without one (chunked) is cut off with 413 as soon as
it grows past it. Either way the answer is Stream's error envelope.

It also refuses, with Stream's 429 (code 9, ``Retry-After`` and the
``x-ratelimit-*`` headers), the routes that fan events out while this process
has more deliveries waiting than it should (``hub.overloaded``): past its
ceiling the engine refuses sends instead of queueing them behind a backlog.

This bounds what the application reads. A server that receives a whole body
before it calls the application (daphne does) has already taken it in; in
front of such a server the proxy must bound bodies as well.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import Resolver404, resolve

from chatengine import hub, metrics
from chatengine.errors import BUSY_MESSAGE, BUSY_RETRY_AFTER, Code, StreamError, body_too_large
from chatengine.services.uploads import (
    upload_request_max_bytes,
    upload_request_size_check,
    upload_request_too_large,
)
from chatplatform.request_log import log_websocket, request_id_from, serving

if TYPE_CHECKING:
    from django.core.handlers.asgi import ASGIHandler

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_ROUTES = frozenset({"chatengine-channel-file", "chatengine-channel-image"})
# Writes whose events every watcher of a channel hears: refused while the
# process is behind on its deliveries.
FAN_OUT_ROUTES = frozenset(
    {"chatengine-channel-message", "chatengine-channel-event", "chatengine-message-reaction"}
)


def _route(scope: Scope) -> str | None:
    """The engine route the request is for, or None (not the engine's)."""
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    try:
        name = resolve(path).url_name or ""
    except Resolver404:
        return None
    return name if name.startswith("chatengine-") else None


def _declared_length(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return value.decode("latin-1")
    return None


class BodySizeLimit:
    """Wraps the project's HTTP application (see the module docstring)."""

    def __init__(self, app: ASGIApp | ASGIHandler) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _route(scope) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        if route in FAN_OUT_ROUTES and scope.get("method") == "POST" and hub.overloaded():
            await _answer(send, StreamError(Code.RATE_LIMITED, BUSY_MESSAGE), _rate_limit_headers())
            return
        upload = route in UPLOAD_ROUTES
        limit = upload_request_max_bytes() if upload else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        too_large = upload_request_too_large if upload else body_too_large
        declared = _declared_length(scope)
        try:
            if upload:
                upload_request_size_check(declared=declared)
            elif declared is not None and declared.isdigit() and int(declared) > limit:
                raise too_large(declared)
        except StreamError as error:
            await _answer(send, error)
            return

        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    await _answer(send, too_large(f"over {limit}"))
                    # What Django does when a client goes away mid-body: stop
                    # reading and answer nothing more (the answer is sent).
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, bounded_receive, send)


def _rate_limit_headers() -> list[tuple[bytes, bytes]]:
    # Lowercase: the Python SDK's rate_limit() reads only these spellings.
    reset = str(int(time.time()) + BUSY_RETRY_AFTER).encode()
    return [
        (b"retry-after", str(BUSY_RETRY_AFTER).encode()),
        (b"x-ratelimit-limit", str(settings.CHATENGINE_MAX_BACKLOG).encode()),
        (b"x-ratelimit-remaining", b"0"),
        (b"x-ratelimit-reset", reset),
    ]


async def _answer(send: Send, error: StreamError, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(error.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HandshakeLog:
    """Wraps the WebSocket routes: one access line per handshake, the request id
    (``X-Request-ID``, or a new one) on every line logged while the socket
    lives and on the handshake's answer, and the engine's socket counters.

    The consumer accepts every socket and answers its credentials in the
    first frame (``health.check`` or ``connection.error``, as Stream does), so
    that frame decides the line: status 101 with the user's id, or the error's
    status. The query string, where the token travels, is never logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        request_id = request_id_from(_header(scope, b"x-request-id"))
        logged = False

        def handshake_done(outcome: str, status: int, user_id: str | None = None) -> None:
            nonlocal logged
            logged = True
            metrics.CONNECTIONS.labels(outcome).inc()
            duration = time.monotonic() - started
            log_websocket(path=scope.get("path", ""), status=status, duration=duration, user_id=user_id)

        async def observed_send(message: Mapping[str, Any]) -> None:
            kind = message["type"]
            if kind == "websocket.accept":
                headers = list(message.get("headers") or [])
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            elif kind == "websocket.send":
                metrics.FRAMES.inc()
                if not logged:
                    handshake_done(*_first_frame(message.get("text") or message.get("bytes")))
            elif kind == "websocket.close" and not logged:
                handshake_done("refused", 403)
            await send(message)

        with serving(request_id):
            try:
                await self.app(scope, receive, observed_send)
            finally:
                if not logged:
                    handshake_done("dropped", 499)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _first_frame(data: str | bytes | None) -> tuple[str, int, str | None]:
    """(outcome, status, user id) from the first frame a socket is sent."""
    try:
        frame = json.loads(data or "")
    except ValueError:
        frame = None
    if not isinstance(frame, dict):
        return "refused", 500, None
    if frame.get("type") == "connection.error":
        error = frame.get("error")
        status = error.get("StatusCode") if isinstance(error, dict) else None
        return "refused", status if isinstance(status, int) else 401, None
    me = frame.get("me")
    user_id = me.get("id") if isinstance(me, dict) and isinstance(me.get("id"), str) else None
    return "accepted", 101, user_id
