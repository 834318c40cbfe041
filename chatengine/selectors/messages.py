"""Message reads: pages of a channel's history or a thread, and the newest
messages and pins of several channels at once."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet

from chatengine import watchpath
from chatengine.errors import input_error
from chatengine.filters import parse_date
from chatengine.models import Channel, Message
from chatengine.selectors.paging import DEFAULT_MESSAGE_LIMIT, MAX_MESSAGE_LIMIT, bounded_int, top_per_channel


def _message_queryset() -> QuerySet[Message]:
    # Who pinned a message is part of its payload: read along (rarely set, so
    # the join costs little), not in a query of its own.
    return Message.objects.select_related("user", "pinned_by")


def _pivot(message_id: Any, scope: Q) -> Message:
    if not isinstance(message_id, str) or not message_id:
        raise input_error("pagination ids must be message ids")
    pivot = Message.objects.filter(scope, id=message_id).only("id", "created_at").first()
    if pivot is None:
        raise input_error(f"message {message_id} is not in this list")
    return pivot


def _after(pivot: Message) -> Q:
    return Q(created_at__gt=pivot.created_at) | Q(created_at=pivot.created_at, id__gt=pivot.id)


def _before(pivot: Message) -> Q:
    return Q(created_at__lt=pivot.created_at) | Q(created_at=pivot.created_at, id__lt=pivot.id)


def messages_page(
    scope: Q, options: dict[str, Any], *, default_limit: int = DEFAULT_MESSAGE_LIMIT
) -> list[Message]:
    """One page of a message list (a channel's history or a thread), ascending.

    Ids are client-chosen and unordered, so ``id_lt`` / ``id_gt`` / ``id_around``
    resolve the pivot message and page by ``(created_at, id)``; without a pivot
    the page is the newest ``limit`` messages.
    """
    limit = bounded_int(options.get("limit"), name="limit", default=default_limit, maximum=MAX_MESSAGE_LIMIT)
    if limit == 0:
        return []
    queryset = _message_queryset().filter(scope)
    for name, op in (
        ("created_at_after", "gt"),
        ("created_at_after_or_equal", "gte"),
        ("created_at_before", "lt"),
        ("created_at_before_or_equal", "lte"),
    ):
        if options.get(name):
            queryset = queryset.filter(**{f"created_at__{op}": parse_date(name, options[name])})
    if options.get("id_gt"):
        pivot = _pivot(options["id_gt"], scope)
        return list(queryset.filter(_after(pivot)).order_by("created_at", "id")[:limit])
    if options.get("id_gte"):
        pivot = _pivot(options["id_gte"], scope)
        return list(queryset.filter(_after(pivot) | Q(id=pivot.id)).order_by("created_at", "id")[:limit])
    if options.get("id_around") or options.get("created_at_around"):
        if options.get("id_around"):
            pivot = _pivot(options["id_around"], scope)
            at, pivot_id = pivot.created_at, pivot.id
        else:
            at, pivot_id = parse_date("created_at_around", options["created_at_around"]), ""
        half = limit // 2
        older = list(
            queryset.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pivot_id)).order_by(
                "-created_at", "-id"
            )[:half]
        )
        newer = list(
            queryset.filter(Q(created_at__gt=at) | Q(created_at=at, id__gte=pivot_id)).order_by(
                "created_at", "id"
            )[: limit - len(older)]
        )
        return [*reversed(older), *newer]
    if options.get("id_lt") or options.get("id_lte"):
        pivot = _pivot(options.get("id_lt") or options["id_lte"], scope)
        condition = _before(pivot) if options.get("id_lt") else _before(pivot) | Q(id=pivot.id)
        queryset = queryset.filter(condition)
    return list(reversed(queryset.order_by("-created_at", "-id")[:limit]))


IN_CHANNEL_HISTORY = Q(parent__isnull=True) | Q(show_in_channel=True)
PAGINATION_KEYS = frozenset(
    {
        "id_lt",
        "id_lte",
        "id_gt",
        "id_gte",
        "id_around",
        "created_at_around",
        "created_at_after",
        "created_at_after_or_equal",
        "created_at_before",
        "created_at_before_or_equal",
    }
)


def channel_history_scope(channel: Channel) -> Q:
    """A channel's history: its messages but thread-only replies (truncating a
    channel deletes its messages, so there is nothing older to hide)."""
    return Q(channel=channel) & IN_CHANNEL_HISTORY


PINNED_LIMIT = 10


def latest_and_pinned_per_channel(
    channels: list[Channel], limit: int, pinned_limit: int = PINNED_LIMIT
) -> tuple[dict[str, list[Message]], dict[str, list[Message]]]:
    """Each channel's newest ``limit`` history messages (ascending) and its
    newest ``pinned_limit`` pins (as ``pinned_messages_per_channel``), in one
    query (``watchpath.latest_and_pinned_per_channel``)."""
    return watchpath.latest_and_pinned_per_channel([channel.cid for channel in channels], limit, pinned_limit)


def pinned_messages_per_channel(
    channels: list[Channel], limit: int = PINNED_LIMIT
) -> dict[str, list[Message]]:
    return top_per_channel(
        _message_queryset().filter(pinned=True, deleted_at__isnull=True),
        channels,
        [F("pinned_at").desc()],
        limit,
    )


def thread_scope(parent: Message) -> Q:
    return Q(parent=parent)
