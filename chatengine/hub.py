"""The process-local hub of the engine's sockets: fan-out without a channel
layer message per socket.

Each server process holds one hub per event loop. It knows the sockets of the
process by name, by the channels (cids) each watches and by user. An event
reaches the hub once per process, already serialized; the hub hands that same
text to every recipient socket, merging a recipient's own fields (unread
counts, ``per_user``) only for the recipients that have some, and skipping the
users in ``exclude``.

How an event reaches the hubs (``transport()``):

- without Redis (``make run``: one process) the request thread hands it to the
  hub's event loop directly, in commit order;
- with ``REDIS_URL`` every process publishes to one Redis pub/sub topic and
  every hub listens to it: one message per event per process, whatever the
  number of sockets. Redis orders the messages of all publishers, so a
  subscription or an unsubscription published before a request answers is
  applied, in every process, before any event published after it.

Subscriptions (a ``watch`` served by any process names a socket) travel the
same way, so they apply in order with the events around them, and so does the
word to drop a process's copies of a changed row (``chatengine.copies``).

Pings never wait for the database: a socket's last ping is kept here and
written for all of the hub's sockets in one UPDATE every few seconds
(``SEEN_FLUSH_SECONDS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
from django.conf import settings

from chatengine import copies

logger = logging.getLogger(__name__)

# What travels to a hub: the routing header and the event, serialized once.
Header = dict[str, Any]

# How often the last pings of a process's sockets are written (one UPDATE).
# Clients ping every 25 s and a connection is dead after 90 s of silence.
SEEN_FLUSH_SECONDS = 5.0


class Socket(Protocol):
    name: str
    user_id: str
    connection_id: str

    def push(self, text: str) -> None:
        """Queue one frame for the client."""

    def end(self, error: str, code: int) -> None:
        """After the frames queued, send ``connection.error`` with ``error`` (a
        serialized error body; none when empty) and close with ``code``."""


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _with_own(body: str, own: dict[str, Any], merge: bool) -> str:
    """``body`` (a serialized event) completed with a recipient's ``own`` fields."""
    if merge:
        # Some own field replaces one of the event's: merge as objects.
        return dumps({**orjson.loads(body), **own})
    extra = dumps(own)
    return body[:-1] + "," + extra[1:] if len(extra) > 2 else body


class Hub:
    """The sockets of this process on one event loop (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.id = uuid.uuid4().hex
        self.sockets: dict[str, Socket] = {}
        self.watchers: dict[str, dict[str, Socket]] = {}
        self.users: dict[str, dict[str, Socket]] = {}
        self.watching: dict[str, set[str]] = {}
        # Connection ids pinged since the last flush.
        self.seen: set[str] = set()
        # Frames queued on this hub's sockets and not yet written.
        self.queued = 0
        # Messages handed to this hub's loop (by request threads) and not yet applied.
        self._posted = 0
        self._applied = 0
        self._posted_lock = threading.Lock()
        self._tasks: list[asyncio.Task] = []
        # Set once the hub hears what other processes publish.
        self.ready = asyncio.Event()
        self._flush: Callable[[list[str]], Any] | None = None

    def new_name(self) -> str:
        return f"chat.{self.id}!{uuid.uuid4().hex}"

    # -- sockets -------------------------------------------------------
    def add(self, socket: Socket) -> None:
        self.sockets[socket.name] = socket
        self.users.setdefault(socket.user_id, {})[socket.name] = socket

    def remove(self, socket: Socket) -> None:
        self.sockets.pop(socket.name, None)
        self.seen.discard(socket.connection_id)
        own = self.users.get(socket.user_id)
        if own is not None:
            own.pop(socket.name, None)
            if not own:
                del self.users[socket.user_id]
        for cid in self.watching.pop(socket.name, ()):
            self._unwatch(cid, socket.name)

    def _unwatch(self, cid: str, name: str) -> None:
        watchers = self.watchers.get(cid)
        if watchers is not None:
            watchers.pop(name, None)
            if not watchers:
                del self.watchers[cid]

    def backlog(self) -> int:
        """What this hub has still to deliver: frames queued on its sockets and
        messages waiting for its loop."""
        return self.queued + self._posted - self._applied

    def post(self, apply: Callable[[], None]) -> None:
        """Run ``apply`` on the hub's loop (from any thread), counted in ``backlog``."""
        with self._posted_lock:
            self._posted += 1

        def run() -> None:
            self._applied += 1
            apply()

        self.loop.call_soon_threadsafe(run)

    # -- what arrives ----------------------------------------------------
    def handle(self, header: Header, body: str) -> None:
        """Apply one message (an event or a subscription change) to this hub's sockets."""
        kind = header["k"]
        if kind == "c":
            self._fan(self.watchers.get(header["cid"], {}).values(), header, body)
        elif kind == "u":
            self._fan(self._of_users(header["users"]), header, body)
        elif kind == "n":
            found = (self.sockets.get(name) for name in header["names"])
            self._fan([socket for socket in found if socket is not None], header, body)
        elif kind == "d":
            for socket in list(self._of_users(header["users"])):
                socket.end(body, 1000)
        elif kind == "s":
            for name in header["names"]:
                subscriber = self.sockets.get(name)
                if subscriber is not None:
                    for cid in header["cids"]:
                        self.watchers.setdefault(cid, {})[name] = subscriber
                        self.watching.setdefault(name, set()).add(cid)
        elif kind == "f":
            copies.forget(header["keys"])
        elif kind == "x":
            for name in header["names"]:
                cids = self.watching.get(name)
                for cid in header["cids"]:
                    self._unwatch(cid, name)
                    if cids is not None:
                        cids.discard(cid)

    def _of_users(self, user_ids: list[str]) -> list[Socket]:
        return [socket for uid in user_ids for socket in self.users.get(uid, {}).values()]

    def _fan(self, sockets: Any, header: Header, body: str) -> None:
        exclude = header.get("exclude")
        per_user = header.get("per_user")
        merge = bool(header.get("merge"))
        texts: dict[str, str] = {}
        for socket in list(sockets):
            user_id = socket.user_id
            if exclude and user_id in exclude:
                continue
            own = per_user.get(user_id) if per_user else None
            if own:
                text = texts.get(user_id)
                if text is None:
                    text = texts[user_id] = _with_own(body, own, merge)
                socket.push(text)
            else:
                socket.push(body)

    def lost_messages(self) -> None:
        """Events may have been missed (the Redis subscription broke): every
        socket is closed with a code that makes the SDK reconnect and re-query."""
        for socket in list(self.sockets.values()):
            socket.end("", 1012)

    # -- pings ------------------------------------------------------------
    def saw(self, connection_id: str) -> None:
        self.seen.add(connection_id)

    def take_seen(self) -> list[str]:
        seen, self.seen = sorted(self.seen), set()
        return seen

    async def _flush_seen(self, write: Callable[[list[str]], Any]) -> None:
        while True:
            await asyncio.sleep(SEEN_FLUSH_SECONDS)
            ids = self.take_seen()
            if ids:
                try:
                    await write(ids)
                except Exception:
                    logger.exception("chat engine could not write the last pings of %d sockets", len(ids))

    def start(self, write_seen: Callable[[list[str]], Any]) -> None:
        self._tasks.append(self.loop.create_task(self._flush_seen(write_seen)))
        redis_transport = transport()
        if isinstance(redis_transport, RedisTransport):
            self._tasks.append(self.loop.create_task(redis_transport.listen(self)))
        else:
            self.ready.set()


