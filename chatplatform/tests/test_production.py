"""The production configuration on loopback, started the way an operator does
(docs/operations.md): the image's own commands (its collectstatic step, then
its CMD: migrate and gunicorn), two ASGI processes for the chat engine (the
Procfile's ``chat`` line) sharing Redis, two sync workers, PostgreSQL, DEBUG
off, and nginx from Debian in front with ``deploy/nginx.conf`` over HTTPS.

Through the proxy only, as a browser would: sign in, get a chat token, open the
engine's WebSocket, chat, create a colleague and see it reach the engine. Then
the failures a deploy or a crash brings: a sync worker killed while it holds
claimed rows loses nothing (its lease runs out and the other worker sends
them), and an ASGI process killed under open sockets drops only its own
clients, who reconnect to the other process and miss nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
import redis
import requests
import websockets
from stream_chat import StreamChat

from chatengine.tests.live import fresh_database
from chatplatform.tests.servers import ROOT, free_port, python

pytestmark = [pytest.mark.slow, pytest.mark.redis]

API_KEY = "production-test-key"
API_SECRET = "production-test-chat-secret-0123456789abcdef"
STAFF_EMAIL, STAFF_PASSWORD = "ops@platform.test", "a-long-staff-passphrase-for-the-test"
PASSWORD = "a-long-member-passphrase-for-the-test"
LEASE_SECONDS = 3
CHAT_POOL = 3  # DATABASE_POOL_MAX_SIZE of the ASGI processes


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def _missing() -> str | None:
    """Why this machine cannot run the production configuration, or None."""
    if _nginx() is None:
        return "nginx is not installed (Debian: apt-get install nginx)"
    if shutil.which("openssl") is None:
        return "openssl is not installed (it makes the proxy's test certificate)"
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "production runs on PostgreSQL: set DATABASE_URL to a PostgreSQL server"
    try:
        redis.Redis.from_url(os.environ["TEST_REDIS_URL"]).ping()
    except redis.exceptions.ConnectionError:
        return f"Redis is not running at {os.environ['TEST_REDIS_URL']}"
    return None


@pytest.fixture(scope="module", autouse=True)
def _requirements() -> None:
    reason = _missing()
    if reason:
        # CI sets REQUIRE_NGINX=1: a missing piece fails the run instead of skipping.
        if os.environ.get("REQUIRE_NGINX"):
            pytest.fail(f"REQUIRE_NGINX is set but {reason}")
        pytest.skip(reason)


# -- the recipe, read from the files an operator uses ---------------------------------


def dockerfile_collectstatic() -> str:
    """The image's collectstatic step, as a shell command."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    step = next(line for line in text.splitlines() if line.startswith("RUN ") and "collectstatic" in line)
    return step.removeprefix("RUN ").strip()


def dockerfile_cmd() -> list[str]:
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return json.loads(line.removeprefix("CMD "))


