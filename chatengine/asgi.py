"""ASGI in front of the engine's HTTP routes: its REST calls served in one hop
to a database thread, and a request body the engine would refuse for its
size refused before it is read.

**Serving.** Django's ASGI handler runs a request through the project's whole
middleware stack (sessions, CSRF, authentication, the console's security
headers) and hops between the event loop and threads several times a call:
to the single thread-sensitive thread for ``request_started``, to a thread
for each run of sync middleware, back to the loop and to a thread again for
the view, and to the shared thread once more to close the response. The
engine's JSON routes (every view made by ``chatengine.api.http.routes``)
need none of that: Stream's protocol carries its own credentials, never a
cookie. They are served here, each call in one hop to the engine's pool of
database threads (``chatengine.threads``), through only the middleware that
applies to them (``ENGINE_MIDDLEWARE``: the request id, access line and
metrics, the security headers, CORS). The engine's other routes (the index,
uploaded files) and everything else of the project go to Django as before.

**Body size.** Django reads a whole body (into memory, then a temporary
file) before any view runs, so a view can only refuse an oversize upload
once it has arrived. Here an upload route's body is bounded by the upload
limit (``CHATENGINE_UPLOAD_MAX_MB`` and the form around the file) and any
other engine route's by ``DATA_UPLOAD_MAX_MEMORY_SIZE``, the most Django
would take as a JSON body: a declared ``Content-Length`` over it is answered
413 from the headers alone, and a body without one (chunked) is cut off with
413 as soon as it grows past it. Either way the answer is Stream's error
envelope.

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
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, ASGIRequest, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, resolve, set_script_prefix
from django.urls.exceptions import Resolver404
from django.utils.module_loading import import_string

from chatengine import hub, metrics
from chatengine.errors import BUSY_MESSAGE, BUSY_RETRY_AFTER, Code, StreamError, body_too_large
from chatengine.services.uploads import (
    upload_request_max_bytes,
    upload_request_size_check,
    upload_request_too_large,
)
from chatengine.threads import in_db_thread
from chatplatform.request_log import log_websocket, request_id_from, serving

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


# The project's middleware that applies to the engine's JSON routes, in the
# project's order: the request id, access line and metrics; the security
# headers; CORS, for a web client on another origin.
ENGINE_MIDDLEWARE = frozenset(
    {
        "chatplatform.middleware.RequestIdMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "corsheaders.middleware.CorsMiddleware",
    }
)


def _match(scope: Scope) -> ResolverMatch | None:
    """The engine route the request is for, or None (not the engine's)."""
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if (match.url_name or "").startswith("chatengine-") else None


def _json_route(match: ResolverMatch) -> bool:
    # (``routes()`` marks its views with the methods they serve.)
    return hasattr(match.func, "methods")


def _declared_length(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return value.decode("latin-1")
    return None


class EngineHTTP:
    """Wraps the project's HTTP application (see the module docstring)."""

    def __init__(self, app: ASGIApp | ASGIHandler) -> None:
        self.app = app
        self._handler = _EngineHandler()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _match(scope) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        route = match.url_name or ""
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

        if _json_route(match):
            await self._handler.serve(scope, bounded_receive, send, match)
        else:
            await self.app(scope, bounded_receive, send)


class _EngineHandler(ASGIHandler):
    """Serves one JSON route: the body read on the loop, the rest (request,
    middleware, view, signals) in one call on a database thread."""

    def __init__(self) -> None:
        # Not Django's: only the engine's middleware, run synchronously.
        self._chain: Callable[[HttpRequest], Any] | None = None

    def chain(self) -> Callable[[HttpRequest], Any]:
        if self._chain is None:
            handler: Callable[[HttpRequest], Any] = convert_exception_to_response(_view)
            for path in reversed([m for m in settings.MIDDLEWARE if m in ENGINE_MIDDLEWARE]):
                handler = convert_exception_to_response(import_string(path)(handler))
            self._chain = handler
        return self._chain

    async def serve(self, scope: Scope, receive: Receive, send: Send, match: ResolverMatch) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            status, headers, content = await in_db_thread(self._respond)(scope, body_file, match)
        finally:
            body_file.close()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _respond(
        self, scope: Scope, body_file: Any, match: ResolverMatch
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        try:
            request = ASGIRequest(scope, body_file)
            request.resolver_match = match
            response = self.chain()(request)
            headers = [(k.encode("ascii"), v.encode("latin-1")) for k, v in response.items()]
            return response.status_code, headers, response.content
        finally:
            # What Django's handler does as a response closes: stale database
            # connections given back, caches closed.
            signals.request_finished.send(sender=self.__class__)


def _view(request: HttpRequest) -> HttpResponse:
    match = request.resolver_match
    assert match is not None
    # ALLOWED_HOSTS, as Django's CommonMiddleware checks it (a 400 otherwise).
    request.get_host()
    return match.func(request, *match.args, **match.kwargs)


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
