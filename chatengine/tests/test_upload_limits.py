"""Upload size under a real ASGI server that streams request bodies
(uvicorn): a body the engine will refuse is refused before it is read, from
its declared length, or, without one (chunked), as soon as it grows past the
limit, never after it was all received."""

from __future__ import annotations

import json
import select
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from stream_chat import StreamChat

from chatengine.tests.live import API_KEY, EngineServer, LiveEngine, fresh_database, migrate, server_env
from chatengine.tests.wsclient import user_token
from chatplatform.tests.servers import free_port, python

pytestmark = pytest.mark.slow

LIMIT_MB = 1
# Far more than the limit: a server that read it all would keep the test waiting.
PLANNED = 64 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEngine]:
    tmp: Path = tmp_path_factory.mktemp("uploads")
    with fresh_database(tmp) as database_url:
        migrate(database_url)
        port = free_port()
        args = [python(), "-m", "uvicorn", "chatplatform.asgi:application", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--lifespan", "off", "--log-level", "warning"]
        env = server_env(database_url, CHATENGINE_UPLOAD_MAX_MB=str(LIMIT_MB))
        ready = f"http://127.0.0.1:{port}/chat-api/app"
        server = EngineServer(args, env, ready, tmp / "uvicorn.log")
        server.start()
        try:
            yield LiveEngine(f"http://127.0.0.1:{port}", "/chat-api", tmp / "spec.log", database_url, server)
        finally:
            server.stop()


@pytest.fixture(scope="module")
def room(engine: LiveEngine) -> tuple[str, str]:
    """A channel and a member of it; returns (channel id, user id)."""
    server = StreamChat(engine.api_key, engine.api_secret, base_url=engine.base_url)
    user_id, channel_id = f"ann-{uuid.uuid4().hex[:6]}", f"room-{uuid.uuid4().hex[:6]}"
    server.upsert_user({"id": user_id})
    channel = server.channel("messaging", channel_id)
    channel.create(user_id)
    channel.add_members([user_id])
    return channel_id, user_id


def _head(engine: LiveEngine, room: tuple[str, str], kind: str, length_header: str) -> bytes:
    channel_id, user_id = room
    port = engine.origin.rsplit(":", 1)[1]
    return (
        f"POST /chat-api/channels/messaging/{channel_id}/{kind}?api_key={API_KEY} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: {user_token(engine, user_id)}\r\n"
        "Stream-Auth-Type: jwt\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"{length_header}\r\n"
        "\r\n"
    ).encode()


def _connect(engine: LiveEngine) -> socket.socket:
    host, port = engine.origin.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _response(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass  # the server may close once it has answered; what came first counts
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 30


def _is_too_large(status: int, body: dict) -> bool:
    return status == 413 and body["code"] == 4 and body["StatusCode"] == 413 and "1 MB" in body["message"]


@pytest.mark.parametrize("kind", ["file", "image"])
def test_a_declared_oversize_upload_is_refused_before_its_body_is_sent(engine, room, kind):
    with _connect(engine) as sock:
        sock.sendall(_head(engine, room, kind, f"Content-Length: {PLANNED}"))
        # Not one byte of the body is sent: the answer comes from the headers alone.
        status, body = _response(sock)
    assert _is_too_large(status, body), (status, body)


def test_a_chunked_upload_is_cut_off_once_it_passes_the_limit(engine, room):
    sent = 0
    with _connect(engine) as sock:
        sock.sendall(_head(engine, room, "file", "Transfer-Encoding: chunked"))
        chunk = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
        try:
            while sent < PLANNED and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += CHUNK
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server stopped reading: its answer is waiting
        status, body = _response(sock)
    assert _is_too_large(status, body), (status, body)
    assert sent < PLANNED, "the answer came only after the whole body"


def test_an_upload_within_the_limit_is_stored(engine, room):
    channel_id, user_id = room
    response = requests.post(
        f"{engine.base_url}/channels/messaging/{channel_id}/file",
        params={"api_key": engine.api_key},
        headers={"Authorization": user_token(engine, user_id), "stream-auth-type": "jwt"},
        files={"file": ("notes.txt", b"x" * (LIMIT_MB * 1024 * 1024 - 1), "text/plain")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert requests.get(response.json()["file"], timeout=10).content.startswith(b"xxx")


def test_the_app_settings_report_the_upload_limit(engine, room):
    _, user_id = room
    response = requests.get(
        f"{engine.base_url}/app",
        params={"api_key": engine.api_key},
        headers={"Authorization": user_token(engine, user_id), "stream-auth-type": "jwt"},
        timeout=10,
    )
    app = response.json()["app"]
    limit = LIMIT_MB * 1024 * 1024
    assert app["file_upload_config"]["size_limit"] == app["image_upload_config"]["size_limit"] == limit
