"""Sign-in throttles: the one rule every way of checking a password follows.

Two limits, counted in fixed windows:

- every attempt from one client address (``LOGIN_IP_RATE``);
- attempts on one account (``LOGIN_FAILURE_RATE``) since its last good
  password: past the limit the account refuses every attempt, the right
  password too, until the window ends.

Each attempt is counted *before* its password is hashed, and judged by the
count the increment returned, never by a count read beforehand: N concurrent
attempts get N distinct numbers, so at most the limit of them reach the
password check, however many processes serve them. A good password resets the
account's count.

The counts live where every process sees them: in Redis (``INCR``) when
``REDIS_URL`` is set, otherwise in the database (one ``INSERT ... ON CONFLICT
DO UPDATE ... RETURNING`` per attempt, on SQLite and PostgreSQL alike).

The rule runs inside ``authenticate()`` (``accounts.backends``), so the API
login, the console's login page and its password change all go through it;
``SignInRefused`` tells each of them to answer "wait".
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from django.conf import settings
from django.db import connections, router
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend

from accounts.models import SignInCounter, User
from audit.services import audit_record
from chatplatform.client_address import client_address
from chatplatform.db import column_field

logger = logging.getLogger(__name__)


# DRF's spelling of a period ("30/min"), beside a number of seconds ("30/60").
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/300"`` → (10 requests, 300 seconds); DRF's ``"10/min"`` works too."""
    count, _, period = rate.partition("/")
    period = period.strip()
    seconds = int(period) if period.isdigit() else _PERIODS[period[:1].lower()]
    return int(count), seconds


class CounterStore(Protocol):
    def incr(self, key: str, expires_at: int) -> int:
        """Add one to ``key`` (created at 0 if missing, kept until ``expires_at``) and
        return the new value, atomically."""

    def delete(self, key: str) -> None: ...


class DatabaseStore:
    """Counters in ``SignInCounter`` rows. The upsert takes the row lock, so
    concurrent increments queue and each returns its own value. It runs in the
    caller's transaction: sign-in views do not open one, so the count commits
    (and the row lock is released) at once."""

    def _connection(self) -> Any:
        return connections[router.db_for_write(SignInCounter)]

    def incr(self, key: str, expires_at: int) -> int:
        connection = self._connection()
        table = connection.ops.quote_name(SignInCounter._meta.db_table)
        key_column, count_column, expires_column = (
            connection.ops.quote_name(column_field(SignInCounter, name).column)
            for name in ("key", "count", "expires_at")
        )
        values = "VALUES (%s, 1, %s)"
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # The upsert is a transaction of its own: let its commit skip the wait for
            # the WAL flush (a crash may forget the last few counts, which only
            # lets a few more requests through), as each counted request would
            # otherwise wait for a disk write. Never inside the caller's transaction,
            # whose own writes must stay durable.
            values = "SELECT %s, 1, %s FROM (SELECT set_config('synchronous_commit', 'off', true)) AS _async"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({key_column}, {count_column}, {expires_column}) "
                f"{values} "
                f"ON CONFLICT ({key_column}) DO UPDATE SET {count_column} = {table}.{count_column} + 1 "
                f"RETURNING {count_column}",
                [key, expires_at],
            )
            (count,) = cursor.fetchone()
        if count == 1:
            # A new window began for this key: a good moment to drop the windows that ended.
            SignInCounter.objects.filter(expires_at__lt=int(time.time())).delete()
        return int(count)

    def delete(self, key: str) -> None:
        SignInCounter.objects.filter(key=key).delete()


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    # Short timeouts: an unreachable Redis must not hold a sign-in for minutes.
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


