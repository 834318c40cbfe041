"""Page sizes and their bounds, shared by every list the engine reads, and
the first rows of a query in each of several channels in one query."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from chatengine.errors import input_error
from chatengine.models import Channel

DEFAULT_MESSAGE_LIMIT = 100  # the JS client's page size for channel.query without a limit
MAX_MESSAGE_LIMIT = 300
DEFAULT_MEMBER_LIMIT = 100
MAX_CHANNEL_LIMIT = 30
DEFAULT_CHANNEL_LIMIT = 10
MAX_OFFSET = 1000
DEFAULT_SEARCH_LIMIT = 20
MAX_SEARCH_LIMIT = 100


def bounded_int(value: Any, *, name: str, default: int, maximum: int, minimum: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise input_error(f"{name} must be an integer") from exc
    if number < minimum or number > maximum:
        raise input_error(f"{name} must be between {minimum} and {maximum}")
    return number


def top_per_channel(
    queryset: QuerySet[Any], channels: list[Channel], order: list[Any], limit: int, offset: int = 0
) -> dict[str, list[Any]]:
    """The first ``limit`` rows (after ``offset``) of ``queryset`` in each of
    ``channels``, in one query (a window function ranks rows per channel)."""
    grouped: dict[str, list[Any]] = defaultdict(list)
    if limit <= 0 or not channels:
        return grouped
    ranked = (
        queryset.filter(channel__in=channels)
        .annotate(rank=Window(RowNumber(), partition_by=F("channel_id"), order_by=order))
        .filter(rank__gt=offset, rank__lte=offset + limit)
    )
    for row in ranked:
        grouped[row.channel_id].append(row)
    return grouped
