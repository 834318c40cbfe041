"""Login throttles. They run in DRF's ``initial()``, before the view hashes any
password, so a flood of guesses costs a cache increment each, not an Argon2 run.

Counters are fixed windows kept with ``cache.add`` + ``cache.incr``, which are
atomic on Redis (and per process on the in-memory cache), unlike DRF's
read-modify-write ``SimpleRateThrottle``.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import normalize_email
from chatplatform.client_address import client_address


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/300"`` → (10 requests, 300 seconds)."""
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds)


class FixedWindowCounter:
    def __init__(self, prefix: str, rate: str) -> None:
        self.prefix = prefix
        self.limit, self.window = parse_rate(rate)

    def _key(self, ident: str) -> tuple[str, int]:
        window_start = int(time.time()) // self.window * self.window
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return f"throttle:{self.prefix}:{digest}:{window_start}", window_start

    def count(self, ident: str) -> int:
        key, _ = self._key(ident)
        return int(cache.get(key, 0))

    def hit(self, ident: str) -> int:
        key, _ = self._key(ident)
        if cache.add(key, 1, timeout=self.window + 1):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=self.window + 1)
            return 1

    def reset(self, ident: str) -> None:
        key, _ = self._key(ident)
        cache.delete(key)

    def seconds_left(self) -> int:
        _, window_start = self._key("")
        return max(1, window_start + self.window - int(time.time()))


def login_ip_counter() -> FixedWindowCounter:
    return FixedWindowCounter("login-ip", settings.LOGIN_IP_RATE)


def login_failure_counter() -> FixedWindowCounter:
    return FixedWindowCounter("login-fail", settings.LOGIN_FAILURE_RATE)


class LoginIPThrottle(BaseThrottle):
    """Every login attempt from one client address counts."""

    def allow_request(self, request: Request, view: Any) -> bool:
        self.counter = login_ip_counter()
        # Servers always set REMOTE_ADDR; bare WSGI callers may not.
        return self.counter.hit(self.get_ident(request) or "unknown") <= self.counter.limit

    def get_ident(self, request: Request) -> str | None:
        # Not DRF's: it trusts X-Forwarded-For unless NUM_PROXIES is set.
        return client_address(request)

    def wait(self) -> float:
        return self.counter.seconds_left()


class LoginFailureThrottle(BaseThrottle):
    """Failed attempts for one email count (the view records them); once over
    the limit, the account refuses attempts until the window ends."""

    def allow_request(self, request: Request, view: Any) -> bool:
        self.counter = login_failure_counter()
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str) or not email:
            return True
        return self.counter.count(normalize_email(email)) < self.counter.limit

    def wait(self) -> float:
        return self.counter.seconds_left()
