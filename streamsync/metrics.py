"""The sync worker's metrics: batches, rows by outcome, failed calls by cause
(counted by each worker process), and the outbox backlog (read from the
database when ``/metrics`` is scraped, so every process reports the same)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from streamsync.models import OutboxEntry, OutboxStatus

BATCHES = Counter(
    "streamsync_batches_total",
    "Outbox batches the sync worker claimed, by result: ok (every row settled), "
    "retry (a transient failure stopped it), error (an unexpected error stopped it).",
    ["result"],
)
ROWS = Counter(
    "streamsync_rows_total",
    "Outbox rows the sync worker settled, by outcome: done, retry, dead.",
    ["outcome"],
)
FAILURES = Counter(
    "streamsync_failures_total",
    "Failed calls to the chat service, by cause: rate_limited, unavailable, network, rejected, internal.",
    ["cause"],
)
BATCH_DURATION = Histogram(
    "streamsync_batch_duration_seconds",
    "Time to process one claimed batch, from the claim to its outcome being recorded.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)


def outbox_collector() -> Iterator[Metric]:
    """The backlog in one grouped query: rows per status and the oldest waiting."""
    rows = (
        OutboxEntry.objects.order_by().values("status").annotate(rows=Count("id"), oldest=Min("created_at"))
    )
    by_status = {row["status"]: row for row in rows}
    counts = GaugeMetricFamily(
        "streamsync_outbox_rows",
        "Outbox rows by status: pending (waiting), claimed (a worker is sending them), dead (gave up).",
        labels=["status"],
    )
    for status in OutboxStatus.values:
        counts.add_metric([status], by_status.get(status, {}).get("rows", 0))
    yield counts
    waiting = [
        by_status[status]["oldest"]
        for status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED)
        if status in by_status
    ]
    age = (timezone.now() - min(waiting)).total_seconds() if waiting else 0.0
    yield GaugeMetricFamily(
        "streamsync_outbox_oldest_pending_age_seconds",
        "Age of the oldest change not yet in the chat service (pending or claimed); 0 when none waits.",
        value=max(age, 0.0),
    )
