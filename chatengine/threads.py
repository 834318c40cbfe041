"""The engine's pool of database threads.

Every piece of the engine's synchronous work that an event loop hands off (a
REST call, a WebSocket handshake or close, the batched write of pings) runs
here, on ``CHATENGINE_DB_THREADS`` threads of its own, in one hop from the
loop: not on the single thread-sensitive thread that all of Django's and
Channels' sync work would otherwise queue behind.

The hop is the event loop's own ``run_in_executor`` with the caller's context
variables (the request id of the log lines): none of the engine's sync work
calls back into async code, so asgiref's machinery for that (a quarter of
the loop's time per call under load) is not needed.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections

from tenants.rls import known_unscoped

P = ParamSpec("P")
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chatengine-db")
        return _pool


def _with_fresh_connections(call: Callable[[], T]) -> T:
    # As Channels does around each call: connections broken or past their
    # age are dropped (or given back to the pool) before and after.
    _between_calls()
    try:
        return call()
    finally:
        _between_calls()


def _between_calls() -> None:
    """Close what a call must not hand on; a database thread keeps a healthy
    pooled connection for its next call, rather than giving it back and
    taking one again around every call. A connection that may be scoped to a
    tenant still goes back, to be unscoped by whoever takes it next
    (``tenants.rls``); one broken, or left with autocommit off, is dropped as
    Django drops it."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
        # Kept only while the pool has more connections than there are threads
        # to keep them: otherwise a thread (or the rest of the process) would
        # wait for a connection nobody gives back.
        if pool is not None and pool.max_size > getattr(settings, "CHATENGINE_DB_THREADS", 4):
            if not known_unscoped(connection):
                connection.close()  # back to the pool, unscoped when next taken
                continue
            connection.close_at = None  # (a pooled connection's age is the pool's business)
        connection.close_if_unusable_or_obsolete()


def in_db_thread(func: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``func`` as a coroutine run on the engine's pool of database threads
    (closing stale connections around it, as Channels does); with
    ``CHATENGINE_DB_THREADS = 0``, on Channels' one thread-sensitive thread."""
    func = getattr(func, "func", func)  # already wrapped by database_sync_to_async
    threads = getattr(settings, "CHATENGINE_DB_THREADS", 4)
    if threads <= 0:
        return database_sync_to_async(func)
    pool = _executor(threads)

    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        context = contextvars.copy_context()
        call = functools.partial(
            context.run, _with_fresh_connections, functools.partial(func, *args, **kwargs)
        )
        return await asyncio.get_running_loop().run_in_executor(pool, call)

    return run