# ---------------------------------------------------------------------------
# The hubs of this process
# ---------------------------------------------------------------------------
_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}
_hubs_lock = threading.Lock()


def current(write_seen: Callable[[list[str]], Any]) -> Hub:
    """The hub of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        with _hubs_lock:
            for old in [old for old in _hubs if old.is_closed()]:
                del _hubs[old]
            hub = _hubs[loop] = Hub(loop)
        hub.start(write_seen)
    return hub


def _local_hubs() -> list[Hub]:
    return [hub for loop, hub in list(_hubs.items()) if not loop.is_closed()]


# ---------------------------------------------------------------------------
# Transports
# ---------------------------------------------------------------------------
class LocalTransport:
    """One process: hand messages to this process's hubs on their loops."""

    def publish(self, header: Header, body: str, *, wait: float | None = None) -> None:
        for hub in _local_hubs():
            if _runs_on(hub.loop):
                hub.handle(header, body)
                continue
            done = threading.Event() if wait is not None else None

            def apply(hub: Hub = hub, done: threading.Event | None = done) -> None:
                try:
                    hub.handle(header, body)
                finally:
                    if done is not None:
                        done.set()

            try:
                hub.post(apply)
            except RuntimeError:  # the loop closed meanwhile
                continue
            if done is not None and not done.wait(wait):
                logger.error("chat engine hub did not confirm a %s in %ss", header["k"], wait)


class RedisTransport:
    """Several processes: one Redis pub/sub topic that every hub listens to."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        # Pub/sub topics are not scoped by Redis database: name the database too.
        database = urlsplit(url).path.lstrip("/") or "0"
        self.topic = f"{prefix}:chatengine:hub:{database}"
        self._client: Any = None
        self._lock = threading.Lock()

    def _sync_client(self) -> Any:
        import redis

        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)
            return self._client

    def publish(self, header: Header, body: str, *, wait: float | None = None) -> None:
        # PUBLISH returns once Redis took the message: what is published after
        # it, by any process, reaches every hub after it.
        self._sync_client().publish(self.topic, orjson.dumps(header) + b"\n" + body.encode())

    async def listen(self, hub: Hub) -> None:
        import redis.asyncio as aioredis

        while True:
            client = aioredis.Redis.from_url(self.url)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.topic)
                async for message in pubsub.listen():
                    if message.get("type") == "subscribe":
                        hub.ready.set()
                    if message.get("type") != "message":
                        continue
                    raw: bytes = message["data"]
                    cut = raw.index(b"\n")
                    try:
                        hub.handle(orjson.loads(raw[:cut]), raw[cut + 1 :].decode())
                    except Exception:
                        logger.exception("chat engine hub could not apply a message")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("chat engine lost its Redis subscription; reconnecting its sockets")
                hub.ready.clear()
                hub.lost_messages()
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                    await client.aclose()


def _runs_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


_transport: LocalTransport | RedisTransport | None = None


def transport() -> LocalTransport | RedisTransport:
    global _transport
    if _transport is None:
        url = getattr(settings, "REDIS_URL", "")
        _transport = RedisTransport(url, settings.CACHE_KEY_PREFIX) if url else LocalTransport()
    return _transport


def overloaded() -> bool:
    """Whether a hub of this process has at least ``CHATENGINE_MAX_BACKLOG``
    deliveries waiting: new sends are then refused (Stream's 429) rather
    than queued behind them, and nothing already accepted is dropped."""
    limit = settings.CHATENGINE_MAX_BACKLOG
    return any(hub.backlog() >= limit for hub in _local_hubs())


def publish(header: Header, event: Any, *, wait: float | None = None) -> None:
    """Send one message to every hub (``event``: a dict serialized here once, or text)."""
    body = event if isinstance(event, str) else dumps(event)
    transport().publish(header, body, wait=wait)
