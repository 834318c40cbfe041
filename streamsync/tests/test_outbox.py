"""The outbox: written in the same transaction as the change, one pending row per
entity, claimed safely by concurrent workers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import user_create, user_update
from channels_app.services import channel_create, channel_members_add
from conftest import bearer_client
from streamsync.models import EntityType, OutboxEntry, OutboxStatus
from streamsync.outbox import Outcome, claim, enqueue, finish
from tenants.services import tenant_create, tenant_suspend

pytestmark = pytest.mark.django_db


def _rows():
    return sorted(OutboxEntry.objects.values_list("entity_type", "entity_id", "status"))


def test_a_change_and_its_outbox_row_commit_together():
    tenant = tenant_create(name="Acme", slug="acme")
    with pytest.raises(RuntimeError), transaction.atomic():
        user_create(tenant=tenant, email="gone@acme.test")
        raise RuntimeError("the request failed after the write")
    assert not OutboxEntry.objects.exists()
    user = user_create(tenant=tenant, email="kept@acme.test")
    assert _rows() == [("user", str(user.pk), "pending")]


def test_api_writes_queue_the_right_entities(world):
    OutboxEntry.objects.all().delete()
    client = bearer_client(world.admin)
    created = client.post(
        "/api/channels/", {"name": "New", "member_ids": [str(world.member.pk)]}, format="json"
    )
    channel_id = created.json()["id"]
    client.patch(f"/api/users/{world.member.pk}/", {"role": "moderator"}, format="json")
    assert _rows() == sorted(
        [
            ("channel", channel_id, "pending"),
            ("channel_members", channel_id, "pending"),
            ("user", str(world.member.pk), "pending"),
        ]
    )


def test_one_pending_row_per_entity():
    tenant = tenant_create(name="Acme", slug="acme")
    user = user_create(tenant=tenant, email="u@acme.test")
    for n in range(5):
        user_update(user=user, data={"full_name": f"N {n}"})
    assert OutboxEntry.objects.filter(entity_type="user", entity_id=str(user.pk)).count() == 1


def test_bulk_member_changes_are_queued():
    tenant = tenant_create(name="Acme", slug="acme")
    users = [user_create(tenant=tenant, email=f"u{i}@acme.test") for i in range(3)]
    channel = channel_create(tenant=tenant, name="G")
    OutboxEntry.objects.all().delete()
    channel_members_add(channel=channel, user_ids=[u.pk for u in users])
    assert _rows() == [("channel_members", str(channel.pk), "pending")]


def test_suspension_queues_every_user_of_the_tenant():
    tenant = tenant_create(name="Acme", slug="acme")
    users = [user_create(tenant=tenant, email=f"u{i}@acme.test") for i in range(4)]
    OutboxEntry.objects.all().delete()
    tenant_suspend(tenant=tenant)
    assert {r[1] for r in _rows()} == {str(u.pk) for u in users}


def _tenant_with(people: int):
    tenant = tenant_create(name=f"Org {people}", slug=f"org-{people}")
    users = [user_create(tenant=tenant, email=f"u{i}@org{people}.test") for i in range(people)]
    channel = channel_create(tenant=tenant, name="General")
    channel_members_add(channel=channel, user_ids=[u.pk for u in users])
    return tenant, users, channel


def test_deleting_a_tenant_queues_its_users_and_channels_in_bulk():
    """One outbox row per deleted entity, written in a fixed number of
    statements however many rows the deletion cascades to."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from streamsync.mapping import system_user_id
    from tenants.services import tenant_delete

    counts = []
    for people in (2, 12):
        tenant, users, channel = _tenant_with(people)
        OutboxEntry.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            tenant_delete(tenant=tenant)
        counts.append(len(queries))
        assert _rows() == sorted(
            [("user", str(u.pk), "pending") for u in users]
            + [
                ("user", system_user_id(tenant), "pending"),
                ("channel", str(channel.pk), "pending"),
                ("channel_members", str(channel.pk), "pending"),
            ]
        )
    assert counts[0] == counts[1]


