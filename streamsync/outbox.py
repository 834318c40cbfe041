"""Writing to and claiming from the outbox.

Writers call :func:`enqueue` inside the transaction that changed the entity,
so the row commits or rolls back with the change. Workers call :func:`claim`
and then :func:`finish`; neither holds a transaction open across the network
calls in between.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from chatplatform.db import array_parameter
from streamsync.models import EntityType, OutboxEntry, OutboxStatus

# Set by an in-process worker (``manage.py serve``) so it starts at once after a commit.
wake_event = threading.Event()


# Ids per INSERT on PostgreSQL, where they travel as one array parameter.
_ENQUEUE_BATCH = 10_000


# Set inside ``batched()``: the rows to write on the way out, by entity type and tenant.
_batch: ContextVar[dict[tuple[str, UUID | None], list[object]] | None] = ContextVar(
    "outbox_batch", default=None
)


@contextmanager
def batched() -> Iterator[None]:
    """Collect the :func:`enqueue` calls made inside and write them on the way
    out, one bulk statement per entity type and tenant.

    For cascades: deleting a tenant deletes its users, channels and
    memberships one signal each, and a hundred thousand single-row inserts
    take minutes. Use inside the transaction of the changes; nothing is
    written when the block raises (the transaction is going to roll back).
    """
    if _batch.get() is not None:  # already batching: the outer block writes
        yield
        return
    rows: dict[tuple[str, UUID | None], list[object]] = {}
    token = _batch.set(rows)
    try:
        yield
    finally:
        _batch.reset(token)
    for (entity_type, tenant_id), entity_ids in rows.items():
        enqueue(EntityType(entity_type), entity_ids, tenant_id=tenant_id)


def enqueue(entity_type: EntityType, entity_ids: Iterable[object], *, tenant_id: UUID | None) -> None:
    """Record that these entities changed. Idempotent: an entity already waiting keeps its one row."""
    pending = _batch.get()
    if pending is not None:
        pending.setdefault((entity_type, tenant_id), []).extend(entity_ids)
        return
    ids = list(dict.fromkeys(str(entity_id) for entity_id in entity_ids))
    if not ids:
        return
    now = timezone.now()
    if connection.vendor == "postgresql":
        # Bulk imports enqueue a hundred thousand users at once: one array
        # parameter per batch costs a fraction of building a model per row.
        # Sorted, the ids go into the entity indexes in order (a third faster
        # than at random), and concurrent writers take their locks in one order.
        ids.sort()
        for start in range(0, len(ids), _ENQUEUE_BATCH):
            _enqueue_postgresql(entity_type, ids[start : start + _ENQUEUE_BATCH], tenant_id, now)
    else:
        rows = [
            OutboxEntry(
                entity_type=entity_type, entity_id=entity_id, tenant_id=tenant_id, next_attempt_at=now
            )
            for entity_id in ids
        ]
        OutboxEntry.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    transaction.on_commit(wake_event.set)


def _enqueue_postgresql(entity_type: str, ids: list[str], tenant_id: UUID | None, now: datetime) -> None:
    """The ``bulk_create(..., ignore_conflicts=True)`` above as one statement,
    the ids as one array parameter."""
    source, parameter = array_parameter(ids, "varchar[]")
    table = connection.ops.quote_name(OutboxEntry._meta.db_table)
    sql = (
        f"INSERT INTO {table} (entity_type, entity_id, tenant_id, status, attempts, last_error,"  # noqa: S608
        " next_attempt_at, claimed_by, claim_token, created_at, updated_at)"
        " SELECT %s, entity_id, %s, %s, 0, '', %s, '', '', %s, %s"
        f" FROM unnest({source}) AS entity_id ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [entity_type, tenant_id, OutboxStatus.PENDING, now, now, now, parameter])


def _due(now: datetime) -> Q:
    """Pending rows whose time has come, and claimed rows whose worker vanished."""
    return Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.CLAIMED, claimed_until__lt=now
    )


def claim(*, limit: int, worker_id: str, lease: timedelta) -> list[OutboxEntry]:
    """Claim up to ``limit`` due rows for this worker.

    Safe with several concurrent workers: candidates are selected with
    ``FOR UPDATE SKIP LOCKED`` where the database has it, and every claim is
    a conditional update on the row still being due, tagged with a token
    this worker alone knows.
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        candidates = OutboxEntry.objects.filter(_due(now)).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("id", flat=True)[:limit])
        if not ids:
            return []
        OutboxEntry.objects.filter(_due(now), id__in=ids).update(
            status=OutboxStatus.CLAIMED,
            claimed_by=worker_id,
            claim_token=token,
            claimed_until=now + lease,
            updated_at=now,
        )
    # The candidates this worker actually won (another may have claimed some first).
    return list(OutboxEntry.objects.filter(id__in=ids, claim_token=token).order_by("id"))


