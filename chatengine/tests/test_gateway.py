"""The engine's JSON routes under ASGI (``chatengine.asgi.EngineHTTP``): served
through only the middleware that applies to them (request id, access line and
metrics, security headers, CORS), never the console's (sessions, CSRF, frame
and content policies); the engine's other routes and the rest of the project
through Django's full stack as before."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.conf import settings
from prometheus_client import REGISTRY

from chatengine.tests.factories import token
from chatplatform.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "https://chat.example.org"


def _call(method: str, path: str, *, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None):
    request = HttpCommunicator(
        application,
        method,
        path,
        body=body,
        headers=[(b"host", b"testserver"), *(headers or [])],
    )
    response = async_to_sync(request.get_response)(timeout=10)
    names = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    return response["status"], names, response["body"]


def _requests(route: str) -> float:
    labels = {"method": "GET", "route": route, "status_class": "2xx"}
    return REGISTRY.get_sample_value("chatplatform_http_requests_total", labels) or 0.0


def test_a_json_route_gets_the_engines_middleware_and_not_the_consoles(caplog) -> None:
    before = _requests("chatengine-app")
    with caplog.at_level(logging.INFO, logger="chatplatform.request"):
        status, headers, body = _call(
            "GET",
            f"/chat-api/app?api_key={settings.STREAM_API_KEY}",
            headers=[(b"authorization", token().encode()), (b"x-request-id", b"req-0123456789abcdef")],
        )
    assert status == 200, body
    assert b'"app"' in body
    # The request id, the access line and the request metrics, as anywhere else.
    assert headers["x-request-id"] == "req-0123456789abcdef"
    (line,) = [r for r in caplog.records if r.name == "chatplatform.request"]
    assert "/chat-api/app" in line.getMessage() or getattr(line, "path", "") == "/chat-api/app"
    assert _requests("chatengine-app") == before + 1
    # The security headers; none of the console's (no session, no frame or content policy).
    assert headers["x-content-type-options"] == "nosniff"
    assert "x-frame-options" not in headers
    assert "content-security-policy" not in headers
    assert "set-cookie" not in headers and "cookie" not in headers.get("vary", "").lower()


def test_a_json_route_answers_cors_for_an_allowed_origin(settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    status, headers, _ = _call(
        "OPTIONS",
        "/chat-api/channels/messaging/general/message",
        headers=[
            (b"origin", ORIGIN.encode()),
            (b"access-control-request-method", b"POST"),
            (b"access-control-request-headers", b"authorization,stream-auth-type"),
        ],
    )
    assert status == 200
    assert headers["access-control-allow-origin"] == ORIGIN
    status, headers, _ = _call(
        "GET",
        f"/chat-api/app?api_key={settings.STREAM_API_KEY}",
        headers=[(b"authorization", token().encode()), (b"origin", ORIGIN.encode())],
    )
    assert status == 200 and headers["access-control-allow-origin"] == ORIGIN
    # Another origin is not told it may read the answer.
    status, headers, _ = _call(
        "GET",
        f"/chat-api/app?api_key={settings.STREAM_API_KEY}",
        headers=[(b"authorization", token().encode()), (b"origin", b"https://elsewhere.example")],
    )
    assert "access-control-allow-origin" not in headers


def test_bad_credentials_and_bad_bodies_keep_streams_error_envelope() -> None:
    auth = [(b"authorization", token().encode())]
    status, _, body = _call("GET", "/chat-api/app?api_key=wrong", headers=auth)
    assert status == 401 and b'"code":2' in body.replace(b" ", b"")
    status, _, body = _call(
        "POST",
        f"/chat-api/channels/messaging/general/message?api_key={settings.STREAM_API_KEY}",
        body=b"{not json",
        headers=[(b"authorization", token().encode()), (b"content-type", b"application/json")],
    )
    assert status == 400 and b"not valid JSON" in body


def test_a_host_outside_allowed_hosts_is_refused(settings) -> None:
    settings.ALLOWED_HOSTS = ["chat.example.org"]
    status, _, _ = _call("GET", f"/chat-api/app?api_key={settings.STREAM_API_KEY}")
    assert status == 400


def test_the_engines_other_routes_and_the_project_keep_djangos_stack() -> None:
    status, headers, _ = _call("GET", "/chat-api/")
    assert status == 200
    assert "x-frame-options" in headers  # the full stack: the console's headers too
    status, headers, _ = _call("GET", "/api/health")
    assert status == 200 and "x-frame-options" in headers


def _cache_client(location: str) -> Any:
    from chatplatform.cache import RedisCache

    return RedisCache(location, {})._cache


def test_redis_cache_objects_of_one_process_share_their_connection_pool() -> None:
    # Django builds a cache object per request context under ASGI; each used to
    # open its own pool, and so a new connection per request.
    first, second = _cache_client("redis://127.0.0.1:6379/3"), _cache_client("redis://127.0.0.1:6379/3")
    assert first is second
    assert _cache_client("redis://127.0.0.1:6379/4") is not first


@pytest.mark.parametrize("entry_point", ["chatplatform.asgi", "chatengine.standalone"])
def test_an_entry_point_keeps_what_it_loaded_out_of_the_collectors_way(entry_point: str) -> None:
    """Everything loaded at startup is frozen: a full collection then walks
    only what requests and sockets allocate since."""
    import gc
    import importlib

    importlib.import_module(entry_point)
    # (Already imported by another test, its freeze happened then: the
    # objects it froze stay frozen until unfreeze, which nothing calls.)
    assert gc.get_freeze_count() > 10_000