def test_a_batch_writes_nothing_when_its_block_fails_and_nests():
    from streamsync.outbox import batched

    tenant = tenant_create(name="Acme", slug="acme")
    OutboxEntry.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic(), batched():
        enqueue(EntityType.USER, ["a"], tenant_id=tenant.pk)
        raise RuntimeError("the deletion failed")
    assert _rows() == []
    with batched():
        enqueue(EntityType.USER, ["a", "b"], tenant_id=tenant.pk)
        with batched():
            enqueue(EntityType.USER, ["b", "c"], tenant_id=tenant.pk)
        assert _rows() == []  # the outer block writes
        enqueue(EntityType.CHANNEL, ["x"], tenant_id=tenant.pk)
    assert _rows() == [
        ("channel", "x", "pending"),
        ("user", "a", "pending"),
        ("user", "b", "pending"),
        ("user", "c", "pending"),
    ]
    enqueue(EntityType.USER, ["d"], tenant_id=tenant.pk)  # after the block: written at once
    assert ("user", "d", "pending") in _rows()


def test_claims_are_exclusive_and_leases_expire():
    enqueue(EntityType.USER, [f"00000000-0000-0000-0000-{i:012d}" for i in range(10)], tenant_id=None)
    first = claim(limit=6, worker_id="a", lease=timedelta(seconds=60))
    second = claim(limit=6, worker_id="b", lease=timedelta(seconds=60))
    assert len(first) == 6 and len(second) == 4
    assert not {r.id for r in first} & {r.id for r in second}
    assert claim(limit=6, worker_id="c", lease=timedelta(seconds=60)) == []
    OutboxEntry.objects.filter(claimed_by="a").update(claimed_until=timezone.now() - timedelta(seconds=1))
    reclaimed = claim(limit=10, worker_id="c", lease=timedelta(seconds=60))
    assert {r.id for r in reclaimed} == {r.id for r in first}


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_claim_the_same_row():
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database does not queue concurrent writers")
    enqueue(EntityType.USER, [f"00000000-0000-0000-0000-{i:012d}" for i in range(300)], tenant_id=None)
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def work(name: str) -> None:
        ids: list[int] = []
        barrier.wait()
        try:
            while batch := claim(limit=7, worker_id=name, lease=timedelta(seconds=60)):
                ids += [r.id for r in batch]
        finally:
            claimed[name] = ids
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for ids in claimed.values() for i in ids]
    assert all(claimed[f"w{i}"] for i in range(4)), "every worker got a share"
    assert len(everything) == 300
    assert len(set(everything)) == 300


def test_a_retry_hands_over_to_a_newer_pending_row():
    enqueue(EntityType.USER, ["00000000-0000-0000-0000-000000000001"], tenant_id=None)
    [row] = claim(limit=1, worker_id="a", lease=timedelta(seconds=60))
    enqueue(EntityType.USER, ["00000000-0000-0000-0000-000000000001"], tenant_id=None)  # a change meanwhile
    later = timezone.now() + timedelta(seconds=30)
    finish([row], Outcome(retry={row.id: (later, "HTTP 503")}))
    [survivor] = OutboxEntry.objects.all()
    assert survivor.id != row.id
    assert (survivor.status, survivor.attempts, survivor.last_error) == (OutboxStatus.PENDING, 1, "HTTP 503")


def test_ready_reports_the_backlog(world, settings):
    settings.STREAM_SYNC_READY_MAX_AGE = 600
    OutboxEntry.objects.update(created_at=timezone.now() - timedelta(seconds=90))
    body = APIClient().get("/api/ready").json()
    backlog = body["checks"]["chat_sync_outbox"]
    assert backlog["pending"] == OutboxEntry.objects.count() > 0
    assert backlog["oldest_pending_age_seconds"] >= 90
    assert backlog["dead"] == 0
    assert body["status"] == "ok"


def test_ready_fails_when_changes_wait_too_long(world, settings):
    settings.STREAM_SYNC_READY_MAX_AGE = 60
    OutboxEntry.objects.update(created_at=timezone.now() - timedelta(seconds=90))
    response = APIClient().get("/api/ready")
    assert response.status_code == 503
    backlog = response.json()["checks"]["chat_sync_outbox"]
    assert backlog["status"] == "unavailable"
    assert "sync worker" in backlog["reason"]
    settings.STREAM_SYNC_READY_MAX_AGE = 0  # never
    assert APIClient().get("/api/ready").status_code == 200
