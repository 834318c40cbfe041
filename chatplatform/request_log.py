"""Logs: the request id on every line logged while a request is served, one
access line per request, and the two formats (``LOG_FORMAT``: ``json`` in
production, ``text`` in development).

A request's id comes from ``X-Request-ID`` when a proxy sent a valid one (short,
safe characters), else it is generated; the response carries it back, the audit
log records it (``audit.context``), and :class:`RequestIdFilter` puts it on every
record logged meanwhile, from any logger, under WSGI and ASGI alike (a
context variable follows the request into the threads that serve it).

What an access line never holds: a query string (tokens travel there, the
engine's WebSocket ``authorization`` for one), the values of path segments that
are capabilities (an invitation's token, an upload's id), bodies, headers.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

ACCESS_LOGGER = "chatplatform.request"
access_logger = logging.getLogger(ACCESS_LOGGER)

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_request_id: ContextVar[str] = ContextVar("request_id", default="")

# URL arguments whose value grants access by itself: logged as ``***``.
SECRET_PATH_ARGUMENTS = frozenset({"token", "upload_id"})
REDACTED = "***"


def request_id_from(incoming: str | None) -> str:
    """The client's (proxy's) id when it is short and safe, else a new one."""
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being served ("" outside one)."""
    return _request_id.get()


@contextmanager
def serving(request_id: str) -> Any:
    """Everything logged inside carries ``request_id``."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record that does not carry one (handlers use it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get() or None
        return True


class TextFormatter(logging.Formatter):
    """Development: ``time LEVEL logger [request id] message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", None):
            record.request_id = "-"
        return super().format(record)


class JsonFormatter(OrjsonFormatter):
    """Production: one JSON object per line, with the record's extra fields
    (serialized by orjson, already the API's renderer: a third cheaper per line).

    Django's ``django.request`` logger attaches the request object itself to
    the records of failed requests: its text holds the query string, so it is
    left out (the access line says which request it was)."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            reserved_attrs=[*RESERVED_ATTRS, "request", "server_time"],
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in log_data.items() if value is not None}


# ---------------------------------------------------------------------------
# The access line
# ---------------------------------------------------------------------------
def loaded_user(request: HttpRequest) -> Any | None:
    """The authenticated user, without loading one nobody asked for (the
    session's lazy user is read only if the request already resolved it)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        # Django's documented-in-code marker of a lazy object not yet evaluated.
        wrapped = user.__dict__.get("_wrapped", empty)
        if wrapped is empty:
            return None
        user = wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def logged_path(request: HttpRequest) -> str:
    """The path, without its query string and with capability segments masked."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name in SECRET_PATH_ARGUMENTS & set(match.kwargs):
            value = match.kwargs[name]
            if isinstance(value, str) and value:
                path = path.replace(value, REDACTED)
    return path


def log_request(request: HttpRequest, status: int, duration: float) -> None:
    """One line for one request: method, path, status, duration, ids."""
    path = logged_path(request)
    duration_ms = round(duration * 1000, 1)
    user = loaded_user(request)
    fields: dict[str, Any] = {
        "method": request.method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
    }
    if user is not None:
        fields["user_id"] = str(user.pk)
        tenant_id = getattr(user, "tenant_id", None)
        if tenant_id is not None:
            fields["tenant_id"] = str(tenant_id)
    access_logger.log(
        logging.ERROR if status >= 500 else logging.INFO,
        "%s %s %s %.1f ms",
        request.method,
        path,
        status,
        duration_ms,
        extra=fields,
    )


def log_websocket(*, path: str, status: int, duration: float, user_id: str | None, reason: str = "") -> None:
    """One line for one WebSocket handshake (status 101 when it was accepted)."""
    duration_ms = round(duration * 1000, 1)
    fields: dict[str, Any] = {
        "method": "WEBSOCKET",
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
    }
    if user_id:
        fields["user_id"] = user_id
    if reason:
        fields["reason"] = reason
    access_logger.log(logging.INFO, "WEBSOCKET %s %s %.1f ms", path, status, duration_ms, extra=fields)
