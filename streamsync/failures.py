"""What a failed call to the chat service means for a batch.

A transient failure (429, 5xx, timeout, dropped connection) stops the batch:
:class:`TransientFailure` carries it up to the worker, which puts the
unfinished rows back with :func:`backoff`. A permanent one (4xx) is recorded
against the record it concerns; a batched call that fails permanently is
bisected until the bad records are found (:func:`batched`), so only their rows
are dead-lettered.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from stream_chat.base.exceptions import StreamAPIException

from streamsync import metrics
from streamsync.batch import chunks
from streamsync.client import ChatClient, Failure, classify

T = TypeVar("T")


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: ~1 s, 2 s, 4 s ... capped (STREAM_SYNC_BACKOFF_CAP)."""
    base = settings.STREAM_SYNC_BACKOFF_BASE
    ceiling = min(settings.STREAM_SYNC_BACKOFF_CAP, base * (2**attempts))
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311  (jitter, not crypto)


class TransientFailure(Exception):
    """The chat service is unavailable or rate limiting: stop the batch, retry later."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def permanent(exc: Exception, client: ChatClient) -> str:
    """The message of a permanent failure; a transient one stops the batch."""
    failure = classify(exc, client)
    metrics.FAILURES.labels(failure.cause).inc()
    if failure.retryable:
        raise TransientFailure(failure) from exc
    return failure.message


def attempt(client: ChatClient, key: str, failed: dict[str, str], call: Callable[[], object]) -> bool:
    """Run one call; a permanent failure is recorded under ``key`` (transient ones stop the batch)."""
    try:
        call()
    except Exception as exc:
        failed[key] = permanent(exc, client)
        return False
    return True


def batched(
    client: ChatClient,
    items: Sequence[T],
    call: Callable[[Sequence[T]], None],
    *,
    key: Callable[[T], str],
    failed: dict[str, str],
) -> None:
    """Run ``call`` over ``items`` in chunks of 100; bisect a chunk that fails
    permanently until the bad items are isolated, recording them in ``failed``."""
    for part in chunks(items):
        _bisect(client, part, call, key=key, failed=failed)


def _bisect(
    client: ChatClient,
    items: Sequence[T],
    call: Callable[[Sequence[T]], None],
    *,
    key: Callable[[T], str],
    failed: dict[str, str],
) -> None:
    if not items:
        return
    try:
        call(items)
    except Exception as exc:
        message = permanent(exc, client)
        if len(items) == 1:
            failed[key(items[0])] = message
            return
        middle = len(items) // 2
        _bisect(client, items[:middle], call, key=key, failed=failed)
        _bisect(client, items[middle:], call, key=key, failed=failed)


def unless_gone(call: Callable[[], object]) -> None:
    """Run a delete; "not found" is what a delete wants, so it is success."""
    try:
        call()
    except StreamAPIException as exc:
        if exc.status_code != 404:
            raise
