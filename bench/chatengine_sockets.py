"""Socket-side benchmark of the built-in chat engine: connects, idle memory,
pings, and a burst into one channel.

N clients (default 1,000) connect in batches and each watches its channel
(C channels, default 50), reading from the first frame on (so the server's
keepalive pings are answered). Then every client pings at once, and finally
M messages (default 500) go into channel 0 through the REST API with a few in
flight, and every watcher of it must hear each one, in one order.

The same connects run against the echo-broadcast baseline of
``chatengine_fanout`` (aiohttp, no auth, no storage) in the same run.

    .venv/bin/python bench/chatengine_sockets.py [--clients 1000] [--channels 50] [--burst 500]

Prints a table (connects/s, server RSS per idle socket, pings/s, burst msg/s
and deliveries/s, lost and out of order deliveries) and JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.chatengine_fanout import ECHO_SERVER, SERVER_TOKEN, user_token, wait_for_port  # noqa: E402
from chatengine.tests.live import API_KEY, fresh_database, migrate, server_env, stop_process  # noqa: E402
from chatplatform.tests.servers import free_port, python  # noqa: E402

BATCH = 50


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Client:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: asyncio.Queue[dict] = asyncio.Queue()
        self.texts: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(frame.data)
            if data.get("type") == "message.new":
                self.texts.append(data["message"]["text"])
            else:
                self.frames.put_nowait(data)

    async def next(self, event_type: str) -> dict:
        while True:
            frame = await self.frames.get()
            if frame.get("type") == event_type:
                return frame


async def engine_run(base: str, pid: int, clients: int, channels: int, burst: int) -> dict:
    params = {"api_key": API_KEY}
    server = {"Authorization": SERVER_TOKEN, "stream-auth-type": "jwt"}
    users = [f"u{i:04d}" for i in range(clients)]
    result: dict = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for start in range(0, clients, 100):
            batch = {u: {"id": u, "teams": ["bench"]} for u in users[start : start + 100]}
            async with session.post(
                f"{base}/users", params=params, json={"users": batch}, headers=server
            ) as r:
                assert r.status == 201, await r.text()
        for c in range(channels):
            members = users[c::channels]
            body = {"data": {"team": "bench", "members": members, "created_by": {"id": members[0]}}}
            url = f"{base}/channels/messaging/bench-{c}/query"
            async with session.post(url, params=params, json=body, headers=server) as r:
                assert r.status == 201, await r.text()

        async def connect(index: int) -> Client:
            user = users[index]
            query = urlencode(
                {
                    "json": json.dumps({"user_id": user, "user_details": {"id": user}}),
                    "api_key": API_KEY,
                    "authorization": user_token(user),
                    "stream-auth-type": "jwt",
                }
            )
            ws = await session.ws_connect(base.replace("http", "ws", 1) + "/connect?" + query, max_msg_size=0)
            client = Client(ws)
            hello = await asyncio.wait_for(client.next("health.check"), 60)
            watch = {"state": True, "watch": True, "messages": {"limit": 1}}
            async with session.post(
                f"{base}/channels/messaging/bench-{index % channels}/query",
                params={**params, "connection_id": hello["connection_id"]},
                json=watch,
                headers={"Authorization": user_token(user), "stream-auth-type": "jwt"},
            ) as r:
                assert r.status == 201, await r.text()
            return client

        before = rss_kib(pid)
        started = time.perf_counter()
        sockets: list[Client] = []
        for start in range(0, clients, BATCH):
            sockets += await asyncio.gather(*(connect(i) for i in range(start, min(clients, start + BATCH))))
        result["connects_per_s"] = clients / (time.perf_counter() - started)
        await asyncio.sleep(2)
        result["rss_per_socket_kib"] = (rss_kib(pid) - before) / clients
        result["rss_mib"] = rss_kib(pid) / 1024

        started = time.perf_counter()
        for client in sockets:
            await client.ws.send_str(json.dumps([{"type": "health.check", "client_id": "bench"}]))
        await asyncio.gather(*(asyncio.wait_for(c.next("health.check"), 60) for c in sockets))
        result["pings_per_s"] = clients / (time.perf_counter() - started)

        watchers = [c for i, c in enumerate(sockets) if i % channels == 0]
        for client in watchers:
            client.texts.clear()
        author = users[0]
        sent: list[str] = []
        counter = iter(range(burst))

        async def sender() -> None:
            for n in counter:
                body = {"message": {"text": f"burst-{n}", "user_id": author}}
                url = f"{base}/channels/messaging/bench-0/message"
                while True:
                    async with session.post(url, params=params, json=body, headers=server) as r:
                        if r.status == 429:  # refused past the ceiling: wait as told, send again
                            await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                            continue
                        assert r.status == 201, await r.text()
                        break
                sent.append(f"burst-{n}")

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(8)))
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and any(len(c.texts) < burst for c in watchers):
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        result["burst_msg_per_s"] = burst / elapsed
        result["burst_deliveries_per_s"] = sum(len(c.texts) for c in watchers) / elapsed
        result["burst_watchers"] = len(watchers)
        result["lost"] = sum(burst - len(set(c.texts)) for c in watchers)
        result["out_of_order"] = sum(c.texts != watchers[0].texts for c in watchers[1:])
        for client in sockets:
            client.reader.cancel()
        await asyncio.gather(*(c.ws.close() for c in sockets), return_exceptions=True)
    return result


async def echo_run(base: str, clients: int, channels: int) -> dict:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def connect(index: int) -> aiohttp.ClientWebSocketResponse:
            ws = await session.ws_connect(f"{base.replace('http', 'ws', 1)}/ws?room={index % channels}")
            await ws.receive()
            return ws

        started = time.perf_counter()
        sockets = []
        for start in range(0, clients, BATCH):
            sockets += await asyncio.gather(*(connect(i) for i in range(start, min(clients, start + BATCH))))
        result = {"connects_per_s": clients / (time.perf_counter() - started)}
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return result


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--burst", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fresh_database(Path(tmp)) as database_url:
        migrate(database_url)
        env = {**os.environ, **server_env(database_url)}
        port = free_port()
        command = [
            python(),
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "chatplatform.asgi:application",
        ]
        daphne = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port(port, daphne)
            engine = asyncio.run(
                engine_run(
                    f"http://127.0.0.1:{port}/chat-api", daphne.pid, args.clients, args.channels, args.burst
                )
            )
        finally:
            stop_process(daphne)

    echo_port = free_port()
    echo = subprocess.Popen([python(), "-c", ECHO_SERVER, str(echo_port)], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(echo_port, echo)
        baseline = asyncio.run(echo_run(f"http://127.0.0.1:{echo_port}", args.clients, args.channels))
    finally:
        stop_process(echo)

    print(
        f"{args.clients} clients in {args.channels} channels, burst of {args.burst} messages into one "
        f"channel of {engine['burst_watchers']} watchers, {os.cpu_count()} CPUs (clients on the same machine)"
    )
    print(f"{'':<28}{'engine':>12}{'echo':>12}{'ratio':>8}")
    connects, echo = engine["connects_per_s"], baseline["connects_per_s"]
    print(f"{'connects/s (with watch)':<28}{connects:>12.1f}{echo:>12.1f}{connects / echo:>8.3f}")
    for key, label in [
        ("rss_per_socket_kib", "RSS per idle socket (KiB)"),
        ("rss_mib", "server RSS (MiB)"),
        ("pings_per_s", "pings answered/s"),
        ("burst_msg_per_s", "burst msg/s"),
        ("burst_deliveries_per_s", "burst deliveries/s"),
        ("lost", "lost deliveries"),
        ("out_of_order", "watchers out of order"),
    ]:
        print(f"{label:<28}{engine[key]:>12.1f}")
    print(json.dumps({"engine": engine, "echo": baseline}))


if __name__ == "__main__":
    main()
