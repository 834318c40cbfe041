"""Load benchmark of the built-in chat engine against a minimal broadcast server.

Starts, in turn, the floor (``bench/broadcast_server.py``: fan-out to the
sockets of a room with ``websockets``, no auth, no storage) and the engine as
``make run-engine`` serves it (daphne, ``chatengine.standalone:application``)
in several configurations, and drives each with the same clients:

- ``broadcast``: the minimal broadcast server;
- ``sqlite``: the engine on a fresh SQLite file, in-memory channel layer;
- ``pg``: on a fresh PostgreSQL database, in-memory channel layer;
- ``pg-redis``: PostgreSQL and the Redis channel layer, one process;
- ``pg-redis-2proc``: the same with two engine processes sharing the load
  (sockets split across both, sends alternating between them).

Scenarios (``--scenarios``, all by default, each bounded in time):

- ``ramp``: ``--clients`` WebSocket clients (1,000) speaking Stream's protocol
  (``/connect`` with api_key, JWT and the json payload, then a ``watch`` of
  their channel through the REST query with their ``connection_id``, and a
  ``health.check`` ping every 25 s) in ``--channels`` channels (50). Senders
  post through the engine's REST send path with a server token at rates from
  ``--steps`` (open loop: each message is due at a fixed time, and its delay is
  measured from then), ``--step-seconds`` each, until a step fails. A step holds
  when every send succeeded on schedule, every watcher got every message of its
  channel (compared by message id) and the p99 send-to-deliver delay is at
  most ``--p99-ms`` (100 ms).
- ``burst``: ``--burst-messages`` (10,000) into one channel of
  ``--burst-watchers`` (200), as fast as ``--burst-lanes`` sequential senders go
  (at most ``--burst-seconds``); counts missing, duplicated and out-of-order
  deliveries (a message whose send completed before another's began must
  arrive first).
- ``idle``: ``--idle-sockets`` (5,000) connected sockets that only ping, on a
  freshly started server process; its RSS growth per socket.

Client sockets live in ``--workers`` processes (aiohttp, orjson); their CPU and
the sender's are reported next to the server's (psutil, the server's process
tree, percent of one core) to show the load generator is not the limit.

    .venv/bin/python bench/engine_load.py       # everything: 5 to 8 minutes a configuration
    .venv/bin/python bench/engine_load.py --configs broadcast,sqlite --clients 200 \\
        --channels 10 --steps 5,20,50 --step-seconds 3 --scenarios ramp

PostgreSQL: ``--pg-url`` (default ``ENGINE_BENCH_DATABASE_URL`` or
``postgres://postgres@127.0.0.1:5432/engine_bench``) names a server and a
prefix; each configuration gets its own fresh database, dropped afterwards.
Redis: ``--redis-url`` (default ``ENGINE_BENCH_REDIS_URL`` or db 14); the cache
prefix, user and channel names are new in every run, nothing is flushed. Servers listen on ``--port`` and the
ports after it.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import jwt
import orjson
import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatengine.tests.live import API_KEY, API_SECRET, EngineServer, migrate, server_env  # noqa: E402
from chatplatform.tests.servers import free_port, python  # noqa: E402

CONFIGS = ("broadcast", "sqlite", "pg", "pg-redis", "pg-redis-2proc")
SCENARIOS = ("ramp", "burst", "idle")
STEPS = [5, 10, 20, 50, 100, 200, 400, 600, 800, 1000]
SERVER_TOKEN = jwt.encode({"server": True}, API_SECRET, algorithm="HS256")
SERVER_HEADERS = {"Authorization": SERVER_TOKEN, "stream-auth-type": "jwt"}
PING = orjson.dumps([{"type": "health.check", "client_id": "bench"}]).decode()
CLIENT_UA = "stream-chat-js-v9.0.0-engine-bench"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(sorted_values: list[float] | array.array, fraction: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


# ---------------------------------------------------------------------------
# Client worker processes: sockets, pings, and what arrived on them
# ---------------------------------------------------------------------------
class Socket:
    __slots__ = ("channels", "closed", "connection_id", "last", "received", "server", "tasks", "user", "ws")

    def __init__(
        self, ws: aiohttp.ClientWebSocketResponse, connection_id: str, user: str, server: int
    ) -> None:
        self.ws, self.connection_id, self.user, self.server = ws, connection_id, user, server
        self.channels: list[str] = []
        self.received: set[str] = set()
        self.last: dict[str, int] = {}
        self.closed = False
        self.tasks: list[asyncio.Task] = []


class Worker:
    """Holds a share of the clients. Commands come from the driver over a pipe
    (one at a time, each answered); deliveries are recorded while a message id
    prefix is set."""

    def __init__(self, conn: Any, kind: str, servers: list[dict[str, str]], ping_interval: float) -> None:
        self.conn, self.kind, self.servers, self.ping_interval = conn, kind, servers, ping_interval
        self.sockets: list[Socket] = []
        self.tokens: dict[str, str] = {}
        self.pending: dict[int, asyncio.Future] = {}
        self.frame_ids = itertools.count()
        self.prefix: str | None = None
        self.ordered = False
        self.latencies = array.array("d")
        self.count = self.duplicates = self.out_of_order = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60)
        )
        loop.add_reader(self.conn.fileno(), self._command_ready)
        try:
            await self.done
        finally:
            loop.remove_reader(self.conn.fileno())
            await self._close_all()
            await self.session.close()

    def _command_ready(self) -> None:
        try:
            command = self.conn.recv()
        except EOFError:  # the driver is gone
            if not self.done.done():
                self.done.set_result(None)
            return
        asyncio.get_running_loop().create_task(self._answer(command))

    async def _answer(self, command: dict[str, Any]) -> None:
        try:
            reply = await getattr(self, "op_" + command.pop("op"))(**command)
        except Exception as exc:  # reported to the driver, which stops the run
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        self.conn.send(reply)

    # -- commands -------------------------------------------------------------
    async def op_connect(
        self, clients: list[dict[str, Any]], concurrency: int, seconds: float
    ) -> dict[str, Any]:
        """Open (and watch, where a client names channels) every client, at most
        ``concurrency`` at once, giving up on what is not done within ``seconds``."""
        gate = asyncio.Semaphore(concurrency)
        deadline = time.monotonic() + seconds
        errors: Counter[str] = Counter()
        watching: Counter[str] = Counter()
        opened = 0

        async def one(client: dict[str, Any]) -> None:
            nonlocal opened
            async with gate:
                left = deadline - time.monotonic()
                if left <= 0:
                    errors["connect phase timed out"] += 1
                    return
                try:
                    sock = await asyncio.wait_for(self._open(client), timeout=left)
                except Exception as exc:
                    errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
                    return
                opened += 1
                watching.update(sock.channels)

        await asyncio.gather(*(one(client) for client in clients))
        return {"opened": opened, "errors": dict(errors.most_common(5)), "watching": dict(watching)}

    async def op_watch(self, users: list[str], channel: str) -> dict[str, Any]:
        """The open sockets of ``users`` also watch ``channel``."""
        wanted = set(users)
        targets = [s for s in self.sockets if s.user in wanted and not s.closed]
        results = await asyncio.gather(*(self._watch(s, channel) for s in targets), return_exceptions=True)
        failed = [r for r in results if isinstance(r, Exception)]
        return {"watching": len(targets) - len(failed), "errors": [str(r)[:120] for r in failed[:3]]}

    async def op_record(self, prefix: str, ordered: bool = False) -> dict[str, Any]:
        for sock in self.sockets:
            sock.received = set()
            sock.last = {}
        self.prefix, self.ordered = prefix, ordered
        self.latencies = array.array("d")
        self.count = self.duplicates = self.out_of_order = 0
        return {"cpu": time.process_time()}

    async def op_count(self) -> dict[str, Any]:
        return {"count": self.count}

    async def op_report(self, sent: dict[str, list[str]]) -> dict[str, Any]:
        """Stop recording; every watcher should have every message of its channels."""
        self.prefix = None
        lost = 0
        for sock in self.sockets:
            for channel in sock.channels:
                lost += sum(1 for mid in sent.get(channel, ()) if mid not in sock.received)
        return {
            "count": self.count,
            "lost": lost,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "closed": sum(1 for s in self.sockets if s.closed),
            "latencies": self.latencies.tobytes(),
            "cpu": time.process_time(),
        }

    async def op_close(self) -> dict[str, Any]:
        await self._close_all()
        return {}

    async def op_exit(self) -> dict[str, Any]:
        self.done.set_result(None)
        return {}

    # -- sockets --------------------------------------------------------------
    def _token(self, user: str) -> str:
        if user not in self.tokens:
            claims = {"user_id": user, "iat": int(time.time()) - 5}
            self.tokens[user] = jwt.encode(claims, API_SECRET, algorithm="HS256")
        return self.tokens[user]

    async def _open(self, client: dict[str, Any]) -> Socket:
        server = self.servers[client["server"]]
        user = client["user"]
        if self.kind == "engine":
            query = urlencode(
                {
                    "json": json.dumps({"user_id": user, "user_details": {"id": user}}),
                    "api_key": API_KEY,
                    "authorization": self._token(user),
                    "stream-auth-type": "jwt",
                    "X-Stream-Client": CLIENT_UA,
                }
            )
            url = server["ws"] + "/connect?" + query
        else:
            url = server["ws"] + "/"
        ws = await self.session.ws_connect(url, max_msg_size=0, autoping=True)
        try:
            hello = orjson.loads((await ws.receive(timeout=60)).data)
            if hello.get("type") != "health.check" or not hello.get("connection_id"):
                raise RuntimeError(f"handshake answered {str(hello)[:200]}")
        except BaseException:
            await ws.close()
            raise
        sock = Socket(ws, hello["connection_id"], user, client["server"])
        sock.tasks.append(asyncio.create_task(self._read(sock)))
        if self.ping_interval:
            sock.tasks.append(asyncio.create_task(self._ping(sock)))
        self.sockets.append(sock)
        try:
            for channel in client.get("channels", ()):
                await self._watch(sock, channel)
        except BaseException:
            # Not counted as watching, so it must not count deliveries either.
            self.sockets.remove(sock)
            for task in sock.tasks:
                task.cancel()
            await asyncio.shield(ws.close())
            raise
        return sock

    async def _watch(self, sock: Socket, channel: str) -> None:
        if self.kind == "engine":
            server = self.servers[sock.server]
            async with self.session.post(
                f"{server['http']}/channels/messaging/{channel}/query",
                params={"api_key": API_KEY, "connection_id": sock.connection_id},
                json={"state": True, "watch": True, "presence": False},
                headers={
                    "Authorization": self._token(sock.user),
                    "stream-auth-type": "jwt",
                    "X-Stream-Client": CLIENT_UA,
                },
            ) as response:
                if response.status != 201:
                    raise RuntimeError(f"watch answered {response.status}: {(await response.text())[:200]}")
        else:
            await self._request(sock, {"type": "watch", "room": channel})
        sock.channels.append(channel)

    async def _request(self, sock: Socket, frame: dict[str, Any]) -> None:
        frame_id = next(self.frame_ids)
        future = self.pending[frame_id] = asyncio.get_running_loop().create_future()
        await sock.ws.send_str(orjson.dumps({**frame, "id": frame_id}).decode())
        try:
            await asyncio.wait_for(future, 60)
        finally:
            self.pending.pop(frame_id, None)

    async def _read(self, sock: Socket) -> None:
        try:
            async for frame in sock.ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                self._arrived(sock, frame.data)
        except Exception:
            pass
        finally:
            sock.closed = True

    def _arrived(self, sock: Socket, text: str) -> None:
        data = orjson.loads(text)
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message.new":
            message = data["message"]
            mid = message["id"]
            if self.prefix is None or not mid.startswith(self.prefix):
                return
            now = time.monotonic()
            if mid in sock.received:
                self.duplicates += 1
                return
            sock.received.add(mid)
            self.count += 1
            sent_at, lane, seq = message["text"].split(" ")
            self.latencies.append(now - float(sent_at))
            if self.ordered:
                seq_number = int(seq)
                if seq_number < sock.last.get(lane, -1):
                    self.out_of_order += 1
                else:
                    sock.last[lane] = seq_number
        elif kind in ("watched", "sent"):
            future = self.pending.get(data["id"])
            if future is not None and not future.done():
                future.set_result(None)

    async def _ping(self, sock: Socket) -> None:
        # Stream's SDKs ping 25 s after the handshake's health.check, then every 25 s.
        with contextlib.suppress(Exception):
            while not sock.closed:
                await asyncio.sleep(self.ping_interval)
                await sock.ws.send_str(PING)

    async def _close_all(self) -> None:
        sockets, self.sockets = self.sockets, []
        for sock in sockets:
            for task in sock.tasks:
                task.cancel()
        await asyncio.gather(*(s.ws.close() for s in sockets), return_exceptions=True)


def worker_main(conn: Any, kind: str, servers: list[dict[str, str]], ping_interval: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver stops the workers
    asyncio.run(Worker(conn, kind, servers, ping_interval).run())


class Clients:
    """The driver's side of the worker processes."""

    def __init__(self, kind: str, servers: list[dict[str, str]], workers: int, ping_interval: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conns, self.processes = [], []
        for _ in range(workers):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=worker_main, args=(theirs, kind, servers, ping_interval), daemon=True
            )
            process.start()
            theirs.close()
            self.conns.append(mine)
            self.processes.append(process)

    async def ask(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One command to each worker; their answers."""
        loop = asyncio.get_running_loop()
        futures = []
        for conn, command in zip(self.conns, commands, strict=True):
            future = loop.create_future()

            def ready(conn: Any = conn, future: asyncio.Future = future) -> None:
                loop.remove_reader(conn.fileno())
                try:
                    future.set_result(conn.recv())
                except EOFError:
                    future.set_result({"error": "worker exited"})

            loop.add_reader(conn.fileno(), ready)
            conn.send(command)
            futures.append(future)
        replies = await asyncio.gather(*futures)
        for reply in replies:
            if "error" in reply:
                raise RuntimeError(f"client worker: {reply['error']}")
        return replies

    async def ready(self) -> Clients:
        """Once every worker answers (spawning and imports are not part of any timing)."""
        await self.ask_all(op="count")
        return self

    async def ask_all(self, **command: Any) -> list[dict[str, Any]]:
        return await self.ask([dict(command) for _ in self.conns])

    def cpu_seconds(self) -> float:
        return sum(_tree_cpu(p.pid) for p in self.processes)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ask_all(op="exit"), 30)
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def _tree(pid: int) -> list[psutil.Process]:
    try:
        process = psutil.Process(pid)
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _tree_cpu(pid: int) -> float:
    total = 0.0
    for process in _tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def machine_busy() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy, and in all (every core)."""
    times = psutil.cpu_times()
    total = sum(times)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def _tree_rss(pid: int) -> int:
    total = 0
    for process in _tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------
@dataclass
class Target:
    """The servers of one configuration, started and stopped together."""

    name: str
    kind: str  # "broadcast" or "engine"
    servers: list[EngineServer]
    urls: list[dict[str, str]]
    profilers: list[subprocess.Popen] = field(default_factory=list)

    def profile(self, directory: Path) -> None:
        """Sample every server with py-spy until it stops: collapsed stacks in
        ``directory/<config>-<pid>.txt`` (flamegraph.pl or speedscope read them)."""
        directory.mkdir(parents=True, exist_ok=True)
        for pid in self.pids():
            out = directory / f"{self.name}-{pid}.txt"
            py_spy = str(Path(python()).with_name("py-spy"))
            command = [py_spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
            command += ["--nonblocking", "-o", str(out)]
            self.profilers.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.servers if s.process is not None]

    def cpu_seconds(self) -> float:
        return sum(_tree_cpu(pid) for pid in self.pids())

    def rss(self, index: int = 0) -> int:
        return _tree_rss(self.servers[index].process.pid)

    def stop(self) -> None:
        for profiler in self.profilers:  # (SIGINT: py-spy writes what it sampled)
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        for server in self.servers:
            server.stop()


def start_broadcast(port: int, log_dir: Path) -> Target:
    server = EngineServer(
        [python(), str(ROOT / "bench" / "broadcast_server.py"), str(port)],
        {},
        f"http://127.0.0.1:{port}/",
        log_dir / "broadcast.log",
    )
    server.start()
    return Target("broadcast", "broadcast", [server], [{"ws": f"ws://127.0.0.1:{port}"}])


@contextlib.contextmanager
def engine_database(config: str, tmp: Path, pg_url: str) -> Iterator[str]:
    """A fresh, migrated database for one configuration (dropped afterwards)."""
    if config == "sqlite":
        url = f"sqlite:///{tmp / f'engine-{secrets.token_hex(3)}.sqlite3'}"
        migrate(url)
        yield url
        return
    parts = urlsplit(pg_url)
    name = f"{parts.path.lstrip('/') or 'engine_bench'}_{secrets.token_hex(3)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(parts._replace(path=f"/{name}"))
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SERVERS = ("uvicorn", "daphne")


def server_command(server: str, port: int) -> list[str]:
    """The engine alone (``chatengine.standalone``) as production serves it
    (uvicorn, as the ``Procfile``'s ``chat`` process) or as ``make run-engine``
    does (daphne)."""
    app = "chatengine.standalone:application"
    if server == "daphne":
        return [python(), "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
    return [
        python(), "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--lifespan", "off", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def start_engine(
    config: str, args: argparse.Namespace, database_url: str, ports: list[int], log_dir: Path
) -> Target:
    env = server_env(database_url)
    if config.startswith("pg-redis"):
        env.update(REDIS_URL=args.redis_url, CACHE_KEY_PREFIX=f"engine-bench-{secrets.token_hex(3)}")
    count = 2 if config == "pg-redis-2proc" else 1
    servers, urls = [], []
    for port in ports[:count]:
        server = EngineServer(
            server_command(args.server, port),
            env,
            f"http://127.0.0.1:{port}/app",
            log_dir / f"{config}-{port}.log",
        )
        server.start()
        servers.append(server)
        urls.append({"ws": f"ws://127.0.0.1:{port}", "http": f"http://127.0.0.1:{port}"})
    target = Target(config, "engine", servers, urls)
    if args.profile:
        target.profile(args.profile)
    return target


# ---------------------------------------------------------------------------
# Sending: the engine's REST send path, or the broadcast server's send frame
# ---------------------------------------------------------------------------
class EngineSender:
    def __init__(self, urls: list[dict[str, str]]) -> None:
        self.urls = urls
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512), timeout=aiohttp.ClientTimeout(total=60)
        )
        self.turn = itertools.count()

    async def send(self, channel: str, user: str, mid: str, text: str) -> str | None:
        """None when the engine accepted the message, else why not."""
        base = self.urls[next(self.turn) % len(self.urls)]["http"]
        body = {"message": {"id": mid, "text": text, "user_id": user}}
        try:
            async with self.session.post(
                f"{base}/channels/messaging/{channel}/message",
                params={"api_key": API_KEY},
                data=orjson.dumps(body),
                headers={**SERVER_HEADERS, "Content-Type": "application/json"},
            ) as response:
                await response.read()
                return None if response.status == 201 else f"HTTP {response.status}"
        except Exception as exc:
            return type(exc).__name__

    async def close(self) -> None:
        await self.session.close()


class BroadcastSender:
    """A few sockets to the broadcast server, each frame answered by id."""

    def __init__(self, urls: list[dict[str, str]], sockets: int = 8) -> None:
        self.url, self.count = urls[0]["ws"] + "/", sockets
        self.pending: dict[int, asyncio.Future] = {}
        self.ids = itertools.count()
        self.turn = itertools.count()
        self.session: aiohttp.ClientSession | None = None
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.readers: list[asyncio.Task] = []

    async def open(self) -> None:
        self.session = aiohttp.ClientSession()
        self.sockets = [await self.session.ws_connect(self.url) for _ in range(self.count)]
        for ws in self.sockets:
            await ws.receive()
        self.readers = [asyncio.create_task(self._read(ws)) for ws in self.sockets]

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in ws:
            data = orjson.loads(frame.data)
            future = self.pending.pop(data.get("id"), None)
            if future is not None and not future.done():
                future.set_result(None)

    async def send(self, channel: str, user: str, mid: str, text: str) -> str | None:
        frame_id = next(self.ids)
        future = self.pending[frame_id] = asyncio.get_running_loop().create_future()
        frame = {"type": "send", "room": channel, "id": frame_id, "message": {"id": mid, "text": text}}
        ws = self.sockets[next(self.turn) % len(self.sockets)]
        try:
            await ws.send_str(orjson.dumps(frame).decode())
            await asyncio.wait_for(future, 60)
            return None
        except Exception as exc:
            self.pending.pop(frame_id, None)
            return type(exc).__name__

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        if self.session is not None:
            await self.session.close()


# ---------------------------------------------------------------------------
# The engine's data: users, the channels they belong to, the burst channel
# ---------------------------------------------------------------------------
@dataclass
class Layout:
    token: str
    users: list[str]
    channels: list[str]
    burst_channel: str
    burst_members: list[str]

    @classmethod
    def make(cls, clients: int, channels: int, burst_watchers: int) -> Layout:
        token = secrets.token_hex(3)
        return cls(
            token=token,
            users=[f"{token}-u{i}" for i in range(clients)],
            channels=[f"{token}-c{c}" for c in range(channels)],
            burst_channel=f"{token}-burst",
            burst_members=[f"{token}-u{i}" for i in range(min(burst_watchers, clients))],
        )

    def channel_of(self, index: int) -> str:
        return self.channels[index % len(self.channels)]

    def members(self, channel_index: int) -> list[str]:
        return self.users[channel_index :: len(self.channels)]


async def engine_setup(base: str, layout: Layout) -> None:
    params = {"api_key": API_KEY}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:

        async def post(path: str, body: dict[str, Any]) -> None:
            async with session.post(f"{base}{path}", params=params, json=body, headers=SERVER_HEADERS) as r:
                if r.status != 201:
                    raise RuntimeError(f"setup {path} answered {r.status}: {(await r.text())[:300]}")

        for start in range(0, len(layout.users), 100):
            batch = {u: {"id": u} for u in layout.users[start : start + 100]}
            await post("/users", {"users": batch})
        groups = [(layout.channels[c], layout.members(c)) for c in range(len(layout.channels))]
        if layout.burst_members:
            groups.append((layout.burst_channel, layout.burst_members))
        for channel, members in groups:
            for start in range(0, len(members), 100):
                chunk = members[start : start + 100]
                body: dict[str, Any]
                if start == 0:
                    body = {"data": {"members": chunk, "created_by": {"id": chunk[0]}}}
                    await post(f"/channels/messaging/{channel}/query", body)
                else:
                    await post(f"/channels/messaging/{channel}", {"add_members": chunk})


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------
async def connect_clients(
    clients: Clients, specs: list[dict[str, Any]], seconds: float, concurrency: int
) -> tuple[dict[str, Any], Counter[str]]:
    """Open ``specs`` (client i in worker i % workers), each watching its
    channels; handshakes per second over the whole phase, watches included."""
    workers = len(clients.conns)
    started = time.monotonic()
    replies = await clients.ask(
        [
            {
                "op": "connect",
                "clients": specs[w::workers],
                "concurrency": max(1, concurrency // workers),
                "seconds": seconds,
            }
            for w in range(workers)
        ]
    )
    elapsed = time.monotonic() - started
    opened = sum(r["opened"] for r in replies)
    errors: Counter[str] = Counter()
    watching: Counter[str] = Counter()
    for reply in replies:
        errors.update(reply["errors"])
        watching.update(reply["watching"])
    summary = {
        "clients": len(specs),
        "opened": opened,
        "seconds": round(elapsed, 2),
        "per_s": round(opened / elapsed, 1) if elapsed else 0.0,
        "errors": dict(errors.most_common(5)),
    }
    return summary, watching


@dataclass
class Step:
    rate: float
    planned: int
    sent: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    achieved_rate: float = 0.0
    expected: int = 0
    deliveries: int = 0
    deliveries_per_s: float = 0.0
    lost: int = 0
    late: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    sockets_closed: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    server_cpu: float = 0.0
    driver_cpu: float = 0.0
    machine_busy: float = 0.0
    seconds: float = 0.0
    held: bool = False
    why_not: str = ""


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


class Run:
    """One configuration: its servers, clients and the layout of the engine's data."""

    def __init__(self, target: Target, clients: Clients, layout: Layout, args: argparse.Namespace) -> None:
        self.target, self.clients, self.layout, self.args = target, clients, layout, args
        self.watchers: Counter[str] = Counter()
        self.sender = EngineSender(target.urls) if target.kind == "engine" else BroadcastSender(target.urls)

    async def connect(self, specs: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
        summary, watching = await connect_clients(self.clients, specs, seconds, self.args.connect_concurrency)
        self.watchers.update(watching)
        return summary

    async def measure(
        self,
        prefix: str,
        produce: Any,
        *,
        ordered: bool = False,
    ) -> tuple[dict[str, list[str]], dict[str, int], float, dict[str, Any]]:
        """Record deliveries of ids starting with ``prefix`` while ``produce``
        sends; wait for them; what each worker got."""
        starts = await self.clients.ask_all(op="record", prefix=prefix, ordered=ordered)
        server_cpu0 = self.target.cpu_seconds()
        driver_cpu0 = time.process_time()
        worker_cpu0 = [s["cpu"] for s in starts]
        busy0, total0 = machine_busy()
        started = time.monotonic()
        sent, refused = await produce()
        sending = time.monotonic() - started
        expected = sum(len(ids) * self.watchers[channel] for channel, ids in sent.items())
        in_time = await self._deliveries(expected, self.args.drain, max(10.0, 3 * self.args.drain))
        elapsed = time.monotonic() - started
        server_cpu = self.target.cpu_seconds() - server_cpu0
        busy1, total1 = machine_busy()
        # A server far behind still delivers: wait longer before calling the rest lost.
        late = 0
        if in_time < expected and self.args.late_wait:
            late = await self._deliveries(expected, self.args.late_wait, self.args.late_wait) - in_time
        reports = await self.clients.ask_all(op="report", sent=sent)
        driver = [time.process_time() - driver_cpu0] + [
            r["cpu"] - c0 for r, c0 in zip(reports, worker_cpu0, strict=True)
        ]
        latencies = array.array("d")
        for report in reports:
            latencies.frombytes(report["latencies"])
        ordered_latencies = sorted(latencies)
        return (
            sent,
            refused,
            sending,
            {
                "expected": expected,
                "deliveries": sum(r["count"] for r in reports),
                "lost": sum(r["lost"] for r in reports),
                "late": late,
                "duplicates": sum(r["duplicates"] for r in reports),
                "out_of_order": sum(r["out_of_order"] for r in reports),
                "sockets_closed": sum(r["closed"] for r in reports),
                "p50_ms": _ms(percentile(ordered_latencies, 0.50)),
                "p99_ms": _ms(percentile(ordered_latencies, 0.99)),
                "max_ms": _ms(ordered_latencies[-1] if ordered_latencies else None),
                "server_cpu": round(100 * server_cpu / elapsed, 1),
                "driver_cpu": round(100 * max(driver) / elapsed, 1),
                # Other work on the machine takes CPU from both the server and the driver.
                "machine_busy": round(100 * (busy1 - busy0) / max(total1 - total0, 1e-9), 1),
                "seconds": round(elapsed, 2),
            },
        )

    async def _deliveries(self, expected: int, quiet: float, cap: float) -> int:
        """Until ``expected`` deliveries arrived, none for ``quiet`` seconds, or
        ``cap`` seconds passed (a backlog that trickles out); how many."""
        started = last_change = time.monotonic()
        last = -1
        while True:
            count = sum(r["count"] for r in await self.clients.ask_all(op="count"))
            now = time.monotonic()
            if count >= expected or now - started >= cap:
                return count
            if count != last:
                last, last_change = count, now
            elif now - last_change >= quiet:
                return count
            await asyncio.sleep(0.1)

    async def settle(self, limit: float) -> float | None:
        """Until a probe message reaches its watchers within 500 ms: the work the
        connects queued (presence and watching events) is done. At most ``limit``
        seconds; how long it took, None if it never did."""
        channel, user = self.layout.channels[0], self.layout.users[0]
        started = time.monotonic()
        for number in itertools.count():
            if time.monotonic() - started >= limit:
                return None
            prefix = f"{self.layout.token}-probe{number}-"
            await self.clients.ask_all(op="record", prefix=prefix)
            sent_at = time.monotonic()
            if await self.sender.send(channel, user, prefix + "0", f"{sent_at:.6f} 0 0") is not None:
                await asyncio.sleep(1)
                continue
            while time.monotonic() - sent_at < 2:
                count = sum(r["count"] for r in await self.clients.ask_all(op="count"))
                if count >= self.watchers[channel]:
                    break
                await asyncio.sleep(0.05)
            if count >= self.watchers[channel] and time.monotonic() - sent_at < 0.5:
                await self.clients.ask_all(op="report", sent={})
                return round(time.monotonic() - started, 1)
        return None

    async def step(self, number: str, rate: float) -> Step:
        """Send at ``rate`` for --step-seconds, each message due at a fixed time."""
        layout, args = self.layout, self.args
        planned = max(1, round(rate * args.step_seconds))
        result = Step(rate=rate, planned=planned)
        prefix = f"{layout.token}-s{number}-"
        schedule_end = 0.0

        async def produce() -> tuple[dict[str, list[str]], dict[str, int]]:
            nonlocal schedule_end
            sent: dict[str, list[str]] = defaultdict(list)
            refused: Counter[str] = Counter()
            gate = asyncio.Semaphore(args.max_in_flight)
            tasks = set()

            async def one(index: int, due: float) -> None:
                channel_index = index % len(layout.channels)
                channel = layout.channels[channel_index]
                mid = f"{prefix}{index}"
                try:
                    why = await self.sender.send(
                        channel, layout.users[channel_index], mid, f"{due:.6f} 0 {index}"
                    )
                finally:
                    gate.release()
                if why is None:
                    sent[channel].append(mid)
                else:
                    refused[why] += 1

            first = time.monotonic() + 0.05
            for index in range(planned):
                due = first + index / rate
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await gate.acquire()
                task = asyncio.create_task(one(index, due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            schedule_end = time.monotonic()
            result.achieved_rate = round(planned / max(schedule_end - first + 1 / rate, 1e-9), 1)
            if tasks:
                await asyncio.wait(set(tasks), timeout=60)
            return sent, dict(refused)

        sent, refused, sending, stats = await self.measure(prefix, produce)
        result.sent = sum(len(ids) for ids in sent.values())
        result.refused = refused
        for key, value in stats.items():
            setattr(result, key, value)
        result.deliveries_per_s = round(result.deliveries / max(sending, 1e-9), 1)
        reasons = []
        if refused or result.sent < planned:
            reasons.append(f"{planned - result.sent} sends failed {refused}")
        if result.achieved_rate < 0.95 * rate:
            reasons.append(f"sent only {result.achieved_rate} msg/s")
        if result.lost:
            reasons.append(f"{result.lost} deliveries lost")
        if result.late:
            reasons.append(f"{result.late} arrived late")
        if result.p99_ms is None or result.p99_ms > args.p99_ms:
            reasons.append(f"p99 {result.p99_ms} ms")
        result.held = not reasons
        result.why_not = "; ".join(reasons)
        return result

    async def burst(self) -> dict[str, Any]:
        """--burst-messages into one channel as fast as --burst-lanes sequential senders go."""
        layout, args = self.layout, self.args
        channel = layout.burst_channel
        replies = await self.clients.ask_all(op="watch", users=layout.burst_members, channel=channel)
        self.watchers[channel] = sum(r["watching"] for r in replies)
        prefix = f"{layout.token}-burst-"
        author = layout.burst_members[0]
        numbers = itertools.count()
        deadline = 0.0

        async def produce() -> tuple[dict[str, list[str]], dict[str, int]]:
            nonlocal deadline
            deadline = time.monotonic() + args.burst_seconds
            sent: list[str] = []
            refused: Counter[str] = Counter()

            async def lane(name: int) -> None:
                while time.monotonic() < deadline:
                    index = next(numbers)
                    if index >= args.burst_messages:
                        return
                    mid = f"{prefix}{index}"
                    why = await self.sender.send(
                        channel, author, mid, f"{time.monotonic():.6f} {name} {index}"
                    )
                    if why is None:
                        sent.append(mid)
                    else:
                        refused[why] += 1

            await asyncio.gather(*(lane(n) for n in range(args.burst_lanes)))
            return {channel: sent}, dict(refused)

        sent, refused, sending, stats = await self.measure(prefix, produce, ordered=True)
        count = len(sent[channel])
        return {
            "watchers": self.watchers[channel],
            "planned": args.burst_messages,
            "sent": count,
            "refused": refused,
            "send_seconds": round(sending, 2),
            "msg_per_s": round(count / max(sending, 1e-9), 1),
            "complete": count == args.burst_messages,
            **stats,
        }


async def run_config(name: str, args: argparse.Namespace, tmp: Path, log_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"server": name}
    config_started = time.monotonic()
    with contextlib.ExitStack() as stack:
        # --port 0: any free ports (the smoke test runs beside other servers).
        ports = [args.port + i for i in range(3)] if args.port else [free_port() for _ in range(3)]
        if name == "broadcast":
            target = start_broadcast(ports[0], log_dir)
        else:
            log(f"{name}: migrating a fresh database")
            database_url = stack.enter_context(engine_database(name, tmp, args.pg_url))
            target = start_engine(name, args, database_url, ports[1:], log_dir)
        stack.callback(lambda: result.update(server_errors=server_errors(target)))
        stack.callback(target.stop)
        layout = Layout.make(
            args.clients, args.channels, args.burst_watchers if "burst" in args.scenarios else 0
        )
        if target.kind == "engine":
            log(f"{name}: creating {len(layout.users)} users and {len(layout.channels)} channels")
            await engine_setup(target.urls[0]["http"], layout)
        if {"ramp", "burst"} & set(args.scenarios):
            clients = await Clients(target.kind, target.urls, args.workers, args.ping_interval).ready()
            run = Run(target, clients, layout, args)
            try:
                if isinstance(run.sender, BroadcastSender):
                    await run.sender.open()
                specs = [
                    {"user": user, "server": i % len(target.urls), "channels": [layout.channel_of(i)]}
                    for i, user in enumerate(layout.users)
                ]
                log(f"{name}: connecting and watching {len(specs)} clients")
                result["connect"] = connect = await run.connect(specs, args.connect_seconds)
                log(f"{name}: {connect['opened']} connected in {connect['seconds']} s ({connect['per_s']}/s)")
                connect["settle_seconds"] = settled = await run.settle(args.settle)
                log(f"{name}: events flow again {settled} s after the connects (None: not within --settle)")
                if "ramp" in args.scenarios:
                    result["steps"] = steps = []
                    for number, rate in enumerate(args.steps):
                        if time.monotonic() - config_started > args.config_seconds:
                            log(f"{name}: stopping the ramp, {args.config_seconds:.0f} s spent")
                            break
                        # A step that fails is run again (--retries): one stall of a
                        # shared machine should not end the ramp.
                        for attempt in range(1 + args.retries):
                            step = await run.step(f"{number}-{attempt}", rate)
                            steps.append({**asdict(step), "attempt": attempt})
                            verdict = "held" if step.held else "NOT held: " + step.why_not
                            log(
                                f"{name}: {rate:g} msg/s: {verdict} (p50 {step.p50_ms} p99 {step.p99_ms} ms,"
                                f" {step.deliveries} deliveries, lost {step.lost}, server CPU"
                                f" {step.server_cpu}%, driver {step.driver_cpu}%,"
                                f" machine {step.machine_busy}% busy)"
                            )
                            await asyncio.sleep(1)
                            if step.held:
                                break
                        if not step.held:
                            break
                if "burst" in args.scenarios and layout.burst_members:
                    log(f"{name}: burst of {args.burst_messages} into {len(layout.burst_members)} watchers")
                    result["burst"] = burst = await run.burst()
                    log(
                        f"{name}: burst sent {burst['sent']} at {burst['msg_per_s']} msg/s,"
                        f" lost {burst['lost']}, out of order {burst['out_of_order']},"
                        f" p99 {burst['p99_ms']} ms"
                    )
            finally:
                await run.sender.close()
                await clients.ask_all(op="close")
                await clients.stop()
        if "idle" in args.scenarios and args.idle_sockets:
            result["idle"] = await idle(target, layout, args, name)
    result["seconds"] = round(time.monotonic() - config_started, 1)
    return result


def server_errors(target: Target) -> dict[str, Any]:
    """What the servers logged at ERROR (a 500, a failed connection) during the run."""
    errors: list[str] = []
    for server in target.servers:
        if not server.log_path.exists():
            continue
        for line in server.log_path.read_text().splitlines():
            if " ERROR " in line:
                errors.append(line)
            elif errors and line[:1].isalpha() and ("Error" in line or "Exception" in line):
                errors[-1] += " -> " + line  # the exception that ends the traceback
    kinds = Counter(line.split(" ERROR ", 1)[1].split(":", 1)[0] for line in errors)
    return {"count": len(errors), "by_logger": dict(kinds.most_common(5)), "first": errors[:5]}


async def idle(target: Target, layout: Layout, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """--idle-sockets connected and pinging on a fresh process (the first of the configuration)."""
    target.servers[0].restart()
    await asyncio.sleep(1)
    before = target.rss(0)
    clients = await Clients(target.kind, target.urls, args.workers, args.ping_interval).ready()
    try:
        specs = [{"user": layout.users[i % len(layout.users)], "server": 0} for i in range(args.idle_sockets)]
        log(f"{name}: opening {len(specs)} idle sockets")
        connect, _ = await connect_clients(clients, specs, args.idle_seconds, args.connect_concurrency)
        await asyncio.sleep(args.idle_hold)  # the handshakes' queued work done
        after = target.rss(0)
        cpu0, t0 = target.cpu_seconds(), time.monotonic()
        await asyncio.sleep(args.idle_hold)
        idle_cpu = 100 * (target.cpu_seconds() - cpu0) / (time.monotonic() - t0)
    finally:
        await clients.ask_all(op="close")
        await clients.stop()
    opened = connect["opened"]
    result = {
        "planned": args.idle_sockets,
        "opened": opened,
        "connect_seconds": connect["seconds"],
        "connects_per_s": connect["per_s"],
        "errors": connect["errors"],
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "rss_per_socket_kb": round((after - before) / opened / 1024, 1) if opened else None,
        "idle_cpu": round(idle_cpu, 1),
    }
    log(
        f"{name}: {opened} idle sockets, {result['rss_per_socket_kb']} KiB each,"
        f" server CPU {result['idle_cpu']}%"
    )
    return result


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
def summarize(result: dict[str, Any], floor: float | None) -> dict[str, Any]:
    steps = result.get("steps") or []
    held = [s for s in steps if s["held"]]
    best = held[-1] if held else None
    failed = steps[-1] if steps and not steps[-1]["held"] else None
    row = {
        "server": result["server"],
        "held": best["rate"] if best else 0,
        # Held every step it ran (the last one, or the time cap came first): the ceiling is higher.
        "held_is_top": bool(steps) and steps[-1]["held"],
        "deliveries_per_s": best["deliveries_per_s"] if best else None,
        "p50_ms": best["p50_ms"] if best else None,
        "p99_ms": best["p99_ms"] if best else None,
        "lost": sum(s["lost"] for s in steps),
        "connects_per_s": result.get("connect", {}).get("per_s"),
        "server_cpu": best["server_cpu"] if best else None,
        "driver_cpu": max((s["driver_cpu"] for s in steps), default=None),
        "machine_busy": best["machine_busy"] if best else None,
        "failed_at": (
            f"{failed['rate']:g} msg/s: {failed['why_not']} (p50 {failed['p50_ms']} ms,"
            f" CPU {failed['server_cpu']}%)"
            if failed
            else ""
        ),
    }
    row["ratio"] = round(row["held"] / floor, 3) if floor else None
    return row


def _cell(value: Any, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:,.1f}".rstrip("0").rstrip(".") if value < 100 else f"{value:,.0f}"
    return f"{value}{suffix}"


def _table(header: list[str], rows: list[list[Any]]) -> None:
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def print_report(results: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    broadcast = next((r for r in results if r["server"] == "broadcast"), None)
    floor = None
    if broadcast and broadcast.get("steps"):
        floor = summarize(broadcast, None)["held"] or None
    rows = [summarize(r, floor) for r in results if "steps" in r]
    print()
    print(
        f"{args.clients} clients in {args.channels} channels ({args.clients // args.channels} watchers each),"
        f" steps {','.join(f'{s:g}' for s in args.steps)} msg/s x {args.step_seconds:g} s; held: p99 <="
        f" {args.p99_ms:g} ms and nothing lost. {os.cpu_count()} CPUs, load average"
        f" {os.getloadavg()[0]:.1f} at the end."
    )
    for failed in (r for r in results if "error" in r):
        print(f"{failed['server']}: FAILED {failed['error']}")
    for result in results:
        errors = result.get("server_errors") or {}
        if errors.get("count"):
            print(
                f"{result['server']}: the server logged {errors['count']} errors, first: {errors['first'][0]}"
            )
    if rows:
        header = (
            "server,msg/s held,deliveries/s,p50 ms,p99 ms,lost,connects/s,CPU,ratio,driver CPU,"
            "machine busy,next step"
        )
        _table(
            header.split(","),
            [
                [
                    row["server"],
                    f"{'>=' if row['held_is_top'] else ''}{row['held']:g}",
                    _cell(row["deliveries_per_s"]),
                    _cell(row["p50_ms"]),
                    _cell(row["p99_ms"]),
                    row["lost"],
                    _cell(row["connects_per_s"]),
                    _cell(row["server_cpu"], "%"),
                    _cell(row["ratio"]),
                    _cell(row["driver_cpu"], "%"),
                    _cell(row["machine_busy"], "%"),
                    row["failed_at"] or "-",
                ]
                for row in rows
            ],
        )
    bursts = [(r["server"], r["burst"]) for r in results if "burst" in r]
    if bursts:
        header = (
            "burst,watchers,sent,msg/s,deliveries,lost,out of order,duplicates,p50 ms,p99 ms,CPU,driver CPU"
        )
        _table(
            header.split(","),
            [
                [
                    server,
                    b["watchers"],
                    f"{b['sent']}" + ("" if b["complete"] else f" of {b['planned']} (time cap)"),
                    _cell(b["msg_per_s"]),
                    b["deliveries"],
                    b["lost"],
                    b["out_of_order"],
                    b["duplicates"],
                    _cell(b["p50_ms"]),
                    _cell(b["p99_ms"]),
                    _cell(b["server_cpu"], "%"),
                    _cell(b["driver_cpu"], "%"),
                ]
                for server, b in bursts
            ],
        )
    idles = [(r["server"], r["idle"]) for r in results if "idle" in r]
    if idles:
        header = "idle sockets,opened,connects/s,RSS before MiB,RSS after MiB,KiB per socket,CPU idle"
        _table(
            header.split(","),
            [
                [
                    server,
                    f"{i['opened']} of {i['planned']}",
                    _cell(i["connects_per_s"]),
                    _cell(i["rss_before_mb"]),
                    _cell(i["rss_after_mb"]),
                    _cell(i["rss_per_socket_kb"]),
                    _cell(i["idle_cpu"], "%"),
                ]
                for server, i in idles
            ],
        )
    return rows


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def raise_fd_limit() -> int:
    """Sockets are file descriptors: lift the soft limit to the hard one (the servers inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    listing = lambda kind: lambda text: [kind(x) for x in text.split(",") if x]  # noqa: E731
    add = parser.add_argument
    add("--configs", type=listing(str), default=list(CONFIGS), help=", ".join(CONFIGS))
    add("--scenarios", type=listing(str), default=list(SCENARIOS), help=", ".join(SCENARIOS))
    add("--clients", type=int, default=1000)
    add("--channels", type=int, default=50)
    add("--steps", type=listing(float), default=STEPS)
    add("--step-seconds", type=float, default=5.0)
    add("--p99-ms", type=float, default=100.0, help="the latency a step must hold")
    add("--drain", type=float, default=3.0, help="seconds without a delivery: the rest is late")
    add("--late-wait", type=float, default=15.0, help="then at most this long for late ones")
    add(
        "--settle",
        type=float,
        default=30.0,
        help="at most this long for events to flow again after the connects",
    )
    add("--retries", type=int, default=1, help="runs of a failed step before the ramp stops")
    add("--max-in-flight", type=int, default=256, help="sends waiting for an answer at most")
    add("--config-seconds", type=float, default=240.0, help="no new ramp step after this long")
    add("--connect-seconds", type=float, default=120.0, help="time allowed to connect and watch")
    add("--connect-concurrency", type=int, default=50, help="handshakes under way at once")
    add("--ping-interval", type=float, default=25.0, help="client health.check pings (0: none)")
    add("--burst-messages", type=int, default=10_000)
    add("--burst-watchers", type=int, default=200)
    add("--burst-lanes", type=int, default=8, help="sequential senders of the burst")
    add("--burst-seconds", type=float, default=60.0, help="time cap of the burst's sending")
    add("--idle-sockets", type=int, default=5000)
    add("--idle-seconds", type=float, default=120.0, help="time allowed to open the idle sockets")
    add("--idle-hold", type=float, default=5.0, help="seconds before RSS, then CPU, are read")
    add("--workers", type=int, default=2, help="client processes")
    add("--server", choices=SERVERS, default=SERVERS[0], help="what serves the engine")
    add("--profile", type=Path, help="sample the engine's processes with py-spy into this directory")
    add("--port", type=int, default=int(os.environ.get("ENGINE_BENCH_PORT", "9100")))
    add(
        "--pg-url",
        default=os.environ.get(
            "ENGINE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/engine_bench"
        ),
    )
    add("--redis-url", default=os.environ.get("ENGINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    add("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    unknown = set(args.configs) - set(CONFIGS) or set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    if args.clients < 1 or args.channels < 1 or args.channels > args.clients:
        parser.error("--clients and --channels must be positive, with at least one client per channel")
    return args


async def run_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        log_dir = Path(tmp)
        for name in args.configs:
            log(f"{name}: starting")
            try:
                results.append(await run_config(name, args, Path(tmp), log_dir))
            except Exception as exc:  # one configuration failing does not hide the others' figures
                log(f"{name}: FAILED: {type(exc).__name__}: {exc}")
                for log_file in sorted(log_dir.glob(f"{name}*.log")):
                    sys.stderr.write(log_file.read_text()[-3000:])
                results.append({"server": name, "error": f"{type(exc).__name__}: {exc}"})
    return results


def main(argv: list[str] | None = None) -> int:
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args(argv)
    fds = raise_fd_limit()
    if fds < args.idle_sockets + args.clients + 200:
        log(f"only {fds} file descriptors: fewer idle sockets")
        args.idle_sockets = max(0, fds - args.clients - 200)
    results = asyncio.run(run_all(args))
    rows = print_report(results, args)
    if args.json:
        document = {
            "commit": _commit(),
            "cpus": os.cpu_count(),
            "load_average_end": os.getloadavg(),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "summary": rows,
            "results": results,
        }
        args.json.write_text(json.dumps(document, indent=2))
        log(f"wrote {args.json}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
