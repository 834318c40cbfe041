"""Stream's error model: one exception type carrying Stream's numeric code and
HTTP status, rendered as Stream's error envelope by the API layer and as a
``connection.error`` frame by the WebSocket consumer."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from django.conf import settings


class Code(IntEnum):
    INTERNAL = -1
    ACCESS_KEY = 2
    AUTHENTICATION_FAILED = 3
    INPUT = 4
    AUTH = 5
    RATE_LIMITED = 9
    DOES_NOT_EXIST = 16
    NOT_ALLOWED = 17
    EVENT_NOT_SUPPORTED = 18
    MESSAGE_TOO_LONG = 20
    TOKEN_EXPIRED = 40
    TOKEN_NOT_VALID_YET = 41
    TOKEN_USED_BEFORE_IAT = 42
    TOKEN_SIGNATURE_INVALID = 43
    CONNECTION_ID_NOT_FOUND = 46
    NO_CHANNEL_ACCESS = 70


STATUS_FOR_CODE: dict[Code, int] = {
    Code.INTERNAL: 500,
    Code.ACCESS_KEY: 401,
    Code.AUTHENTICATION_FAILED: 401,
    Code.AUTH: 401,
    Code.RATE_LIMITED: 429,
    Code.DOES_NOT_EXIST: 404,
    Code.NOT_ALLOWED: 403,
    Code.TOKEN_EXPIRED: 401,
    Code.TOKEN_NOT_VALID_YET: 401,
    Code.TOKEN_USED_BEFORE_IAT: 401,
    Code.TOKEN_SIGNATURE_INVALID: 401,
    Code.NO_CHANNEL_ACCESS: 403,
}

MORE_INFO = "https://getstream.io/chat/docs/api_errors_response"


class StreamError(Exception):
    def __init__(self, code: Code, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_FOR_CODE.get(code, 400)

    def body(self, duration: str = "0.00ms") -> dict[str, Any]:
        return {
            "code": int(self.code),
            "message": self.message,
            "StatusCode": self.status,
            "duration": duration,
            "more_info": MORE_INFO,
            "details": [],
        }


def input_error(message: str) -> StreamError:
    return StreamError(Code.INPUT, message)


def not_found(what: str) -> StreamError:
    return StreamError(Code.DOES_NOT_EXIST, f"{what} does not exist")


def not_allowed(message: str) -> StreamError:
    return StreamError(Code.NOT_ALLOWED, message)


BUSY_MESSAGE = "Too many requests, check response headers for more information."
# Seconds a client is asked to wait when the engine is too busy to answer.
BUSY_RETRY_AFTER = 1


# PostgreSQL's deadlock_detected and serialization_failure: it aborted the
# statement (and its transaction) to let concurrent writers through.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def database_busy(exc: BaseException) -> StreamError | None:
    """Stream's 429 when ``exc`` says the database is saturated rather than broken:
    no pooled connection came free in time (PostgreSQL), a write waited out
    its lock (SQLite), or concurrent writes conflicted and this one was
    aborted (PostgreSQL). The client retries; nothing was written."""
    from django.db import OperationalError

    if not isinstance(exc, OperationalError):
        return None
    cause = exc.__cause__
    pool_timeout = type(cause).__name__ == "PoolTimeout" and type(cause).__module__.startswith("psycopg_pool")
    conflict = getattr(cause, "sqlstate", None) in CONFLICT_SQLSTATES
    if pool_timeout or conflict or "database is locked" in str(exc):
        return StreamError(Code.RATE_LIMITED, BUSY_MESSAGE)
    return None


def body_too_large(size: str) -> StreamError:
    """A request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` on a route that takes JSON."""
    limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return StreamError(
        Code.INPUT, f"the request body is {size} bytes, more than the {limit_mb:g} MB allowed", status=413
    )
