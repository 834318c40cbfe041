"""The built-in engine's metrics. Counters are per process (one per ASGI or WSGI
process; ``/metrics`` adds them up in multiprocess mode); sockets open are read
from the connection registry, which every process shares, when ``/metrics`` is
scraped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

from chatengine.models import Connection

CONNECTIONS = Counter(
    "chatengine_connections_total",
    "WebSocket handshakes, by outcome: accepted (the client got health.check), "
    "refused (connection.error: bad key, token or user), dropped (gone before either).",
    ["outcome"],
)
FRAMES = Counter(
    "chatengine_frames_sent_total",
    "Frames sent to WebSocket clients: events and health checks.",
)
MESSAGES = Counter(
    "chatengine_messages_total",
    "Messages sent (new messages and replies), counted when their transaction commits.",
)
EVENTS = Counter(
    "chatengine_events_total",
    "Events handed to the channel layer for delivery (one per event, however many sockets hear it).",
)


def sockets_collector() -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "chatengine_sockets_open",
        "WebSocket connections open on every engine process (seen within the staleness window).",
        value=Connection.objects.live().count(),
    )
