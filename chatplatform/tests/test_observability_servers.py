"""Logs and metrics under the production servers: gunicorn (WSGI) and uvicorn
(ASGI) with two processes each, a sync worker process, all counting into one
``PROMETHEUS_MULTIPROC_DIR``, and every access line JSON.

Checks what only real servers show: the servers' own access logs stay quiet
(uvicorn's would print the WebSocket's query string, token included), a
WebSocket handshake logs one line with its user and request id, and one
process's ``/metrics`` reports what the others counted."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest
import websockets
from stream_chat import StreamChat

from chatengine.tests.live import API_KEY, API_SECRET, EngineServer, fresh_database, migrate, server_env
from chatplatform.tests.servers import ROOT, free_port, python
from chatplatform.tests.test_metrics import parse, value

pytestmark = pytest.mark.slow


def _port(offset: int) -> int:
    """A free port, or one of a range the environment reserves (TEST_PORT_BASE)."""
    base = os.environ.get("TEST_PORT_BASE")
    return int(base) + offset if base else free_port()


def _json_lines(path: Path) -> list[dict]:
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _access(path: Path) -> list[dict]:
    return [r for r in _json_lines(path) if r.get("logger") == "chatplatform.request"]


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310  (loopback URL built here)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, dict(response.headers), response.read()


def _connect_url(origin: str, user_id: str, token: str) -> str:
    query = urlencode(
        {
            "json": json.dumps({"user_id": user_id, "user_details": {"id": user_id}}),
            "api_key": API_KEY,
            "authorization": token,
            "stream-auth-type": "jwt",
        }
    )
    return origin.replace("http", "ws", 1) + "/chat-api/connect?" + query


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        [python(), "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def test_production_servers_log_json_and_share_their_metrics(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    with fresh_database(tmp_path) as database_url:
        migrate(database_url)
        web_port, asgi_port = _port(0), _port(1)
        asgi_origin = f"http://127.0.0.1:{asgi_port}"
        env = server_env(
            database_url,
            LOG_LEVEL="INFO",
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
            CHATENGINE_URL=f"{asgi_origin}/chat-api",
        )
        env.pop("LOG_FORMAT", None)
        web_log, asgi_log = tmp_path / "gunicorn.log", tmp_path / "uvicorn.log"
        web = EngineServer(
            # The image's command with an access log asked for: the settings silence it.
            [
                python(),
                "-m",
                "gunicorn",
                "chatplatform.wsgi:application",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
            env,
            f"http://127.0.0.1:{web_port}/api/health",
            web_log,
        )
        asgi = EngineServer(
            [
                python(),
                "-m",
                "uvicorn",
                "chatplatform.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(asgi_port),
                "--workers",
                "2",
            ],
            env,
            f"{asgi_origin}/chat-api/app",
            asgi_log,
        )
        web.start()
        asgi.start()
        try:
            _exercise(env, web_port, asgi_origin, web_log, asgi_log)
        finally:
            asgi.stop()
            web.stop()


def _exercise(env: dict[str, str], web_port: int, asgi_origin: str, web_log: Path, asgi_log: Path) -> None:
    web_origin = f"http://127.0.0.1:{web_port}"
    server = StreamChat(API_KEY, API_SECRET, base_url=f"{asgi_origin}/chat-api")
    server.update_app_settings(multi_tenant_enabled=True)
    server.upsert_user({"id": "alice", "teams": ["acme"]})
    channel = server.channel("messaging", "general", {"team": "acme", "members": ["alice"]})
    channel.create("alice")
    good = jwt.encode({"user_id": "alice", "iat": int(time.time()) - 5}, API_SECRET, algorithm="HS256")
    forged = jwt.encode({"user_id": "alice"}, "not-the-engine-secret-0123456789abcdef", algorithm="HS256")

    async def sockets() -> dict:
        url = _connect_url(asgi_origin, "alice", good)
        async with websockets.connect(url, additional_headers={"X-Request-ID": "ws-handshake-1"}) as ws:
            assert ws.response.headers["X-Request-ID"] == "ws-handshake-1"
            assert json.loads(await ws.recv())["type"] == "health.check"
            channel.send_message({"text": "a message that must not be logged"}, "alice")
            _, _, body = _get(f"{web_origin}/metrics")
            open_scrape = parse(body.decode())
        async with websockets.connect(_connect_url(asgi_origin, "alice", forged)) as ws:
            assert json.loads(await ws.recv())["type"] == "connection.error"
        return open_scrape

    while_open = asyncio.run(sockets())
    assert value(while_open, "chatengine_sockets_open") == 1

    # A control-plane change, sent by a worker process of its own.
    _manage(
        env,
        "shell",
        "-c",
        "from tenants.services import tenant_create; from accounts.services import user_create; "
        "user_create(tenant=tenant_create(name='Globex', slug='globex'), email='bob@globex.test')",
    )
    assert "Processed" in _manage(env, "stream_sync", "--once")

    health_route = {"method": "GET", "route": "health", "status_class": "2xx"}
    requests = "chatplatform_http_requests"
    sample = f"{requests}_total"
    health_before = value(parse(_get(f"{web_origin}/metrics")[2].decode()), requests, sample, **health_route)
    status, headers, _ = _get(f"{web_origin}/api/health", **{"X-Request-ID": "web-health-1"})
    assert status == 200 and headers["X-Request-ID"] == "web-health-1"
    status, _, body = _get(f"{web_origin}/metrics")
    families = parse(body.decode())

    # Counted by the uvicorn processes, the worker and gunicorn, read from one gunicorn worker.
    assert value(families, "chatengine_connections", "chatengine_connections_total", outcome="accepted") == 1
    assert value(families, "chatengine_connections", "chatengine_connections_total", outcome="refused") == 1
    assert value(families, "chatengine_messages", "chatengine_messages_total") == 1
    assert value(families, "chatengine_events", "chatengine_events_total") >= 1
    assert value(families, "chatengine_frames_sent", "chatengine_frames_sent_total") >= 2
    assert value(families, "streamsync_batches", "streamsync_batches_total", result="ok") >= 1
    assert value(families, "streamsync_rows", "streamsync_rows_total", outcome="done") >= 1
    assert value(families, "streamsync_outbox_rows", status="pending") == 0
    assert value(families, "chatengine_sockets_open") == 0
    assert value(families, requests, sample, **health_route) - health_before == 1
    # The engine's REST calls were served (and counted) by uvicorn, under their route's name.
    route = {"method": "POST", "route": "chatengine-channel-message", "status_class": "2xx"}
    assert value(families, requests, sample, **route) == 1

    # Every request is one JSON line; the servers' own access lines are gone.
    web_text, asgi_text = web_log.read_text(), asgi_log.read_text()
    (health,) = [r for r in _access(web_log) if r.get("request_id") == "web-health-1"]
    assert (health["method"], health["path"], health["status"]) == ("GET", "/api/health", 200)
    assert '"GET /api/health HTTP/1.1"' not in web_text
    handshakes = [r for r in _access(asgi_log) if r["method"] == "WEBSOCKET"]
    assert sorted(r["status"] for r in handshakes) == [101, 401]
    (accepted,) = [r for r in handshakes if r["status"] == 101]
    assert accepted["user_id"] == "alice" and accepted["request_id"] == "ws-handshake-1"
    assert accepted["path"] == "/chat-api/connect"
    for secret in (good, forged, "authorization=", "must not be logged"):
        assert secret not in asgi_text and secret not in web_text
