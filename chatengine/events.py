"""Event delivery: build Stream event envelopes and hand them to the channel
layer once the transaction that caused them has committed.

Two kinds of groups carry events. A channel's group holds every connection
watching it; a user's group holds every connection of that user (for
``notification.*`` events). Group names are hashes because cids and user ids
hold characters channel layers refuse.

Fields that differ per recipient (unread counts) travel next to the event as
``per_user`` and the consumer merges its own user's entry before sending.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from chatengine import metrics
from chatengine.errors import StreamError
from chatengine.models import Channel
from chatengine.serializers import iso

logger = logging.getLogger(__name__)

EVENT_MESSAGE_TYPE = "chat.event"


def channel_group(cid: str) -> str:
    return "chat.c." + hashlib.sha256(cid.encode()).hexdigest()[:48]


def user_group(user_id: str) -> str:
    return "chat.u." + hashlib.sha256(user_id.encode()).hexdigest()[:48]


def envelope(event_type: str, source: Channel | None = None, /, **fields: Any) -> dict[str, Any]:
    """A Stream event: ``type``, ``created_at``, the channel it happened in
    (``source``: cid, id, type, team ...) and the event's own ``fields``."""
    event: dict[str, Any] = {"type": event_type, "created_at": iso(timezone.now())}
    if source is not None:
        event.update(
            cid=source.cid,
            channel_id=source.channel_id,
            channel_type=source.type,
            channel_member_count=source.member_count,
            channel_custom=dict(source.custom or {}),
        )
        if source.team:
            event["team"] = source.team
    event.update(fields)
    return event


# A channel-layer call: ("group_send", group, message) or ("group_discard", group, channel name).
Operation = tuple[str, str, Any]
# A batch of operations, and what to set once they are done (when someone waits).
Batch = tuple[list[Operation], threading.Event | None]

# How long a request waits for unsubscriptions that take a channel away from
# someone before it answers (the channel layer is local or a Redis round trip).
UNSUBSCRIBE_WAIT_SECONDS = 5.0


async def _deliver(operations: list[Operation]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for method, group, argument in operations:
        try:
            await getattr(layer, method)(group, argument)
        except Exception:
            # A lost event is recoverable (clients re-query on reconnect); a failed
            # request after a committed write is not.
            logger.exception("chat engine %s to %s failed", method, group)


class _Publisher:
    """Hands events to the channel layer without making the request wait.

    Under the ASGI server a view runs in a worker thread while the channel layer
    lives on the server's event loop: events are queued onto that loop. Without
    one (a WSGI worker, a management command) they are queued onto a loop of the
    publisher's own, in a background thread, rather than paying for a new event
    loop per event. Either way one task per loop drains its queue, so events
    leave in commit order and the request never waits for the fan-out (only,
    when asked to, for a batch that takes a channel away from a socket).
    """

    def __init__(self) -> None:
        self._queues: dict[asyncio.AbstractEventLoop, asyncio.Queue[Batch]] = {}
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._own_pid = 0
        self._lock = threading.Lock()

    def submit(self, sends: list[Operation], *, wait: float | None = None) -> None:
        """Queue ``sends``; with ``wait``, return only once they (and so everything
        queued before them) reached the channel layer, or ``wait`` seconds passed."""
        loop = _server_loop() or self._background_loop()
        done = threading.Event() if wait is not None and not _runs_on(loop) else None
        loop.call_soon_threadsafe(self._enqueue, loop, (sends, done))
        if done is not None and not done.wait(wait):
            logger.error("chat engine channel layer did not confirm %d operations in %ss", len(sends), wait)

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked worker inherits the attribute but not the thread.
            if self._own_loop is None or self._own_pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="chatengine-events", daemon=True).start()
                self._own_loop, self._own_pid = loop, os.getpid()
            return self._own_loop

    def _enqueue(self, loop: asyncio.AbstractEventLoop, batch: Batch) -> None:
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = asyncio.Queue()
            loop.create_task(self._drain(queue))
        queue.put_nowait(batch)

    async def _drain(self, queue: asyncio.Queue[Batch]) -> None:
        while True:
            sends, done = await queue.get()
            await _deliver(sends)
            if done is not None:
                done.set()


def _runs_on(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this thread is running ``loop`` (waiting on it here would never end)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the ASGI server this thread works for, if any (asgiref
    records it for every thread it runs sync code in)."""
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


_publisher = _Publisher()


def _publish_event(operations: list[Operation]) -> None:
    """Hand one event (to one group or to many) to the publisher, and count it."""
    metrics.EVENTS.inc()
    _publisher.submit(operations)


def _message(
    event: dict[str, Any], per_user: dict[str, dict[str, Any]] | None, exclude: list[str] | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"type": EVENT_MESSAGE_TYPE, "event": event, "per_user": per_user or {}}
    if exclude:
        message["exclude"] = exclude
    return message


def to_channel(
    cid: str,
    event: dict[str, Any],
    per_user: dict[str, dict[str, Any]] | None = None,
    *,
    exclude: list[str] | None = None,
) -> None:
    """Deliver ``event`` to every connection watching ``cid``, after commit,
    but those of the users in ``exclude`` (who block the user it comes from)."""
    operations = [("group_send", channel_group(cid), _message(event, per_user, exclude))]
    transaction.on_commit(lambda: _publish_event(operations))


def to_users(
    user_ids: list[str], event: dict[str, Any], per_user: dict[str, dict[str, Any]] | None = None
) -> None:
    """Deliver ``event`` to every connection of each user, after commit."""
    message = _message(event, per_user)
    operations = [("group_send", user_group(user_id), message) for user_id in dict.fromkeys(user_ids)]
    if operations:
        transaction.on_commit(lambda: _publish_event(operations))


DISCONNECT_MESSAGE_TYPE = "chat.disconnect"


def disconnect_users(user_ids: list[str], error: StreamError) -> None:
    """Close every socket of these users after commit, with a ``connection.error``
    saying why: a deactivated or deleted user, or revoked tokens, must stop
    hearing events at once, not at its next reconnect."""
    message = {"type": DISCONNECT_MESSAGE_TYPE, "error": error.body(duration="")}
    operations = [("group_send", user_group(user_id), message) for user_id in dict.fromkeys(user_ids)]
    if operations:
        transaction.on_commit(lambda: _publisher.submit(operations))


def subscribe(channel_names: list[str], cids: list[str]) -> None:
    """Add connections to channel groups once the transaction commits. This one
    waits: events sent after the request must find the socket subscribed."""
    layer = get_channel_layer()
    if layer is None or not channel_names or not cids:
        return

    async def add() -> None:
        for cid in cids:
            for name in channel_names:
                await layer.group_add(channel_group(cid), name)

    transaction.on_commit(async_to_sync(add))


def unsubscribe(channel_names: list[str], cids: list[str], *, revoke: bool = False) -> None:
    """Remove connections from channel groups once the transaction commits,
    after the events already queued.

    A socket that closes is not waited for (one closing while its server shuts
    down must not block a worker thread on an event loop that is going away).
    One that loses a channel it may no longer read (``revoke``) is: the request
    answers only once the channel layer dropped it, so no event the caller
    causes next, in any process, still reaches it."""
    operations = [("group_discard", channel_group(cid), name) for cid in cids for name in channel_names]
    if operations:
        wait = UNSUBSCRIBE_WAIT_SECONDS if revoke else None
        transaction.on_commit(lambda: _publisher.submit(operations, wait=wait))
