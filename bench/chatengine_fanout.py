"""Fan-out benchmark of the built-in chat engine.

200 WebSocket clients watch 20 channels (10 watchers each). Senders post
messages through the REST API (server-side auth) as fast as the engine accepts
them, with a fixed number in flight, for a fixed time. Every watcher records
the delay from the send to the arrival of its ``message.new``.

The same load runs against a minimal echo-broadcast server written for this
benchmark (aiohttp: ``POST /send`` fans the body out to the sockets of a room),
as the floor of what any Python WebSocket fan-out costs on this machine.

    .venv/bin/python bench/chatengine_fanout.py [--seconds 20] [--in-flight 8]

Prints messages/s, deliveries/s and the p50/p99 send-to-delivery delay for
both servers, and their ratio. The engine runs as ``make run`` serves it
(daphne, in-memory channel layer, SQLite unless DATABASE_URL names PostgreSQL);
with ``--rest-workers N`` REST is served by N gunicorn (WSGI) workers and the
sockets by daphne, sharing Redis (db 14), the scale-out layout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import jwt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatengine.tests.live import (  # noqa: E402
    API_KEY,
    API_SECRET,
    fresh_database,
    migrate,
    server_env,
    stop_process,
)
from chatplatform.tests.servers import free_port, python  # noqa: E402

CLIENTS = 200
CHANNELS = 20


@dataclass
class Result:
    name: str
    seconds: float
    sent: int = 0
    delays: list[float] = field(default_factory=list)

    def line(self) -> str:
        delays = sorted(self.delays)
        p50 = statistics.median(delays) * 1000 if delays else float("nan")
        p99 = delays[int(len(delays) * 0.99) - 1] * 1000 if delays else float("nan")
        return (
            f"{self.name:<14} {self.sent / self.seconds:8.1f} msg/s  "
            f"{len(delays) / self.seconds:9.1f} deliveries/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
            f"({self.sent} messages, {len(delays)} deliveries)"
        )


# ---------------------------------------------------------------------------
# The load: senders with a fixed number in flight, receivers timing arrivals
# ---------------------------------------------------------------------------
async def run_load(
    name: str,
    seconds: float,
    in_flight: int,
    open_receivers: Callable[
        [aiohttp.ClientSession], Awaitable[list[tuple[aiohttp.ClientWebSocketResponse, str]]]
    ],
    send: Callable[[aiohttp.ClientSession, int, str], Awaitable[None]],
) -> Result:
    result = Result(name, seconds)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        print(f"{name}: connecting {CLIENTS} clients", file=sys.stderr)
        sockets = await open_receivers(session)
        print(f"{name}: sending for {seconds:.0f} s", file=sys.stderr)
        started = time.perf_counter()

        async def receive(ws: aiohttp.ClientWebSocketResponse, marker: str) -> None:
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(frame.data)
                text = data.get("message", {}).get("text") or data.get("text") or ""
                if text.startswith(marker):
                    result.delays.append(time.perf_counter() - float(text[len(marker) :]))

        readers = [asyncio.create_task(receive(ws, "sent@")) for ws, _ in sockets]
        deadline = time.perf_counter() + seconds
        counter = 0

        async def sender() -> None:
            nonlocal counter
            while time.perf_counter() < deadline:
                channel = counter % CHANNELS
                counter += 1
                await send(session, channel, f"sent@{time.perf_counter()}")
                result.sent += 1

        await asyncio.gather(*(sender() for _ in range(in_flight)))
        print(f"{name}: sent {result.sent} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        await asyncio.sleep(2)  # let the last deliveries land
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws, _ in sockets), return_exceptions=True)
    return result


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------
def user_token(user_id: str) -> str:
    return jwt.encode({"user_id": user_id, "iat": int(time.time()) - 5}, API_SECRET, algorithm="HS256")


SERVER_TOKEN = jwt.encode({"server": True}, API_SECRET, algorithm="HS256")


async def engine_load(base: str, seconds: float, in_flight: int, ws_base: str | None = None) -> Result:
    headers = {"Authorization": SERVER_TOKEN, "stream-auth-type": "jwt"}
    params = {"api_key": API_KEY}
    users = [f"u{i:03d}" for i in range(CLIENTS)]

    print("chat engine: creating users and channels", file=sys.stderr)
    async with aiohttp.ClientSession() as setup:
        for start in range(0, CLIENTS, 100):
            batch = {u: {"id": u, "teams": ["bench"]} for u in users[start : start + 100]}
            async with setup.post(
                f"{base}/users", params=params, json={"users": batch}, headers=headers
            ) as r:
                assert r.status == 201, await r.text()
        for c in range(CHANNELS):
            members = users[c::CHANNELS]
            body = {"data": {"team": "bench", "members": members, "created_by": {"id": members[0]}}}
            async with setup.post(
                f"{base}/channels/messaging/bench-{c}/query", params=params, json=body, headers=headers
            ) as r:
                assert r.status == 201, await r.text()

    async def open_receivers(
        session: aiohttp.ClientSession,
    ) -> list[tuple[aiohttp.ClientWebSocketResponse, str]]:
        async def one(index: int) -> tuple[aiohttp.ClientWebSocketResponse, str]:
            user = users[index]
            query = urlencode(
                {
                    "json": json.dumps({"user_id": user, "user_details": {"id": user}}),
                    "api_key": API_KEY,
                    "authorization": user_token(user),
                    "stream-auth-type": "jwt",
                }
            )
            ws = await session.ws_connect(
                (ws_base or base).replace("http", "ws", 1) + "/connect?" + query, max_msg_size=0
            )
            hello = json.loads((await ws.receive()).data)
            watch = {"state": True, "watch": True, "messages": {"limit": 1}}
            async with session.post(
                f"{base}/channels/messaging/bench-{index % CHANNELS}/query",
                params={**params, "connection_id": hello["connection_id"]},
                json=watch,
                headers={"Authorization": user_token(user), "stream-auth-type": "jwt"},
            ) as r:
                assert r.status == 201, await r.text()
            return ws, user

        sockets = []
        for start in range(0, CLIENTS, 20):
            sockets += await asyncio.gather(*(one(i) for i in range(start, min(CLIENTS, start + 20))))
        return sockets

    async def send(session: aiohttp.ClientSession, channel: int, text: str) -> None:
        body = {"message": {"text": text, "user_id": users[channel]}}
        async with session.post(
            f"{base}/channels/messaging/bench-{channel}/message", params=params, json=body, headers=headers
        ) as r:
            if r.status != 201:
                raise RuntimeError(await r.text())

    return await run_load("chat engine", seconds, in_flight, open_receivers, send)


# ---------------------------------------------------------------------------
# The echo-broadcast baseline
# ---------------------------------------------------------------------------
ECHO_SERVER = """
import asyncio, sys
from collections import defaultdict
from aiohttp import web

