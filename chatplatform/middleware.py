"""The first middleware: a request id for every request (taken from
``X-Request-ID`` when a proxy sets a valid one, else generated, and returned
in ``X-Request-ID``), one access line per request, and the request metrics.

It comes before every other middleware so that what they answer themselves
(HTTPS redirects, static files, CORS preflights) is logged and counted too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from chatplatform.metrics import record_request
from chatplatform.request_log import log_request, request_id_from, serving


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        with serving(request_id):
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            duration = time.perf_counter() - started
            log_request(request, response.status_code, duration)
        record_request(request, response.status_code, duration)
        return response