_INCR_WITHIN_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end
return count
"""


@functools.cache
def _incr_script(client: redis.Redis) -> Any:
    # Sent by its digest (EVALSHA); loaded again by redis-py if Redis forgot it.
    return client.register_script(_INCR_WITHIN_WINDOW)


class RedisStore:
    """Counters as Redis keys: ``INCR``, and ``EXPIREAT`` on a window's first
    count, in one script, so no key outlives its window (one command per count:
    a ``MULTI`` of both was twice the client's work and four replies).

    While Redis cannot be reached the database counts instead: every process
    sees those rows too, so the limits still hold (per store; a window that
    spans the outage may admit up to twice the limit), and people can still
    sign in rather than meet a server error."""

    def __init__(self, url: str) -> None:
        self.client = _redis_client(url)
        self.count = _incr_script(self.client)
        self.prefix = settings.CACHE_KEY_PREFIX
        self.fallback = DatabaseStore()

    def incr(self, key: str, expires_at: int) -> int:
        try:
            count = self.count(keys=[f"{self.prefix}:{key}"], args=[expires_at])
        except redis.RedisError as exc:
            logger.warning("Redis is unavailable for sign-in counts (%s); counting in the database", exc)
            return self.fallback.incr(key, expires_at)
        return int(count)

    def delete(self, key: str) -> None:
        try:
            self.client.delete(f"{self.prefix}:{key}")
        except redis.RedisError as exc:
            logger.warning("Redis is unavailable for sign-in counts (%s); counting in the database", exc)
            self.fallback.delete(key)


def counter_store() -> CounterStore:
    return RedisStore(settings.REDIS_URL) if settings.REDIS_URL else DatabaseStore()


class FixedWindowCounter:
    def __init__(self, prefix: str, rate: str) -> None:
        self.prefix = prefix
        self.limit, self.window = parse_rate(rate)
        self.store = counter_store()

    def _window_start(self) -> int:
        return int(time.time()) // self.window * self.window

    def _key(self, ident: str, window_start: int) -> str:
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return f"throttle:{self.prefix}:{digest}:{window_start}"

    def hit(self, ident: str) -> int:
        """Count one attempt; the number it got (1 for the window's first)."""
        start = self._window_start()
        return self.store.incr(self._key(ident, start), expires_at=start + self.window + 1)

    def reset(self, ident: str) -> None:
        self.store.delete(self._key(ident, self._window_start()))

    def seconds_left(self) -> int:
        return max(1, self._window_start() + self.window - int(time.time()))


def login_ip_counter() -> FixedWindowCounter:
    return FixedWindowCounter("login-ip", settings.LOGIN_IP_RATE)


def login_failure_counter() -> FixedWindowCounter:
    return FixedWindowCounter("login-fail", settings.LOGIN_FAILURE_RATE)


class SignInRefused(Exception):
    """Too many attempts: refused before any password was checked."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many sign-in attempts; retry after {retry_after} seconds.")
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        """What a person reads on a page."""
        return wait_message(self.retry_after, what="sign-in attempts")


def wait_message(seconds: int, *, what: str = "attempts") -> str:
    """ "Too many attempts. Wait 2 minutes and try again." for a page."""
    minutes = math.ceil(seconds / 60)
    wait = "a minute" if minutes <= 1 else f"{minutes} minutes"
    return f"Too many {what}. Wait {wait} and try again."


def sign_in_address_admit(request: HttpRequest) -> None:
    """Count one attempt for the request's client address; ``SignInRefused`` past the limit."""
    addresses = login_ip_counter()
    # Servers always set REMOTE_ADDR; bare WSGI callers may not.
    if addresses.hit(client_address(request) or "unknown") > addresses.limit:
        raise SignInRefused(addresses.seconds_left())


@dataclass(frozen=True)
class SignInAttempt:
    """An admitted attempt on ``email``: the ``number`` it got on the account's counter."""

    email: str
    number: int
    failures: FixedWindowCounter

    def settle(self, *, succeeded: bool) -> None:
        """A good password clears the account's count; the failure that reaches the
        limit locks the account, which is worth a line in the audit log."""
        if succeeded:
            self.failures.reset(self.email)
        elif self.number == self.failures.limit:
            _record_lockout(self.email, self.failures.limit, self.failures.seconds_left())


def sign_in_attempt_admit(*, request: HttpRequest | None, email: str) -> SignInAttempt:
    """Count one password attempt on ``email`` (normalized) and, with a request, for
    its client address; raise ``SignInRefused`` when either count is past its limit.
    Call it before checking the password, then ``settle()`` with the outcome."""
    if request is not None:
        sign_in_address_admit(request)
    failures = login_failure_counter()
    number = failures.hit(email)
    if number > failures.limit:
        raise SignInRefused(failures.seconds_left())
    return SignInAttempt(email=email, number=number, failures=failures)


def _record_lockout(email: str, limit: int, seconds: int) -> None:
    logger.warning("login: an account is locked out after %s failures", limit)
    target = User.objects.select_related("tenant").filter(email=email).first()
    audit_record(
        action="auth.lockout",
        target_type="user",
        target_id=target.pk if target else "",
        target_repr=email,
        tenant=target.tenant if target and target.tenant_id else None,
        changes={"failed_attempts": [None, limit], "locked_for_seconds": [None, seconds]},
    )


class LoginIPThrottle(BaseThrottle):
    """The per-address count as a DRF throttle, for endpoints that take a secret
    other than a password (an invitation's token)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            sign_in_address_admit(request)
        except SignInRefused as refused:
            self.retry_after = refused.retry_after
            return False
        return True

    def wait(self) -> float:
        return float(self.retry_after or 0)


class ScopedThrottle(BaseThrottle):
    """DRF's scoped rates, counted where every process sees them.

    A subclass names its ``scope``; the rate is
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]`` (env overridable, see
    settings). DRF's own ``ScopedRateThrottle`` keeps a list of timestamps in the
    cache and writes it back after reading it: two processes that read the same
    list both admit their request, and without Redis the cache is each process's
    own memory. This one counts with ``FixedWindowCounter`` instead (Redis
    ``INCR``, else one database upsert), so N concurrent requests get N distinct
    numbers and at most the limit of them pass, however many processes serve them.

    The key is the authenticated user (so colleagues behind one address do not
    share a budget), else the client address; ``ident`` may pick another.
    """

    scope: str = ""

    def ident(self, request: Request | HttpRequest, view: Any) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"address:{client_address(request) or 'unknown'}"

    def hit(self, ident: str) -> int | None:
        """Count one request for ``ident``: None if it may pass, else the seconds to wait.
        (Pages outside DRF call this with the ident they chose.)"""
        counter = FixedWindowCounter(self.scope, str(api_settings.DEFAULT_THROTTLE_RATES[self.scope]))
        return counter.seconds_left() if counter.hit(ident) > counter.limit else None

    def allow_request(self, request: Request, view: Any) -> bool:
        self.retry_after = self.hit(self.ident(request, view))
        return self.retry_after is None

    def wait(self) -> float:
        return float(self.retry_after or 0)


class RefreshThrottle(ScopedThrottle):
    """Refreshes per account: keyed by the user a validly signed refresh token
    names (checked without the database), else by the client address, so junk
    tokens share one budget per address and an office behind one address does not."""

    scope = "auth_refresh"

    def ident(self, request: Request | HttpRequest, view: Any) -> str:
        data = getattr(request, "data", None)
        raw = data.get("refresh") if isinstance(data, dict) else None
        raw = raw or request.COOKIES.get(settings.JWT_COOKIE["REFRESH_NAME"])
        if isinstance(raw, str) and raw:
            try:
                claims = token_backend.decode(raw, verify=True)
            except TokenBackendError:
                pass
            else:
                if claims.get(jwt_settings.USER_ID_CLAIM):
                    return f"user:{claims[jwt_settings.USER_ID_CLAIM]}"
        return super().ident(request, view)


class ChatTokenThrottle(ScopedThrottle):
    """Chat tokens per user (the endpoint needs a signed-in user)."""

    scope = "chat_token"


class InvitationThrottle(ScopedThrottle):
    """Every look at or use of an invitation or set-password link, per client address."""

    scope = "invitation"

    def ident(self, request: Request | HttpRequest, view: Any) -> str:
        return f"address:{client_address(request) or 'unknown'}"


class SetPasswordThrottle(ScopedThrottle):
    """Passwords set through one link (an invitation's or a set-password link), per
    link: each attempt hashes a password, and a link's holder needs only a few."""

    scope = "set_password"

    @staticmethod
    def link_ident(token: str) -> str:
        return f"link:{token}"

    def ident(self, request: Request | HttpRequest, view: Any) -> str:
        data = getattr(request, "data", None)
        token = data.get("token") if isinstance(data, dict) else None
        if isinstance(token, str) and token:
            return self.link_ident(token)
        return super().ident(request, view)
