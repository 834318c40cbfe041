"""The sync worker: claims outbox rows, sends each entity's current state to the
chat service, and records the outcome.

Per batch:

1. claim due rows (several workers may run; see :func:`streamsync.outbox.claim`);
2. load the current state of every entity named, plus what it depends on (a
   membership needs its channel and its users to exist in the chat service);
3. send users (reactivate, upsert in 100s, revoke tokens issued before a
   password change, deactivate + revoke tokens, delete), then channels
   (create or partial update, delete), then members (add / assign roles /
   remove in 100s), skipping what the last sync already sent
   (``SyncState.digest``);
4. a permanent failure (4xx) of a batched call is bisected until the bad
   records are found: only their rows are dead-lettered;
5. a transient failure (429, 5xx, timeout, dropped connection) stops the batch:
   the unfinished rows go back to pending with exponential backoff and jitter,
   or until ``X-RateLimit-Reset`` after a 429;
6. the outcome is written in one short transaction. No transaction is ever
   open during a network call.

What to send is decided by the pure functions of :mod:`streamsync.plan`; this
module loads what they read, makes the calls and records the outcome
(:mod:`streamsync.batch` keeps the book of a batch and the sync states,
:mod:`streamsync.members` the calls for one channel's members,
:mod:`streamsync.failures` what a failed call means for the batch).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from accounts.models import User
from channels_app.models import Channel, Membership, channel_chat_id
from streamsync import mapping, metrics, plan
from streamsync.batch import Batch, filter_in, forget_states, load_states, save_states
from streamsync.client import ChatClient, Failure, get_client
from streamsync.failures import TransientFailure, attempt, backoff, batched, permanent, unless_gone
from streamsync.members import ChannelMembersSync
from streamsync.models import EntityType, SyncState
from streamsync.outbox import Outcome, claim, finish, wake_event
from streamsync.plan import ChannelAction

logger = logging.getLogger(__name__)


class SyncWorker:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        batch_size: int | None = None,
        lease: timedelta | None = None,
        client_factory: Callable[[], ChatClient] = get_client,
    ) -> None:
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch_size = batch_size or settings.STREAM_SYNC_BATCH_SIZE
        self.lease = lease or timedelta(seconds=settings.STREAM_SYNC_LEASE_SECONDS)
        self.client_factory = client_factory
        self.paused_until: float = 0.0

    # -- running --------------------------------------------------------------

    def run_once(self) -> int:
        """Claim and process one batch. Returns the number of rows claimed."""
        rows = claim(limit=self.batch_size, worker_id=self.worker_id, lease=self.lease)
        if not rows:
            return 0
        started = time.monotonic()
        batch = Batch(rows)
        result = "ok"
        try:
            self.process(batch)
        except TransientFailure as exc:
            result = "retry"
            self._reschedule(batch, exc.failure)
        except Exception as exc:
            result = "error"
            metrics.FAILURES.labels("internal").inc()
            logger.exception("sync: unexpected error; %d rows go back to pending", len(batch.unsettled()))
            self._reschedule(batch, Failure(f"{type(exc).__name__}: {exc}", retryable=True))
        finish(rows, batch.outcome)
        _count_batch(result, batch.outcome, time.monotonic() - started)
        return len(rows)

    def drain(self, *, max_seconds: float | None = None) -> int:
        """Process batches until nothing is due (or time is up). Returns rows claimed."""
        deadline = time.monotonic() + max_seconds if max_seconds else None
        total = 0
        while deadline is None or time.monotonic() < deadline:
            self._wait_out_rate_limit()
            claimed = self.run_once()
            total += claimed
            if not claimed:
                break
        return total

    def run_forever(self, stop: threading.Event, *, poll_interval: float | None = None) -> None:
        """Loop until ``stop`` is set; a stop lets the current batch finish first."""
        interval = poll_interval if poll_interval is not None else settings.STREAM_SYNC_POLL_INTERVAL
        while not stop.is_set():
            close_old_connections()
            try:
                self._wait_out_rate_limit(stop)
                claimed = self.run_once()
            except Exception:
                logger.exception("sync: batch failed before it could be recorded")
                claimed = 0
                stop.wait(interval)
            if not claimed:
                wake_event.wait(interval)
                wake_event.clear()

    def _wait_out_rate_limit(self, stop: threading.Event | None = None) -> None:
        delay = self.paused_until - time.time()
        if delay > 0:
            logger.info("sync: rate limited; waiting %.1f s", delay)
            (stop.wait if stop is not None else time.sleep)(delay)

    def _reschedule(self, batch: Batch, failure: Failure) -> None:
        unsettled = batch.unsettled()
        logger.warning("sync: %s; %d rows will be retried", failure.message, len(unsettled))
        now = timezone.now()
        if failure.rate_limited and failure.retry_at:
            retry_at = datetime.fromtimestamp(failure.retry_at, tz=UTC)
            retry_at = max(retry_at, now) + timedelta(seconds=random.uniform(0, 0.5))  # noqa: S311
            self.paused_until = retry_at.timestamp()
        for row in unsettled:
            at = retry_at if failure.rate_limited and failure.retry_at else now + backoff(row.attempts)
            batch.outcome.retry[row.id] = (at, failure.message)

    # -- one batch --------------------------------------------------------------

    def process(self, batch: Batch) -> None:
        client = self.client_factory()
        user_ids = set(batch.ids(EntityType.USER))
        channel_ids = set(batch.ids(EntityType.CHANNEL))
        member_channel_ids = batch.ids(EntityType.CHANNEL_MEMBERS)

        # What the members phase needs to exist first: its channels and users.
        desired_members = plan.desired_members(
            member_channel_ids,
            filter_in(
                Membership.objects.values_list("channel_id", "user_id", "role"),
                "channel_id",
                member_channel_ids,
            ),
        )
        existing_member_channels = {
            str(pk): tenant_id
            for pk, tenant_id in filter_in(
                Channel.objects.values_list("pk", "tenant_id"), "pk", member_channel_ids
            )
        }
        channel_states = load_states(EntityType.CHANNEL, channel_ids | set(existing_member_channels))
        channel_ids = plan.channels_needed(channel_ids, existing_member_channels, channel_states)

        channels = {
            str(c.pk): c
            for c in filter_in(Channel.objects.select_related("tenant", "created_by"), "pk", channel_ids)
        }
        wanted_users = plan.users_needed(channels, channel_states, desired_members)
        synced_users = set(load_states(EntityType.USER, wanted_users))
        user_ids |= wanted_users - synced_users

        failed_users = self.sync_users(client, batch, user_ids)
        failed_channels = self.sync_channels(
            client, batch, channels, channel_ids, channel_states, failed_users
        )
        self.sync_members(
            client, batch, desired_members, existing_member_channels, failed_users | failed_channels
        )

    # -- users ------------------------------------------------------------------

    def sync_users(self, client: ChatClient, batch: Batch, user_ids: set[str]) -> set[str]:
        """Send users; returns the ids that failed permanently. Ids that are not
        users of ours (a team's system user, a stranger found by reconcile) are deleted."""
        users = {
            str(u.pk): u for u in filter_in(User.objects.select_related("tenant"), "pk", _uuids(user_ids))
        }
        todo = plan.plan_users(user_ids, users, load_states(EntityType.USER, user_ids))
        failed: dict[str, str] = {}

        def reactivate_call(ids: Sequence[str]) -> None:
            client.post("users/reactivate", data={"user_ids": list(ids), "restore_messages": False})

        def upsert_call(payloads: Sequence[dict[str, Any]]) -> None:
            client.upsert_users(list(payloads))

        def revoke_call(updates: Sequence[dict[str, Any]]) -> None:
            client.update_users_partial(list(updates))

        def deactivate_call(ids: Sequence[str]) -> None:
            client.deactivate_users(list(ids), mark_messages_deleted=False)
            client.revoke_users_token(list(ids), timezone.now())

        batched(client, todo.reactivate, reactivate_call, key=str, failed=failed)
        upsert = [p for p in todo.upsert if p["id"] not in failed]
        batched(client, upsert, upsert_call, key=lambda p: p["id"], failed=failed)
        revoke = [u for u in todo.revoke if u["id"] not in failed]
        batched(client, revoke, revoke_call, key=lambda u: u["id"], failed=failed)
        batched(
            client, [u for u in todo.deactivate if u not in failed], deactivate_call, key=str, failed=failed
        )
        save_states(EntityType.USER, [s for uid, s in todo.states.items() if uid not in failed])

        gone = todo.delete

        def delete_call(ids: Sequence[str]) -> None:
            # "pruning", not "hard": the chat service keeps the id, marked
            # deleted, so a token still unexpired cannot bring the user back
            # (a client connecting as a user the service does not know creates
            # it, without teams). Messages and conversations go for good.
            unless_gone(
                lambda: client.delete_users(list(ids), "pruning", messages="hard", conversations="hard")
            )

        batched(client, gone, delete_call, key=str, failed=failed)
        forget_states(EntityType.USER, [uid for uid in gone if uid not in failed])

        batch.settle(EntityType.USER, user_ids, failed)
        return set(failed)

    # -- channels -------------------------------------------------------------------

    def sync_channels(
        self,
        client: ChatClient,
        batch: Batch,
        channels: dict[str, Channel],
        channel_ids: set[str],
        states: dict[str, SyncState],
        failed_users: set[str],
    ) -> set[str]:
        """Create, update or delete channels; returns the ids that failed permanently."""
        failed: dict[str, str] = {}
        todo = plan.plan_channels(channel_ids, channels, states)
        creating = [step.channel for step in todo.steps.values() if step.action is ChannelAction.CREATE]
        self._ensure_system_users(client, creating)
        for cid, step in todo.steps.items():
            channel, data = step.channel, step.data
            if step.action is ChannelAction.CREATE:
                create = partial(self._create_channel, client, channel, data, failed_users)
                sent = attempt(client, cid, failed, create)
            elif step.action is ChannelAction.UPDATE:
                handle = client.channel(mapping.CHANNEL_TYPE, channel.chat_id)
                update = partial(_update_channel_data, handle, channel, data)
                sent = attempt(client, cid, failed, update)
            else:
                sent = True
            if sent:
                save_states(EntityType.CHANNEL, [step.state])

        gone = todo.delete
        for cid in gone:
            handle = client.channel(mapping.CHANNEL_TYPE, channel_chat_id(cid))
            attempt(client, cid, failed, partial(unless_gone, partial(handle.delete, hard=True)))
        forget_states(EntityType.CHANNEL, [cid for cid in gone if cid not in failed])
        forget_states(EntityType.CHANNEL_MEMBERS, [cid for cid in gone if cid not in failed])

        batch.settle(EntityType.CHANNEL, channel_ids, failed)
        return set(failed)

    def _create_channel(
        self, client: ChatClient, channel: Channel, data: dict[str, Any], failed_users: set[str]
    ) -> None:
        handle = client.channel(mapping.CHANNEL_TYPE, channel.chat_id, dict(data))
        response = handle.create(plan.channel_creator_id(channel, failed_users))
        existing = response.get("channel", {}) if isinstance(response, dict) else {}
        if plan.channel_differs(channel, data, existing):
            # The channel already existed (an earlier attempt, or drift): bring its data up to date.
            _update_channel_data(client.channel(mapping.CHANNEL_TYPE, channel.chat_id), channel, data)

    def _ensure_system_users(self, client: ChatClient, channels: list[Channel]) -> None:
        tenants = {c.tenant_id: c.tenant for c in channels}
        if not tenants:
            return
        states = load_states(EntityType.USER, [mapping.system_user_id(t) for t in tenants.values()])
        missing = [t for t in tenants.values() if mapping.system_user_id(t) not in states]
        if not missing:
            return
        try:
            client.upsert_users([mapping.system_user_payload(t) for t in missing])
        except Exception as exc:
            permanent(exc, client)
            return
        save_states(
            EntityType.USER,
            [
                SyncState(entity_id=mapping.system_user_id(t), tenant_id=t.pk, digest="system")
                for t in missing
            ],
        )

    # -- members ----------------------------------------------------------------------

    def sync_members(
        self,
        client: ChatClient,
        batch: Batch,
        desired_members: dict[str, dict[str, str]],
        existing_channels: dict[str, Any],
        failed_upstream: set[str],
    ) -> None:
        states = load_states(EntityType.CHANNEL_MEMBERS, desired_members)
        for cid, desired in desired_members.items():
            if cid not in existing_channels or cid in failed_upstream:
                # Deleted channels take their members with them; a channel that
                # failed to sync has its own dead row.
                batch.done(EntityType.CHANNEL_MEMBERS, cid)
                continue
            state = states.get(cid)
            members = ChannelMembersSync(
                client=client,
                channel_pk=cid,
                tenant_id=existing_channels[cid],
                current=dict(state.data.get("members", {})) if state else {},
            )
            failed = members.run(desired, failed_upstream)
            if failed:
                details = "; ".join(f"{uid}: {message}" for uid, message in sorted(failed.items()))
                batch.dead(EntityType.CHANNEL_MEMBERS, cid, f"members not synced: {details}")
            else:
                batch.done(EntityType.CHANNEL_MEMBERS, cid)


def _count_batch(result: str, outcome: Outcome, duration: float) -> None:
    metrics.BATCHES.labels(result).inc()
    metrics.ROWS.labels("done").inc(len(outcome.done))
    metrics.ROWS.labels("retry").inc(len(outcome.retry))
    metrics.ROWS.labels("dead").inc(len(outcome.dead))
    metrics.BATCH_DURATION.observe(duration)


def _update_channel_data(handle: Any, channel: Channel, data: dict[str, Any]) -> None:
    """Set the channel's custom data (``team`` never changes) and unset what it must not have."""
    to_set = {k: v for k, v in data.items() if k != "team"}
    absent = mapping.channel_data_absent(channel)
    if absent:
        handle.update_partial(to_set=to_set, to_unset=absent)
    else:
        handle.update_partial(to_set=to_set)


def _uuids(values: Iterable[str]) -> list[str]:
    """The values that are UUIDs (our primary keys); the others match no row."""
    valid = []
    for value in values:
        try:
            uuid.UUID(value)
        except ValueError:
            continue
        valid.append(value)
    return valid
