"""Django's Redis cache with one connection pool per process.

Django keeps a cache object per thread and per async context, and each of its
Redis cache objects opens its own connection pool. Under ASGI every request
runs in a context of its own, so every request built a new pool and opened a
new TCP connection to Redis for its first cache read. Here the objects of one
process share their client (redis-py's pools are thread-safe), so a request
borrows a connection that is already open.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple[str, str], RedisCacheClient] = {}
_lock = threading.Lock()


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        # (Read as Django reads them.)
        self._shared_servers = re.split("[;,]", server) if isinstance(server, str) else list(server)
        self._shared_options = params.get("OPTIONS", {})
        self._shared_key = (",".join(self._shared_servers), repr(sorted(self._shared_options.items())))

    @cached_property
    def _cache(self) -> RedisCacheClient:
        with _lock:
            client = _clients.get(self._shared_key)
            if client is None:
                client = RedisCacheClient(self._shared_servers, **self._shared_options)
                _clients[self._shared_key] = client
        return client
