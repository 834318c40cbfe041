"""Who is acting, from where: the current request, kept for the audit log.

A middleware puts the request here; the actor is read from ``request.user``
when an event is recorded, which covers the admin (session) and the API (DRF
sets the authenticated user on the underlying request). Outside a request
(commands, the sync worker) there is no actor: the system acted.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from chatplatform.client_address import client_address

_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)


@dataclass(frozen=True)
class Origin:
    actor: Any | None
    ip: str | None
    request_id: str


def current_origin() -> Origin:
    request = _request.get()
    if request is None:
        return Origin(actor=None, ip=None, request_id="")
    user = getattr(request, "user", None)
    actor = user if user is not None and getattr(user, "is_authenticated", False) else None
    return Origin(actor=actor, ip=client_address(request), request_id=getattr(request, "request_id", ""))


@contextmanager
def acting(request: HttpRequest) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting(request):
            return self.get_response(request)
