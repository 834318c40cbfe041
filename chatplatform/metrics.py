"""Prometheus metrics, served at ``/metrics`` to the configured addresses
(``METRICS_ALLOWED_IPS``) or to whoever sends ``Authorization: Bearer
<METRICS_TOKEN>``; everyone else gets 403.

Two kinds of metric:

- counters and histograms the processes increment as they work (requests
  here, sync batches in ``streamsync.metrics``, engine messages and events in
  ``chatengine.metrics``);
- gauges read from the database when the page is scraped (outbox backlog,
  sockets open), registered by their apps with :func:`register_scrape_collector`
  so this module imports none of them. They are the same whichever process
  answers, and cost a few indexed queries per scrape.

Several processes (gunicorn workers, ASGI servers, sync workers) each count
their own: with ``PROMETHEUS_MULTIPROC_DIR`` set (a directory shared by every
process of a host, emptied before they start) any of them answers for all of
them, through the client library's multiprocess mode. Without it (one process,
as in development) the page shows the answering process alone.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from rest_framework.settings import api_settings

from chatplatform.api.exceptions import error_body
from chatplatform.client_address import client_address

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "chatplatform_http_requests_total",
    "HTTP requests answered, by method, route and status class (2xx, 3xx, 4xx, 5xx).",
    ["method", "route", "status_class"],
)
HTTP_DURATION = Histogram(
    "chatplatform_http_request_duration_seconds",
    "Time from the request reaching the application to its response, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Anything else a client sends as a method is counted as "other" (bounded labels).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Answered before any route was chosen: static files, HTTPS redirects, CORS preflights.
UNROUTED = "unrouted"


def route_of(request: HttpRequest) -> str:
    """The route's name (``user-detail``, ``admin:index``), else its pattern;
    never the raw path, so the number of series stays bounded."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNROUTED
    return match.view_name if match.url_name else match.route


def record_request(request: HttpRequest, status: int, duration: float) -> None:
    method = request.method if request.method in _METHODS else "other"
    route = route_of(request)
    HTTP_REQUESTS.labels(method, route, f"{status // 100}xx").inc()
    HTTP_DURATION.labels(method, route).observe(duration)


# ---------------------------------------------------------------------------
# Gauges computed at scrape time
# ---------------------------------------------------------------------------
ScrapeCollector = Callable[[], Iterable[Metric]]
_scrape_collectors: dict[str, ScrapeCollector] = {}


def register_scrape_collector(name: str, collector: ScrapeCollector) -> None:
    """``collector()`` yields metric families when ``/metrics`` is scraped."""
    _scrape_collectors[name] = collector


class _ScrapeTime:
    """Runs the registered collectors; one that fails (the database is down)
    is reported by ``chatplatform_metrics_collector_up`` rather than failing the page."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "chatplatform_metrics_collector_up",
            "1 when the collector named could read its values at this scrape, 0 when it failed.",
            labels=["collector"],
        )
        for name, collector in _scrape_collectors.items():
            try:
                families = list(collector())
            except Exception:
                logger.exception("metrics: the %s collector failed", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


class _ThisProcess:
    """The default registry (this process's metrics) as one collector."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition() -> bytes:
    registry = CollectorRegistry()
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_ScrapeTime())
    return generate_latest(registry)


# ---------------------------------------------------------------------------
# The page and who may read it
# ---------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address_allowed(request: HttpRequest) -> bool:
    if request.META.get("HTTP_X_FORWARDED_FOR") and not api_settings.NUM_PROXIES:
        # Relayed by a proxy this deployment does not declare (NUM_PROXIES): the
        # peer's address is the proxy's (often loopback), not the client's.
        return False
    address = client_address(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


def _token_valid(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not sent:
        return False
    return hmac.compare_digest(sent.strip().encode(), expected.encode())


def metrics_allowed(request: HttpRequest) -> bool:
    return _token_valid(request) or _address_allowed(request)


@csrf_exempt  # it changes nothing; any other method is answered 405, not a CSRF failure
def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        refused = JsonResponse(
            error_body(f'Method "{request.method}" not allowed.', "method_not_allowed"), status=405
        )
        refused["Allow"] = "GET, HEAD"
        return refused
    if not metrics_allowed(request):
        detail = (
            "Metrics are served only to the addresses in METRICS_ALLOWED_IPS "
            "or with Authorization: Bearer <METRICS_TOKEN>."
        )
        return JsonResponse(error_body(detail, "permission_denied"), status=403)
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
