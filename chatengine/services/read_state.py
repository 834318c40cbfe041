"""Read state and client events: marking a channel read or unread, with the
reader's new totals, and relaying typing and custom events."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from chatengine import events
from chatengine.errors import Code, StreamError, input_error
from chatengine.models import Channel, ChatUser, Member, Message
from chatengine.selectors import IN_CHANNEL_HISTORY, blockers_in, unread_totals
from chatengine.serializers import iso, user_payload


@transaction.atomic
def channel_mark_read(*, channel: Channel, user: ChatUser, message_id: str | None = None) -> dict[str, Any]:
    """Mark ``channel`` read up to its newest message (or ``message_id``).
    Watchers get ``message.read``; the reader's own sockets get
    ``notification.mark_read`` with its new totals. Returns the event."""
    member = Member.objects.select_for_update().filter(channel=channel, user=user).first()
    last = (
        Message.objects.filter(channel=channel, id=message_id).first()
        if message_id
        else Message.objects.filter(IN_CHANNEL_HISTORY, channel=channel)
        .order_by("-created_at", "-id")
        .first()
    )
    now = timezone.now()
    if member is not None:
        member.last_read = now
        member.last_read_message_id = last.id if last else ""
        member.unread_messages = 0
        member.save(update_fields=["last_read", "last_read_message_id", "unread_messages"])
    fields: dict[str, Any] = {"user": user_payload(user, online=True)}
    if last is not None:
        fields["last_read_message_id"] = last.id
    event = events.envelope("message.read", channel, **fields)
    events.to_channel(channel.cid, event, exclude=blockers_in(channel, user.id))
    totals = unread_totals([user.id])[user.id]
    notification = events.envelope("notification.mark_read", channel, **fields, **totals)
    events.to_users([user.id], notification)
    return event


@transaction.atomic
def channel_mark_unread(*, channel: Channel, user: ChatUser, message_id: Any) -> None:
    """Mark ``channel`` unread from ``message_id`` on (that message included)."""
    if not isinstance(message_id, str) or not message_id:
        raise input_error("message_id is required")
    first = Message.objects.filter(channel=channel, id=message_id).first()
    if first is None:
        raise input_error(f"message {message_id} does not exist in {channel.cid}")
    member = Member.objects.select_for_update().filter(channel=channel, user=user).first()
    if member is None:
        raise StreamError(Code.NOT_ALLOWED, f"user '{user.id}' is not a member of {channel.cid}")
    history = Message.objects.filter(IN_CHANNEL_HISTORY, channel=channel, deleted_at__isnull=True)
    # Counted as a new message would have been: not silent, not the reader's own.
    unread = history.filter(created_at__gte=first.created_at, silent=False).exclude(user=user).count()
    previous = history.filter(created_at__lt=first.created_at).order_by("-created_at", "-id").first()
    member.unread_messages = unread
    member.last_read = previous.created_at if previous else channel.created_at
    member.last_read_message_id = previous.id if previous else ""
    member.save(update_fields=["unread_messages", "last_read", "last_read_message_id"])
    totals = unread_totals([user.id])[user.id]
    fields: dict[str, Any] = {
        "user": user_payload(user, online=True),
        "first_unread_message_id": first.id,
        "last_read_at": iso(member.last_read),
        "unread_messages": unread,
        **totals,
    }
    if previous is not None:
        fields["last_read_message_id"] = previous.id
    events.to_users([user.id], events.envelope("notification.mark_unread", channel, **fields))


# ---------------------------------------------------------------------------
# Client events (typing, custom)
# ---------------------------------------------------------------------------
CLIENT_EVENT_TYPES = frozenset({"typing.start", "typing.stop"})


def channel_event_send(*, channel: Channel, user: ChatUser, data: dict[str, Any]) -> dict[str, Any]:
    """Relay a typing or custom event to the channel's watchers."""
    event_type = data.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise input_error("event.type is required")
    if event_type not in CLIENT_EVENT_TYPES and "." in event_type and not event_type.startswith("custom"):
        raise StreamError(Code.INPUT, f"event type {event_type} cannot be sent by clients")
    extra = {
        k: v
        for k, v in data.items()
        if k not in {"type", "user", "user_id", "cid", "created_at", "channel_id", "channel_type"}
    }
    event = events.envelope(event_type, channel, **extra, user=user_payload(user, online=True))
    events.to_channel(channel.cid, event, exclude=blockers_in(channel, user.id))
    return event