rooms = defaultdict(set)

async def ws_handler(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    room = request.query["room"]
    rooms[room].add(ws)
    await ws.send_str('{"type": "hello"}')
    try:
        async for _ in ws:
            pass
    finally:
        rooms[room].discard(ws)
    return ws

async def send_handler(request):
    body = await request.text()
    room = request.query["room"]
    await asyncio.gather(*(ws.send_str(body) for ws in list(rooms[room])))
    return web.Response(status=201, text="{}")

app = web.Application()
app.add_routes([web.get("/ws", ws_handler), web.post("/send", send_handler)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


async def echo_load(base: str, seconds: float, in_flight: int) -> Result:
    async def open_receivers(
        session: aiohttp.ClientSession,
    ) -> list[tuple[aiohttp.ClientWebSocketResponse, str]]:
        sockets = []
        for index in range(CLIENTS):
            ws = await session.ws_connect(f"{base.replace('http', 'ws', 1)}/ws?room={index % CHANNELS}")
            await ws.receive()
            sockets.append((ws, str(index)))
        return sockets

    async def send(session: aiohttp.ClientSession, channel: int, text: str) -> None:
        payload = json.dumps({"type": "message.new", "message": {"text": text}})
        async with session.post(f"{base}/send", params={"room": channel}, data=payload) as r:
            assert r.status == 201

    return await run_load("echo baseline", seconds, in_flight, open_receivers, send)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited early")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not open")


def main() -> None:
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument(
        "--rest-workers",
        type=int,
        default=0,
        help="serve REST from this many gunicorn (WSGI) workers, sockets from daphne, through Redis",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fresh_database(Path(tmp)) as database_url:
        migrate(database_url)
        env = {**os.environ, **server_env(database_url)}
        if args.rest_workers:
            # Several processes serve one engine through Redis (its own database, 14).
            env.update(REDIS_URL="redis://127.0.0.1:6379/14", CACHE_KEY_PREFIX=f"bench-{os.getpid()}")
        port = free_port()
        servers = [
            subprocess.Popen(
                [
                    python(),
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "chatplatform.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]
        rest_port = port
        if args.rest_workers:
            rest_port = free_port()
            servers.append(
                subprocess.Popen(
                    [
                        python(),
                        "-m",
                        "gunicorn",
                        "-w",
                        str(args.rest_workers),
                        "-b",
                        f"127.0.0.1:{rest_port}",
                        "chatplatform.wsgi:application",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        try:
            wait_for_port(port, servers[0])
            wait_for_port(rest_port, servers[-1])
            engine_result = asyncio.run(
                engine_load(
                    f"http://127.0.0.1:{rest_port}/chat-api",
                    args.seconds,
                    args.in_flight,
                    ws_base=f"http://127.0.0.1:{port}/chat-api",
                )
            )
        finally:
            for server in servers:
                stop_process(server)
        if args.rest_workers:
            engine_result.name = f"engine+{args.rest_workers}wsgi"

    echo_port = free_port()
    echo = subprocess.Popen([python(), "-c", ECHO_SERVER, str(echo_port)], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(echo_port, echo)
        echo_result = asyncio.run(echo_load(f"http://127.0.0.1:{echo_port}", args.seconds, args.in_flight))
    finally:
        stop_process(echo)

    print(
        f"{CLIENTS} WebSocket clients, {CHANNELS} channels ({CLIENTS // CHANNELS} watchers each), "
        f"{args.in_flight} sends in flight, {args.seconds:.0f} s, {os.cpu_count()} CPUs "
        f"(load generator on the same machine)"
    )
    print(engine_result.line())
    print(echo_result.line())
    ratio = (engine_result.sent / args.seconds) / (echo_result.sent / args.seconds)
    print(f"engine / echo throughput: {ratio:.3f}")


if __name__ == "__main__":
    main()
