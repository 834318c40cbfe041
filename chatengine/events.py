"""Event delivery: build Stream event envelopes and hand them to the channel
layer once the transaction that caused them has committed.

Two kinds of groups carry events. A channel's group holds every connection
watching it; a user's group holds every connection of that user (for
``notification.*`` events). Group names are hashes because cids and user ids
hold characters channel layers refuse.

Fields that differ per recipient (unread counts) travel next to the event as
``per_user`` and the consumer merges its own user's entry before sending.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from chatengine.models import Channel
from chatengine.serializers import iso

logger = logging.getLogger(__name__)

EVENT_MESSAGE_TYPE = "chat.event"


def channel_group(cid: str) -> str:
    return "chat.c." + hashlib.sha256(cid.encode()).hexdigest()[:48]


def user_group(user_id: str) -> str:
    return "chat.u." + hashlib.sha256(user_id.encode()).hexdigest()[:48]


def envelope(event_type: str, source: Channel | None = None, /, **fields: Any) -> dict[str, Any]:
    """A Stream event: ``type``, ``created_at``, the channel it happened in
    (``source``: cid, id, type, team ...) and the event's own ``fields``."""
    event: dict[str, Any] = {"type": event_type, "created_at": iso(timezone.now())}
    if source is not None:
        event.update(
            cid=source.cid,
            channel_id=source.channel_id,
            channel_type=source.type,
            channel_member_count=source.member_count,
            channel_custom=dict(source.custom or {}),
        )
        if source.team:
            event["team"] = source.team
    event.update(fields)
    return event


def _send(group: str, event: dict[str, Any], per_user: dict[str, dict[str, Any]] | None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group, {"type": EVENT_MESSAGE_TYPE, "event": event, "per_user": per_user or {}}
        )
    except Exception:
        # A lost event is recoverable (clients re-query on reconnect); a failed
        # request after a committed write is not.
        logger.exception("chat event %s could not be delivered", event.get("type"))


def to_channel(cid: str, event: dict[str, Any], per_user: dict[str, dict[str, Any]] | None = None) -> None:
    """Deliver ``event`` to every connection watching ``cid``, after commit."""
    group = channel_group(cid)
    transaction.on_commit(lambda: _send(group, event, per_user))


def to_users(
    user_ids: list[str], event: dict[str, Any], per_user: dict[str, dict[str, Any]] | None = None
) -> None:
    """Deliver ``event`` to every connection of each user, after commit."""
    groups = [user_group(user_id) for user_id in dict.fromkeys(user_ids)]

    def send_all() -> None:
        for group in groups:
            _send(group, event, per_user)

    if groups:
        transaction.on_commit(send_all)


def subscribe(channel_names: list[str], cids: list[str]) -> None:
    """Add connections to channel groups, after commit."""
    layer = get_channel_layer()
    if layer is None or not channel_names or not cids:
        return

    def add() -> None:
        for cid in cids:
            for name in channel_names:
                async_to_sync(layer.group_add)(channel_group(cid), name)

    transaction.on_commit(add)


def unsubscribe(channel_names: list[str], cids: list[str]) -> None:
    layer = get_channel_layer()
    if layer is None or not channel_names or not cids:
        return

    def discard() -> None:
        for cid in cids:
            for name in channel_names:
                async_to_sync(layer.group_discard)(channel_group(cid), name)

    transaction.on_commit(discard)