def procfile(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise LookupError(f"Procfile has no {name!r} process")


def replaced(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced; the sample must still contain what the test rewrites."""
    assert old in text, f"{old!r} is no longer in the recipe"
    return text.replace(old, new)


# -- processes --------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log.open("a") as log:
            self.popen = subprocess.Popen(  # noqa: S603
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a machine or a process dies."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self, deadline: float | None = None) -> None:
        """SIGTERM (already sent, when stopping several at once), then SIGKILL at the deadline."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=max(0.1, (deadline or time.monotonic() + 3) - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        # gunicorn's and nginx's own children follow their master; nothing else may linger.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


class Relay:
    """A TCP relay between one sync worker and the proxy. ``hold()`` stops
    forwarding, as a network that went quiet: the worker sits in its call to
    the chat service, holding the rows it claimed."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = False
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self.flowing.clear()

    def release(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self.closed = True
        self.flowing.set()
        for sock in [self.listener, *self.sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return
            self.sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                self.flowing.wait()
                if self.closed:
                    break
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Stack:
    origin: str  # https://localhost:<port>, the proxy
    ca: Path
    database_url: str
    env: dict[str, str]
    tmp: Path
    web: Process
    chat: list[Process]
    workers: list[Process]
    nginx: Process
    relay: Relay

    def session(self) -> requests.Session:
        """A browser: cookies, and the Origin header it sends with every unsafe request."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE and proxies from the environment stay out
        session.verify = str(self.ca)
        session.headers["Origin"] = self.origin
        return session

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def chat_server(self) -> StreamChat:
        """The chat engine as the control plane sees it: the server-side SDK, through the proxy."""
        server = StreamChat(API_KEY, API_SECRET, base_url=f"{self.origin}/chat-api")
        http = requests.Session()
        http.trust_env = False
        http.verify = str(self.ca)
        server.set_http_session(http)
        return server

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [python(), "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )

    def sql(self, query: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def logs(self) -> str:
        parts = [self.web, *self.chat, *self.workers, self.nginx]
        return "\n".join(f"--- {p.name} ---\n{p.output()[-3000:]}" for p in parts)


# How long each wait took, printed when the stack stops (pytest shows it with -rP or on failure).
TIMELINE: list[str] = []


def _wait(what: str, check: Any, timeout: float = 20.0, stack: Stack | None = None) -> Any:
    started = time.monotonic()
    deadline = started + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (OSError, requests.RequestException, AssertionError) as exc:
            result, last = None, exc
        if result:
            TIMELINE.append(f"{time.monotonic() - started:6.1f} s  {what}")
            return result
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout} s (last: {last!r})\n{stack.logs() if stack else ''}")


def _answers(url: str, **kwargs: Any) -> bool:
    # A probe that reaches a server directly names the site's host, as ALLOWED_HOSTS wants.
    return requests.get(url, headers={"Host": "localhost"}, timeout=2, **kwargs).status_code == 200


def _certificate(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "proxy.pem", tmp / "proxy.key"
    subprocess.run(  # noqa: S603
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _nginx_config(
    tmp: Path, *, https: int, http: int, web: int, chat: list[int], cert: Path, key: Path
) -> Path:
    """deploy/nginx.conf with this run's addresses, inside a main configuration
    of its own (pid, logs, temporary files in ``tmp``)."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = replaced(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
    site = replaced(site, "listen 80;", f"listen 127.0.0.1:{http};")
    site = replaced(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{web};")
    site = replaced(site, "server 127.0.0.1:8001 ", f"server 127.0.0.1:{chat[0]} ")
    site = replaced(site, "server 127.0.0.1:8002 ", f"server 127.0.0.1:{chat[1]} ")
    site = replaced(site, "/etc/ssl/certs/chat.example.com.pem", str(cert))
    site = replaced(site, "/etc/ssl/private/chat.example.com.key", str(key))
    site = replaced(site, "/var/log/nginx/chatplatform.access.log", str(tmp / "site-access.log"))
    (tmp / "site.conf").write_text(site)
    temp = {name: tmp / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for directory in temp.values():
        directory.mkdir()
    main = tmp / "nginx.conf"
    main.write_text(
        # One worker: upstreams are taken in turn, so two sockets opened one after
        # the other land on the two ASGI processes.
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  access_log {tmp / 'access.log'};\n"
        f"  client_body_temp_path {temp['body']};\n  proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']};\n  uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n"
        f"  include {tmp / 'site.conf'};\n"
        "}\n"
    )
    return main


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("production")
    https, http, web = free_port(), free_port(), free_port()
    chat_ports = [free_port(), free_port()]
    origin = f"https://localhost:{https}"
    cert, key = _certificate(tmp)
    with fresh_database(tmp) as database_url:
        # What an operator sets (docs/operations.md), and nothing the test run
        # injects for in-process tests (pytest.ini turns the SSL redirect off).
        inherited = {k: v for k, v in os.environ.items() if k not in {"SECURE_SSL_REDIRECT", "COOKIE_SECURE"}}
        env = {
            **inherited,
            "DEBUG": "0",
            "SECRET_KEY": "production-test-secret-key-0123456789abcdefghij",
            "ALLOWED_HOSTS": "localhost",
            "SECURE_SSL_REDIRECT": "1",
            "DATABASE_URL": database_url,
            "REDIS_URL": os.environ["TEST_REDIS_URL"],
            "CACHE_KEY_PREFIX": f"production-test-{uuid.uuid4().hex[:8]}",
            "STREAM_API_KEY": API_KEY,
            "STREAM_API_SECRET": API_SECRET,
            "STREAM_BASE_URL": "",
            "SITE_URL": origin,
            "CHATENGINE_URL": f"{origin}/chat-api",
            "CHATENGINE_PUBLIC_URL": "",
            "NUM_PROXIES": "1",
            "STATIC_ROOT": str(tmp / "static"),
            "MEDIA_ROOT": str(tmp / "media"),
            "STREAM_SYNC_LEASE_SECONDS": str(LEASE_SECONDS),
            "STREAM_SYNC_POLL_INTERVAL": "0.2",
            "LOG_LEVEL": "WARNING",
            # The workers and commands reach the engine through the proxy and trust its certificate.
            "REQUESTS_CA_BUNDLE": str(cert),
            "WEB_CONCURRENCY": "2",
            # The image's commands say `python`, `gunicorn`, `uvicorn`: this interpreter's.
            "PATH": f"{Path(python()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        # The engine's processes and the proxy need neither static files nor the
        # schema to start: they boot while the image's steps run.
        chat = []
        for number, port in enumerate(chat_ports, 1):
            line = replaced(procfile("chat"), "${CHAT_PORT:-8001}", str(port))
            # Named in PostgreSQL, and with a small pool, so their connections can be counted.
            chat_env = {
                **env,
                "DATABASE_URL": f"{database_url}?application_name=chat-{number}",
                "DATABASE_POOL_MAX_SIZE": str(CHAT_POOL),
            }
            chat.append(
                Process(f"chat {number}", shlex.split(line), chat_env, tmp / f"chat-{number}.log").start()
            )
        nginx_conf = _nginx_config(tmp, https=https, http=http, web=web, chat=chat_ports, cert=cert, key=key)
        nginx = Process(
            "nginx",
            [_nginx(), "-p", str(tmp), "-c", str(nginx_conf), "-e", str(tmp / "error.log")],
            env,
            tmp / "nginx.log",
        ).start()
        relay = Relay(https)
        cmd = dockerfile_cmd()
        cmd[-1] = replaced(cmd[-1], "0.0.0.0:8000", f"127.0.0.1:{web}")
        web_process = Process("web (the image's CMD)", cmd, env, tmp / "web.log")
        workers: list[Process] = []
        live = Stack(origin, cert, database_url, env, tmp, web_process, chat, workers, nginx, relay)
        started = time.monotonic()
        try:
            # The image's build step, then its CMD (which migrates, then serves).
            collected = subprocess.run(  # noqa: S603
                ["sh", "-c", dockerfile_collectstatic()],  # noqa: S607
                cwd=ROOT,
                env={
                    k: v
                    for k, v in env.items()
                    if k not in {"SECRET_KEY", "STREAM_API_KEY", "STREAM_API_SECRET"}
                },
                capture_output=True,
                text=True,
            )
            assert collected.returncode == 0, f"the image's collectstatic step fails:\n{collected.stderr}"
            assert (tmp / "static" / "staticfiles.json").is_file()
            TIMELINE.append(f"{time.monotonic() - started:6.1f} s  collectstatic (and the engine booting)")
            web_process.start()
            # The CMD migrates before gunicorn binds: health answers once both are done.
            _wait(
                "gunicorn serves /api/health after migrating",
                lambda: _answers(f"http://127.0.0.1:{web}/api/health"),
                120,
                live,
            )
            for process in chat:
                port = process.args[process.args.index("--port") + 1]
                _wait(f"{process.name} answers", lambda p=port: _engine_answers(int(p)), 30, live)
            _wait("nginx answers", lambda: _answers(f"{origin}/api/health", verify=str(cert)), 10, live)
            # The first worker reaches the engine through the relay (same proxy, same certificate).
            through_relay = {
                **env,
                "CHATENGINE_URL": f"https://localhost:{relay.port}/chat-api",
                "STREAM_TIMEOUT": "60",
            }
            worker_args = shlex.split(procfile("worker"))
            workers.append(Process("worker 1", worker_args, through_relay, tmp / "worker-1.log").start())
            workers.append(Process("worker 2", worker_args, env, tmp / "worker-2.log").start())
            # First deploy, as docs/operations.md says: a superuser, then the chat service's setup.
            # (The two at once: each is a process start, and neither needs the other.)
            superuser = {
                "DJANGO_SUPERUSER_EMAIL": STAFF_EMAIL,
                "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD,
                "DJANGO_SUPERUSER_FULL_NAME": "Ops",
            }
            started = time.monotonic()
            with ThreadPoolExecutor(2) as pool:
                created = pool.submit(live.manage, "createsuperuser", "--noinput", **superuser)
                setup = pool.submit(live.manage, "stream_setup")
                created.result()
                assert "multi_tenant_enabled" in setup.result().stdout
            TIMELINE.append(f"{time.monotonic() - started:6.1f} s  createsuperuser and stream_setup")
            yield live
        finally:
            print("\n".join(["production stack:", *TIMELINE]))
            relay.close()
            everything = [*workers, nginx, *chat, web_process]
            for process in everything:
                if process.alive():
                    process.popen.terminate()
            deadline = time.monotonic() + 3
            for process in everything:
                process.stop(deadline)


def _engine_answers(port: int) -> bool:
    # Any answer will do: over plain HTTP, without the proxy's X-Forwarded-Proto, it is a redirect.
    url = f"http://127.0.0.1:{port}/chat-api/app"
    return requests.get(url, headers={"Host": "localhost"}, timeout=2, allow_redirects=False).status_code > 0


# -- the control plane and the chat service, as a browser uses them ---------------------


def _sign_in(stack: Stack, email: str, password: str) -> requests.Session:
    browser = stack.session()
    response = browser.post(
        f"{stack.origin}/api/auth/login", json={"email": email, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    return browser


def _send(
    browser: requests.Session,
    stack: Stack,
    method: str,
    path: str,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
) -> dict:
    """An API call as the web client makes it: cookies, and X-CSRFToken on unsafe methods."""
    headers = dict(headers or {})
    if method != "GET":
        headers["X-CSRFToken"] = browser.cookies["csrftoken"]
    response = browser.request(method, f"{stack.origin}{path}", json=body, headers=headers, timeout=10)
    assert response.status_code in (200, 201), (path, response.status_code, response.text)
    return response.json()


def _chat_token(browser: requests.Session, stack: Stack) -> dict:
    return _send(browser, stack, "GET", "/api/stream/token")


def _in_engine(stack: Stack, chat_user_ids: list[str]) -> bool:
    found = stack.chat_server().query_users({"id": {"$in": chat_user_ids}}, limit=100)["users"]
    return {user["id"] for user in found} == set(chat_user_ids)


def _members_in_engine(stack: Stack, cid: str) -> set[str]:
    found = stack.chat_server().query_channels({"cid": cid}, member_limit=100)["channels"]
    return {member["user_id"] for state in found for member in state["members"]}


@dataclass
class Team:
    admin: requests.Session
    member: requests.Session
    channel_cid: str


@pytest.fixture(scope="module")
def team(stack: Stack) -> Team:
    """A tenant made through the API by platform staff: an admin, a member, a channel of the two."""
    staff = _sign_in(stack, STAFF_EMAIL, STAFF_PASSWORD)
    tenant = _send(staff, stack, "POST", "/api/tenants/", {"name": "Acme"})
    admin = _send(
        staff,
        stack,
        "POST",
        "/api/users/",
        {"email": "admin@acme.test", "password": PASSWORD, "role": "admin", "tenant": tenant["id"]},
    )
    admin_browser = _sign_in(stack, "admin@acme.test", PASSWORD)
    member = _send(
        admin_browser, stack, "POST", "/api/users/", {"email": "mary@acme.test", "password": PASSWORD}
    )
    channel = _send(
        admin_browser, stack, "POST", "/api/channels/", {"name": "Launch", "member_ids": [member["id"]]}
    )
    _wait(
        "the tenant's people and channel reach the engine",
        lambda: (
            _in_engine(stack, [admin["chat_user_id"], member["chat_user_id"]])
            and _members_in_engine(stack, channel["cid"]) == {admin["chat_user_id"], member["chat_user_id"]}
        ),
        stack=stack,
    )
    return Team(admin_browser, _sign_in(stack, "mary@acme.test", PASSWORD), channel["cid"])


def _connect_url(token: dict) -> str:
    query = urlencode(
        {
            "json": json.dumps({"user_id": token["user_id"], "user_details": {"id": token["user_id"]}}),
            "api_key": token["api_key"],
            "authorization": token["token"],
            "stream-auth-type": "jwt",
        }
    )
    return token["base_url"].replace("https", "wss", 1) + "/connect?" + query


async def _open(stack: Stack, token: dict) -> tuple[Any, str]:
    """A socket through the proxy; returns it with its connection id."""
    ws = await websockets.connect(_connect_url(token), ssl=stack.ssl_context())
    handshake = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert handshake["type"] == "health.check" and handshake["me"]["id"] == token["user_id"], handshake
    return ws, handshake["connection_id"]


def _chat(stack: Stack, token: dict, method: str, path: str, body: dict, **params: str) -> dict:
    """A chat REST call as the JS client makes it: through the proxy, with the user's token."""
    response = requests.request(
        method,
        f"{token['base_url']}{path}",
        params={"api_key": token["api_key"], **params},
        headers={"Authorization": token["token"], "stream-auth-type": "jwt"},
        json=body,
        verify=str(stack.ca),
        timeout=10,
    )
    assert response.status_code in (200, 201), (path, response.status_code, response.text)
    return response.json()


async def _watch(stack: Stack, token: dict, cid: str) -> tuple[Any, str]:
    ws, connection_id = await _open(stack, token)
    kind, channel_id = cid.split(":")
    await asyncio.to_thread(
        _chat,
        stack,
        token,
        "POST",
        f"/channels/{kind}/{channel_id}/query",
        {"state": True, "watch": True},
        connection_id=connection_id,
    )
    return ws, connection_id


def _post(stack: Stack, token: dict, cid: str, text: str) -> dict:
    kind, channel_id = cid.split(":")
    return _chat(stack, token, "POST", f"/channels/{kind}/{channel_id}/message", {"message": {"text": text}})


async def _next(ws: Any, event_type: str, timeout: float = 10.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == event_type:
                return frame


# -- the tests --------------------------------------------------------------------------


def test_a_member_signs_in_and_chats_through_the_proxy(stack, team):
    token = _chat_token(team.member, stack)
    # The chat service's address as the browser reached the proxy: scheme and port kept.
    assert token["base_url"] == f"{stack.origin}/chat-api"
    admin_token = _chat_token(team.admin, stack)

    async def scenario() -> dict:
        reader, _ = await _watch(stack, token, team.channel_cid)
        writer, _ = await _watch(stack, admin_token, team.channel_cid)
        try:
            await asyncio.to_thread(_post, stack, admin_token, team.channel_cid, "hello through the proxy")
            return await _next(reader, "message.new")
        finally:
            await reader.close()
            await writer.close()

    event = asyncio.run(scenario())
    assert event["message"]["text"] == "hello through the proxy"
    assert event["message"]["user"]["id"] == admin_token["user_id"]
    # The sockets' tokens travelled in their URLs; no log keeps them.
    logs = (stack.tmp / "site-access.log").read_text() + stack.logs()
    assert "/chat-api/connect" in logs
    assert token["token"] not in logs and admin_token["token"] not in logs


def test_pages_and_static_files_come_through_the_proxy(stack):
    """The admin's page and its hashed static files (collected in the image's
    step, served by whitenoise under the CMD), and the web client when built."""
    browser = stack.session()
    page = browser.get(f"{stack.origin}/admin/login/", timeout=10)
    assert page.status_code == 200
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
    assert stylesheet, "the admin names its hashed stylesheet"
    css = browser.get(stack.origin + stylesheet.group(1), timeout=10)
    assert css.status_code == 200 and "immutable" in css.headers["Cache-Control"]
    if not (ROOT / "frontend" / "out" / "index.html").is_file():
        assert not os.environ.get("REQUIRE_BROWSER"), "the web client is not built"
        return
    login = browser.get(f"{stack.origin}/login", timeout=10)
    assert login.status_code == 200 and "no-cache" in login.headers["Cache-Control"]
    script = re.search(r'/_next/static/[^"]+\.js', login.text)
    assert script, "the page names its scripts"
    asset = browser.get(stack.origin + script.group(0), timeout=10)
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]


def test_a_user_created_through_the_api_reaches_the_engine(stack, team):
    created = _send(
        team.admin, stack, "POST", "/api/users/", {"email": "newcomer@acme.test", "full_name": "New"}
    )
    _wait(
        "the new user reaches the engine", lambda: _in_engine(stack, [created["chat_user_id"]]), stack=stack
    )
    [user] = stack.chat_server().query_users({"id": created["chat_user_id"]})["users"]
    assert user["teams"] == ["acme"] and user["name"] == "New"


def test_one_request_id_from_the_proxy_to_the_audit_log_and_no_public_metrics(stack, team):
    browser = team.admin
    response = browser.post(
        f"{stack.origin}/api/users/",
        json={"email": "traced@acme.test"},
        headers={"X-CSRFToken": browser.cookies["csrftoken"]},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    # nginx's $request_id (32 hex digits) is the application's request id.
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    assert request_id in (stack.tmp / "site-access.log").read_text()
    recorded = stack.sql(
        "SELECT request_id FROM audit_auditevent WHERE action = 'user.created' AND target_id = %s",
        response.json()["id"],
    )
    assert recorded == [(request_id,)]
    assert requests.get(f"{stack.origin}/metrics", verify=str(stack.ca), timeout=10).status_code == 404


def test_the_proxy_alone_says_who_the_client_is(stack, team):
    """A client cannot forge its address: nginx writes X-Forwarded-For itself and
    Django (NUM_PROXIES=1) reads what nginx wrote, not what the client sent."""
    forged = {"X-Forwarded-For": "203.0.113.9"}
    created = _send(team.admin, stack, "POST", "/api/users/", {"email": "forger@acme.test"}, headers=forged)
    addresses = stack.sql(
        "SELECT host(ip) FROM audit_auditevent WHERE action = 'user.created' AND target_id = %s",
        created["id"],
    )
    assert addresses == [("127.0.0.1",)], addresses


def _claimed_by(stack: Stack, worker: Process, user_ids: list[str]) -> int:
    """How many of these users' outbox rows the worker holds (its id is host:pid:thread)."""
    query = (
        "SELECT count(*) FROM streamsync_outboxentry WHERE status = 'claimed' AND claimed_by LIKE %s"
        " AND entity_type = 'user' AND entity_id = ANY(%s)"
    )
    return stack.sql(query, f"%:{worker.pid}:%", user_ids)[0][0]


def _outbox_rows(stack: Stack) -> int:
    return stack.sql("SELECT count(*) FROM streamsync_outboxentry")[0][0]


def _deactivated_in_engine(stack: Stack, chat_user_ids: list[str]) -> bool:
    found = stack.chat_server().query_users(
        {"id": {"$in": chat_user_ids}}, limit=100, include_deactivated_users=True
    )["users"]
    return len(found) == len(chat_user_ids) and all(user.get("deactivated_at") for user in found)


def test_a_sync_worker_killed_mid_batch_loses_nothing(stack, team):
    """Suspending a tenant is one batch: a row per user, written in one
    transaction. The worker that claims it dies before it is sent; once its
    lease runs out the other worker sends it all."""
    doomed, survivor = stack.workers
    staff = _sign_in(stack, STAFF_EMAIL, STAFF_PASSWORD)
    globex = _send(staff, stack, "POST", "/api/tenants/", {"name": "Globex"})
    people = [
        _send(staff, stack, "POST", "/api/users/", {"email": f"p{n}@globex.test", "tenant": globex["id"]})
        for n in range(5)
    ]
    chat_ids = [person["chat_user_id"] for person in people]
    _wait("Globex reaches the engine", lambda: _in_engine(stack, chat_ids), stack=stack)
    _wait("both workers are idle", lambda: _outbox_rows(stack) == 0, stack=stack)

    stack.relay.hold()  # the first worker's calls to the chat service now hang
    survivor.popen.send_signal(signal.SIGSTOP)  # and the first worker is the one that claims
    try:
        _send(staff, stack, "POST", f"/api/tenants/{globex['id']}/suspend")
        _wait(
            "the first worker claims the suspension's rows",
            lambda: _claimed_by(stack, doomed, [person["id"] for person in people]) == len(people),
            stack=stack,
        )
    finally:
        survivor.popen.send_signal(signal.SIGCONT)
    doomed.kill()  # in the middle of its batch: the rows stay claimed by a dead worker
    assert not _deactivated_in_engine(stack, chat_ids)
    _wait(
        "the surviving worker sends the dead worker's batch",
        lambda: _deactivated_in_engine(stack, chat_ids),
        LEASE_SECONDS + 20,
        stack,
    )
    _wait("the outbox is empty", lambda: _outbox_rows(stack) == 0, stack=stack)
    ready = requests.get(f"{stack.origin}/api/ready", verify=str(stack.ca), timeout=10)
    assert ready.status_code == 200, ready.text


def test_asgi_processes_hold_no_more_database_connections_than_their_pool(stack, team):
    """Persistent connections are unsafe under ASGI (each request's sync code runs
    on a thread of its own, and each would keep a connection); the pool is not:
    however many requests run at once, a process holds at most its pool's size."""
    token = _chat_token(team.member, stack)
    query = {"filter_conditions": {"type": "messaging"}, "state": True}
    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda _: _chat(stack, token, "POST", "/channels", query), range(96)))
    assert all(answer["channels"] for answer in answers)
    held = dict(
        stack.sql(
            "SELECT application_name, count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE 'chat-%%'"
            " GROUP BY application_name"
        )
    )
    assert set(held) == {"chat-1", "chat-2"}, held
    assert all(count <= CHAT_POOL for count in held.values()), held


def test_clients_of_a_dead_asgi_process_reconnect_and_miss_nothing(stack, team):
    token, admin_token = _chat_token(team.member, stack), _chat_token(team.admin, stack)
    first, second = stack.chat

    async def scenario() -> None:
        # One after the other through one nginx worker: one socket on each ASGI process.
        sockets = [await _open(stack, token), await _open(stack, token)]
        for _ws, connection_id in sockets:
            kind, channel_id = team.channel_cid.split(":")
            await asyncio.to_thread(
                _chat,
                stack,
                token,
                "POST",
                f"/channels/{kind}/{channel_id}/query",
                {"watch": True},
                connection_id=connection_id,
            )
        # Both hear a message, whichever process served the request (Redis carries it).
        await asyncio.to_thread(_post, stack, admin_token, team.channel_cid, "before")
        for ws, _ in sockets:
            assert (await _next(ws, "message.new"))["message"]["text"] == "before"

        first.kill()
        # The socket the dead process held is closed by the proxy; the other stays open.
        waiting = {asyncio.ensure_future(ws.recv()): (ws, cid) for ws, cid in sockets}
        done, pending = await asyncio.wait(waiting, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(0.5)
        done |= {task for task in pending if task.done()}
        for task in pending - done:
            task.cancel()
        dropped = [
            waiting[task] for task in done if isinstance(task.exception(), websockets.ConnectionClosed)
        ]
        kept = [pair for pair in sockets if pair not in dropped]
        assert len(dropped) == 1 and len(kept) == 1, "each ASGI process held one of the two sockets"

        # Sent while the dropped client is away: the proxy passes it to the living process.
        missed = await asyncio.to_thread(_post, stack, admin_token, team.channel_cid, "while you were away")
        assert (await _next(kept[0][0], "message.new"))["message"]["id"] == missed["message"]["id"]

        # The dropped client reconnects (the proxy skips the dead process), finds what it
        # missed in the channel's state, and hears what comes next.
        again, connection_id = await _open(stack, token)
        kind, channel_id = team.channel_cid.split(":")
        state = await asyncio.to_thread(
            _chat,
            stack,
            token,
            "POST",
            f"/channels/{kind}/{channel_id}/query",
            {"watch": True, "state": True},
            connection_id=connection_id,
        )
        assert missed["message"]["id"] in {m["id"] for m in state["messages"]}
        await asyncio.to_thread(_post, stack, admin_token, team.channel_cid, "after")
        assert (await _next(again, "message.new"))["message"]["text"] == "after"
        for ws in [again, kept[0][0]]:
            await ws.close()

    asyncio.run(scenario())
    # A deploy brings the process back; the proxy uses it again.
    first.start()
    port = int(first.args[first.args.index("--port") + 1])
    _wait("the restarted ASGI process answers", lambda: _engine_answers(port), 30, stack)
    assert second.alive()
