"""One claimed batch of the sync worker, and the sync states it reads and writes.

:class:`Batch` keeps which outbox rows belong to which entity and how each
ended; the functions below load, save and forget ``SyncState`` rows (what the
last sync sent of each entity) in slices that stay within SQL limits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.utils import timezone

from streamsync.models import EntityType, OutboxEntry, SyncState
from streamsync.outbox import Outcome

T = TypeVar("T")
CHUNK = 100  # the chat service's limit per users upsert and per member change
IN_CHUNK = 5000  # ids per SQL IN (...) list


def chunks(items: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    size = size or CHUNK
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Batch:
    """Book-keeping for one claimed batch: which rows belong to which entity."""

    rows: list[OutboxEntry]
    outcome: Outcome = field(default_factory=Outcome)
    by_entity: dict[tuple[str, str], list[OutboxEntry]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for row in self.rows:
            self.by_entity[(row.entity_type, row.entity_id)].append(row)

    def ids(self, entity_type: EntityType) -> list[str]:
        return [entity_id for (kind, entity_id) in self.by_entity if kind == entity_type]

    def done(self, entity_type: EntityType, entity_id: str) -> None:
        for row in self.by_entity.get((entity_type, entity_id), []):
            self.outcome.done.add(row.id)

    def dead(self, entity_type: EntityType, entity_id: str, message: str) -> None:
        for row in self.by_entity.get((entity_type, entity_id), []):
            self.outcome.dead[row.id] = message

    def settle(self, entity_type: EntityType, entity_ids: Iterable[str], failed: dict[str, str]) -> None:
        """Each entity is done, or dead with its error when it is in ``failed``."""
        for entity_id in entity_ids:
            if entity_id in failed:
                self.dead(entity_type, entity_id, failed[entity_id])
            else:
                self.done(entity_type, entity_id)

    def unsettled(self) -> list[OutboxEntry]:
        settled = self.outcome.settled()
        return [row for row in self.rows if row.id not in settled]


def filter_in(queryset: Any, field_name: str, values: Iterable[Any]) -> list[Any]:
    """``queryset.filter(field__in=values)`` in slices, so huge lists stay within SQL limits."""
    values = list(values)
    result: list[Any] = []
    for part in chunks(values, IN_CHUNK):
        result.extend(queryset.filter(**{f"{field_name}__in": part}))
    return result


def load_states(entity_type: EntityType, ids: Iterable[str]) -> dict[str, SyncState]:
    rows = filter_in(SyncState.objects.filter(entity_type=entity_type), "entity_id", ids)
    return {state.entity_id: state for state in rows}


def save_states(entity_type: EntityType, states: list[SyncState]) -> None:
    if not states:
        return
    now = timezone.now()
    for state in states:
        state.entity_type = entity_type
        state.synced_at = now
    SyncState.objects.bulk_create(
        states,
        update_conflicts=True,
        unique_fields=["entity_type", "entity_id"],
        update_fields=["digest", "data", "synced_at", "tenant_id"],
        batch_size=500,
    )


def forget_states(entity_type: EntityType, ids: Iterable[str]) -> None:
    for part in chunks(list(ids), IN_CHUNK):
        SyncState.objects.filter(entity_type=entity_type, entity_id__in=part).delete()