@dataclass
class Outcome:
    """What became of each claimed row."""

    done: set[int] = field(default_factory=set)
    retry: dict[int, tuple[datetime, str]] = field(default_factory=dict)
    dead: dict[int, str] = field(default_factory=dict)

    def settled(self) -> set[int]:
        return self.done | set(self.retry) | set(self.dead)


@transaction.atomic
def finish(rows: list[OutboxEntry], outcome: Outcome) -> None:
    """Record the outcome of a claimed batch in one short transaction.

    Done rows are deleted, together with dead rows of the same entities (the
    entity is now in sync, so their error is history). A row to retry goes
    back to pending, or, when a newer pending row for the same entity arrived
    meanwhile, hands its attempt count and error to that row and disappears.
    """
    by_id = {row.id: row for row in rows}
    done = [by_id[i] for i in outcome.done if i in by_id]
    if done:
        OutboxEntry.objects.filter(id__in=[r.id for r in done]).delete()
        entity_filter = Q()
        for row in done:
            entity_filter |= Q(entity_type=row.entity_type, entity_id=row.entity_id)
        OutboxEntry.objects.filter(entity_filter, status=OutboxStatus.DEAD).delete()

    now = timezone.now()
    for row_id, message in outcome.dead.items():
        OutboxEntry.objects.filter(id=row_id).update(
            status=OutboxStatus.DEAD,
            attempts=by_id[row_id].attempts + 1,
            last_error=message[:4000],
            claim_token="",
            claimed_until=None,
            updated_at=now,
        )

    if outcome.retry:
        retry_rows = [by_id[i] for i in outcome.retry]
        entity_filter = Q()
        for row in retry_rows:
            entity_filter |= Q(entity_type=row.entity_type, entity_id=row.entity_id)
        newer = {
            (r.entity_type, r.entity_id): r
            for r in OutboxEntry.objects.filter(entity_filter, status=OutboxStatus.PENDING)
        }
        for row in retry_rows:
            retry_at, message = outcome.retry[row.id]
            fields = {"attempts": row.attempts + 1, "last_error": message[:4000], "next_attempt_at": retry_at}
            sibling = newer.get((row.entity_type, row.entity_id))
            if sibling is not None:
                OutboxEntry.objects.filter(id=sibling.id).update(**fields, updated_at=now)
                OutboxEntry.objects.filter(id=row.id).delete()
            else:
                OutboxEntry.objects.filter(id=row.id).update(
                    **fields, status=OutboxStatus.PENDING, claim_token="", claimed_until=None, updated_at=now
                )


def retry_now(rows: Iterable[OutboxEntry]) -> int:
    """Make rows due at once (admin action): dead rows go back to pending with
    their attempts reset; a dead row whose entity already waits is dropped."""
    count = 0
    now = timezone.now()
    for row in rows:
        with transaction.atomic():
            if row.status == OutboxStatus.DEAD:
                waiting = OutboxEntry.objects.filter(
                    entity_type=row.entity_type, entity_id=row.entity_id, status=OutboxStatus.PENDING
                )
                if waiting.exists():
                    OutboxEntry.objects.filter(id=row.id).delete()
                    waiting.update(next_attempt_at=now, updated_at=now)
                else:
                    OutboxEntry.objects.filter(id=row.id).update(
                        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
                    )
            elif row.status == OutboxStatus.PENDING:
                OutboxEntry.objects.filter(id=row.id).update(next_attempt_at=now, updated_at=now)
            count += 1
    wake_event.set()
    return count


def backlog() -> dict[str, object]:
    """How far behind the chat service is: pending rows and the age of the oldest."""
    now = timezone.now()
    waiting = OutboxEntry.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.CLAIMED])
    oldest = waiting.aggregate(oldest=Min("created_at"))["oldest"]
    age = round((now - oldest).total_seconds(), 1) if oldest else 0
    limit = settings.STREAM_SYNC_READY_MAX_AGE
    report: dict[str, object] = {
        "status": "unavailable" if limit and age > limit else "ok",
        "pending": waiting.count(),
        "oldest_pending_age_seconds": age,
        "dead": OutboxEntry.objects.filter(status=OutboxStatus.DEAD).count(),
    }
    if report["status"] != "ok":
        report["reason"] = (
            f"the oldest change has waited {age:.0f} s, more than {limit} s: is the sync worker running?"
        )
    return report
