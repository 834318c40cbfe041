"""The engine's pool of database threads.

Every piece of the engine's synchronous work that an event loop hands off (a
REST call, a WebSocket handshake or close, the batched write of pings) runs
here, on ``CHATENGINE_DB_THREADS`` threads of its own, in one hop from the
loop: not on the single thread-sensitive thread that all of Django's and
Channels' sync work would otherwise queue behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from django.conf import settings

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def in_db_thread(func: Callable[..., T]) -> Callable[..., Any]:
    """``func`` as a coroutine run on the engine's pool of database threads
    (closing stale connections around it, as Channels does); with
    ``CHATENGINE_DB_THREADS = 0``, on Channels' one thread-sensitive thread."""
    global _pool
    func = getattr(func, "func", func)  # already wrapped by database_sync_to_async
    threads = getattr(settings, "CHATENGINE_DB_THREADS", 4)
    if threads <= 0:
        return database_sync_to_async(func)
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chatengine-db")
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_pool)
