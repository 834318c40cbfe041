"""Process-local copies of the rows every call reads and that change almost
never: the app's settings and the channel types.

They live in the shared cache (Redis when the processes share one), but a
round trip to it for each of them cost a send a tenth of its time. So each
process also keeps what it read for ``LOCAL_SECONDS``. A change drops the
copies at once in the process that makes it and, through the hubs
(``chatengine.hub``), in every process that serves sockets; a process without
a hub (a WSGI worker serving the REST routes) sees it within
``LOCAL_SECONDS``.

A copy is shared by every thread of the process: callers read it, never
change it (the writers load the row for update themselves).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import cache

T = TypeVar("T")

# How long a process trusts its own copy without asking the shared cache.
LOCAL_SECONDS = 2.0

_copies: dict[str, tuple[float, Any]] = {}


def get(key: str, load: Callable[[], T], *, shared_seconds: int) -> T:
    """The value under ``key``: this process's copy if it is recent, else the
    shared cache's, else ``load()`` (kept in both)."""
    now = time.monotonic()
    found = _copies.get(key)
    if found is not None and found[0] > now:
        return found[1]
    value = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, shared_seconds)
    _copies[key] = (now + LOCAL_SECONDS, value)
    return value


def forget(keys: Iterable[str]) -> None:
    """Drop this process's copies of ``keys`` (not the shared cache's)."""
    for key in keys:
        _copies.pop(key, None)


def forget_all() -> None:
    _copies.clear()
