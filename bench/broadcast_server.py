"""The floor for ``bench/engine_load.py``: a minimal broadcast server.

Fan-out to the sockets of a room with the ``websockets`` library; no auth, no
storage. Every frame a client sends is a JSON object answered on the same
socket (``id`` echoed), so the load generator drives it as it drives the
engine's REST calls, one request and one answer:

- ``{"type": "watch", "room": r, "id": n}``: join room ``r`` (the engine's watch);
- ``{"type": "send", "room": r, "id": n, "message": {...}}``: send
  ``{"type": "message.new", "cid": r, "message": {...}}`` to every socket of
  the room, serialized once (the engine's message send);
- a ``health.check`` ping (a JSON array, as Stream's SDKs send it) is answered in kind.

    python bench/broadcast_server.py PORT
"""

import asyncio
import json
import sys
import uuid
from collections import defaultdict

from websockets.asyncio.server import broadcast, serve

rooms: dict[str, set] = defaultdict(set)


async def handler(ws) -> None:
    joined: list[str] = []
    await ws.send(json.dumps({"type": "health.check", "connection_id": str(uuid.uuid4())}))
    try:
        async for text in ws:
            frame = json.loads(text)
            if isinstance(frame, list):
                await ws.send('{"type":"health.check"}')
            elif frame["type"] == "watch":
                rooms[frame["room"]].add(ws)
                joined.append(frame["room"])
                await ws.send(json.dumps({"type": "watched", "id": frame["id"]}))
            elif frame["type"] == "send":
                event = {"type": "message.new", "cid": frame["room"], "message": frame["message"]}
                broadcast(rooms[frame["room"]], json.dumps(event, separators=(",", ":")))
                await ws.send(json.dumps({"type": "sent", "id": frame["id"]}))
    finally:
        for room in joined:
            rooms[room].discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_queue=None, compression=None, ping_interval=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
