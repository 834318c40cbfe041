"""The sync worker's counters, read through /metrics: batches by result, rows
by outcome, failed calls by cause."""

from __future__ import annotations

import pytest

from accounts.services import user_create
from chatplatform.tests.test_metrics import scrape, value
from streamsync.models import OutboxEntry, OutboxStatus
from streamsync.tests.fake_stream import Fault
from streamsync.worker import SyncWorker
from tenants.services import tenant_create

pytestmark = pytest.mark.django_db


def _moved(before: dict, after: dict, family: str, **labels: str) -> float:
    sample = f"{family}_total"
    return value(after, family, sample, **labels) - value(before, family, sample, **labels)


def test_a_batch_that_goes_through_counts_its_rows(fake_stream):
    tenant = tenant_create(name="Acme", slug="acme")
    for i in range(3):
        user_create(tenant=tenant, email=f"u{i}@acme.test")
    waiting = OutboxEntry.objects.count()
    before = scrape()
    assert SyncWorker().run_once() == waiting
    after = scrape()
    assert _moved(before, after, "streamsync_batches", result="ok") == 1
    assert _moved(before, after, "streamsync_rows", outcome="done") == waiting
    assert _moved(before, after, "streamsync_rows", outcome="dead") == 0
    duration = "streamsync_batch_duration_seconds"
    sample = f"{duration}_count"
    assert value(after, duration, sample) - value(before, duration, sample) == 1
    assert value(after, "streamsync_outbox_rows", status="pending") == 0


def test_a_service_outage_counts_as_unavailable_and_the_batch_as_retried(fake_stream):
    tenant = tenant_create(name="Acme", slug="acme")
    user_create(tenant=tenant, email="u@acme.test")
    waiting = OutboxEntry.objects.count()
    fake_stream.faults.append(Fault("status", 503))
    before = scrape()
    SyncWorker().run_once()
    after = scrape()
    assert _moved(before, after, "streamsync_failures", cause="unavailable") == 1
    assert _moved(before, after, "streamsync_batches", result="retry") == 1
    assert _moved(before, after, "streamsync_rows", outcome="retry") == waiting
    assert value(after, "streamsync_outbox_rows", status="pending") == waiting


def test_rate_limits_and_dropped_connections_have_their_own_causes(fake_stream):
    tenant = tenant_create(name="Acme", slug="acme")
    user_create(tenant=tenant, email="u@acme.test")
    fake_stream.faults.append(Fault("status", 429))
    before = scrape()
    SyncWorker().run_once()
    OutboxEntry.objects.update(next_attempt_at=OutboxEntry.objects.first().created_at)
    fake_stream.faults.append(Fault("drop"))
    SyncWorker().run_once()
    after = scrape()
    assert _moved(before, after, "streamsync_failures", cause="rate_limited") == 1
    assert _moved(before, after, "streamsync_failures", cause="network") == 1


def test_a_rejected_record_is_counted_and_its_row_dead(fake_stream):
    tenant = tenant_create(name="Acme", slug="acme")
    user_create(tenant=tenant, email="u@acme.test")
    fake_stream.faults.append(Fault("status", 400, route="POST /users"))
    before = scrape()
    SyncWorker().run_once()
    after = scrape()
    assert _moved(before, after, "streamsync_failures", cause="rejected") >= 1
    assert _moved(before, after, "streamsync_rows", outcome="dead") == 1
    assert value(after, "streamsync_outbox_rows", status="dead") == 1
    assert OutboxEntry.objects.filter(status=OutboxStatus.DEAD).count() == 1
