"""Writes to messages, reactions and read state, with the events they cause.

Unread counts are kept per member (``Member.unread_messages``): a new message
adds one for every member but its author, unless it is silent or lives only in
a thread; marking a channel read sets it back to zero. Each recipient's totals
travel with the event (``per_user``) so every socket gets its own numbers.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import (
    Count,
    F,
    Max,
    Min,
    Q,
    Sum,
)
from django.utils import timezone

from chatengine import events, metrics, sendpath
from chatengine.errors import Code, StreamError, input_error
from chatengine.filters import parse_date
from chatengine.models import (
    ID_MAX_LENGTH,
    Channel,
    ChatUser,
    Member,
    Message,
    MessageType,
    Reaction,
)
from chatengine.selectors import IN_CHANNEL_HISTORY, blockers_in, channel_audience, unread_totals
from chatengine.serializers import channel_payload, iso, reaction_payload, render_message, user_payload
from chatengine.services.app import channel_type_config, channel_type_get

RESERVED_FIELDS = frozenset(
    {
        "id",
        "cid",
        "text",
        "html",
        "type",
        "user",
        "user_id",
        "attachments",
        "latest_reactions",
        "own_reactions",
        "reaction_counts",
        "reaction_scores",
        "reaction_groups",
        "reply_count",
        "deleted_reply_count",
        "parent_id",
        "show_in_channel",
        "quoted_message_id",
        "quoted_message",
        "mentioned_users",
        "mentioned_channel",
        "mentioned_here",
        "silent",
        "shadowed",
        "pinned",
        "pinned_at",
        "pinned_by",
        "pin_expires",
        "created_at",
        "updated_at",
        "deleted_at",
        "message_text_updated_at",
        "thread_participants",
        "i18n",
        "command",
        "restricted_visibility",
        "custom",
        "status",
        "member",
        "poll_id",
        "mml",
    }
)
MAX_ATTACHMENTS = 30


def _custom(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in RESERVED_FIELDS}


def _text(data: dict[str, Any], max_length: int) -> str:
    text = data.get("text") or ""
    if not isinstance(text, str):
        raise input_error("message.text must be a string")
    if len(text) > max_length:
        raise StreamError(Code.MESSAGE_TOO_LONG, f"message is too long: at most {max_length} characters")
    return text


def _attachments(data: dict[str, Any]) -> list[Any]:
    attachments = data.get("attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise input_error("message.attachments must be a list of objects")
    if len(attachments) > MAX_ATTACHMENTS:
        raise input_error(f"at most {MAX_ATTACHMENTS} attachments per message")
    return attachments


def _mentions(data: dict[str, Any], channel: Channel) -> list[str]:
    mentioned = data.get("mentioned_users") or []
    if not isinstance(mentioned, list):
        raise input_error("message.mentioned_users must be a list of user ids")
    ids = [m.get("id") if isinstance(m, dict) else m for m in mentioned]
    if not all(isinstance(uid, str) for uid in ids):
        raise input_error("message.mentioned_users must be a list of user ids")
    if not ids:
        return []
    # Only members can be mentioned; anyone else is dropped silently, as in Stream.
    return list(Member.objects.filter(channel=channel, user_id__in=ids).values_list("user_id", flat=True))


def _optional_datetime(name: str, value: Any) -> datetime | None:
    return None if value in (None, "") else parse_date(name, value)


# ---------------------------------------------------------------------------
# Send
# ---------------------------------------------------------------------------
@transaction.atomic
def message_send(
    *,
    channel: Channel,
    user: ChatUser,
    data: dict[str, Any],
    max_length: int,
    blockers: list[str] | None = None,
) -> Message:
    """Post ``data`` to ``channel`` as ``user`` (already authorized to post).

    A client-chosen id that exists already is Stream's code 4 "already exists",
    which the UI treats as delivered. A reply (``parent_id``) updates its
    parent's ``reply_count`` and ``thread_participants`` and re-announces it.
    ``blockers`` (the members who block ``user`` here, ``blockers_in``) is
    looked up unless the caller already knows it.

    The writes are one round whatever the channel's size: the message, the
    channel's counters, and every member's read state in a single update; then
    one read of who hears of it (``channel_audience``).
    """
    message_id = data.get("id") or str(uuid.uuid4())
    if not isinstance(message_id, str) or len(message_id) > ID_MAX_LENGTH:
        raise input_error("message.id must be a string of at most 255 characters")
    parent: Message | None = None
    if data.get("parent_id"):
        parent = Message.objects.select_for_update().filter(id=data["parent_id"], channel=channel).first()
        if parent is None:
            raise input_error(f"parent message {data['parent_id']} does not exist in {channel.cid}")
        if parent.parent_id is not None:
            raise StreamError(Code.INPUT, "replies to replies are not allowed: threads have one level")
    quoted_id = data.get("quoted_message_id") or None
    if quoted_id and not Message.objects.filter(id=quoted_id, channel=channel).exists():
        raise input_error(f"quoted message {quoted_id} does not exist in {channel.cid}")
    now = timezone.now()
    message = Message(
        id=message_id,
        channel=channel,
        user=user,
        type=MessageType.REPLY if parent else MessageType.REGULAR,
        text=_text(data, max_length),
        attachments=_attachments(data),
        mentioned_user_ids=_mentions(data, channel),
        custom=_custom(data),
        parent=parent,
        show_in_channel=bool(parent and data.get("show_in_channel")),
        quoted_message_id=quoted_id,
        silent=bool(data.get("silent", False)),
        pinned=bool(data.get("pinned", False)),
        pinned_at=now if data.get("pinned") else None,
        pinned_by=user if data.get("pinned") else None,
        pin_expires=_optional_datetime("pin_expires", data.get("pin_expires")),
        created_at=now,
        updated_at=now,
    )
    try:
        # The first write of this transaction (no savepoint of its own): a
        # duplicate id leaves it through the exception, which rolls it back.
        message.save(force_insert=True)
    except IntegrityError as exc:
        raise input_error(f"a message with ID {message_id} already exists") from exc
    transaction.on_commit(metrics.MESSAGES.inc)

    if blockers is None:
        blockers = blockers_in(channel, user.id)
    in_channel = message.in_channel_list
    if in_channel:
        Channel.objects.filter(pk=channel.pk).update(
            last_message_at=now, updated_at=now, message_count=F("message_count") + 1
        )
        channel.last_message_at = now
        channel.message_count += 1
    _members_after_new(channel, message, user, blockers)
    if parent is not None:
        _thread_changed(parent, new_participant=user.id)

    _announce_new(channel, message, user, blockers)
    return message


def _members_after_new(channel: Channel, message: Message, author: ChatUser, blockers: list[str]) -> None:
    """Every member's read state after ``message``, in one update of the
    channel's members (its size does not matter).

    Posting is reading: the author's read state moves to its message. A message
    in the channel list brings the channel back into the lists of members who
    hid it, but not of one who blocks its author, and (unless silent) counts as
    unread for the others, but not for members who muted the channel or the
    author, nor for one who blocks the author in their conversation (Stream's rules).
    """
    sendpath.members_after_new(
        channel_id=channel.cid,
        author_id=author.id,
        message_id=message.id,
        created_at=message.created_at,
        blockers=blockers,
        shown=message.in_channel_list,
        counts=not message.silent,
    )


def _thread_changed(parent: Message, *, new_participant: str | None = None) -> None:
    replies = Message.objects.filter(parent=parent).aggregate(
        total=Count("id"), live=Count("id", filter=Q(deleted_at__isnull=True))
    )
    parent.reply_count = replies["live"]
    parent.deleted_reply_count = replies["total"] - replies["live"]
    if new_participant and new_participant not in parent.thread_participant_ids:
        parent.thread_participant_ids = [*parent.thread_participant_ids, new_participant]
    parent.updated_at = timezone.now()
    parent.save(update_fields=["reply_count", "deleted_reply_count", "thread_participant_ids", "updated_at"])
    refreshed = Message.objects.select_related("user", "channel").get(pk=parent.pk)
    # Clients do not count replies themselves: the parent is re-sent with its new thread state.
    _message_event("message.updated", refreshed, refreshed.user)


def _message_event(event_type: str, message: Message, actor: ChatUser, **fields: Any) -> None:
    """Tell the watchers of ``message``'s channel that it changed (it is sent
    whole), but those who block ``actor`` in their conversation."""
    events.to_channel(
        message.channel_id,
        events.envelope(
            event_type,
            message.channel,
            message_id=message.id,
            message=fields.pop("payload", None) or render_message(message, viewer_id=None),
            user=user_payload(actor),
            **fields,
        ),
        exclude=blockers_in(message.channel, actor.id),
    )


def _announce_new(channel: Channel, message: Message, author: ChatUser, blockers: list[str]) -> None:
    """``message.new`` to the watchers and ``notification.message_new`` to the
    members who are not watching, each with its own unread totals; neither to
    the ``blockers`` of the author."""
    payload = render_message(message, viewer_id=None)
    audience = channel_audience(channel)
    totals, watching = audience.totals, audience.watching
    member_ids = list(totals)
    per_user = {user_id: totals[user_id] for user_id in member_ids if user_id in watching}
    event = events.envelope(
        "message.new",
        channel,
        message_id=message.id,
        message=payload,
        user=user_payload(author, online=True),
        watcher_count=audience.watcher_count,
        channel_message_count=channel.message_count,
        total_unread_count=0,
        unread_channels=0,
        unread_count=0,
    )
    if message.parent_id:
        event["parent_id"] = message.parent_id
    events.to_channel(channel.cid, event, per_user, exclude=blockers)
    if not message.in_channel_list:
        return
    absent = [uid for uid in member_ids if uid not in watching and uid != author.id and uid not in blockers]
    if absent:
        notification = events.envelope(
            "notification.message_new",
            channel,
            channel=channel_payload(channel, config=channel_type_config(channel_type_get(channel.type))),
            message=payload,
            user=user_payload(author, online=True),
            total_unread_count=0,
            unread_channels=0,
        )
        events.to_users(absent, notification, {uid: totals[uid] for uid in absent})


# ---------------------------------------------------------------------------
# Update and delete
# ---------------------------------------------------------------------------
@transaction.atomic
def message_update(*, message: Message, actor: ChatUser, data: dict[str, Any], max_length: int) -> Message:
    """Full update (``POST /messages/{id}``): text, attachments, mentions,
    pinning and custom data are replaced by what ``data`` carries."""
    message = Message.objects.select_for_update(of=("self",)).select_related("channel").get(pk=message.pk)
    now = timezone.now()
    text = _text(data, max_length)
    if text != message.text:
        message.message_text_updated_at = now
    message.text = text
    message.attachments = _attachments(data)
    message.mentioned_user_ids = _mentions(data, message.channel)
    message.custom = _custom(data)
    if "pinned" in data:
        _set_pinned(message, bool(data["pinned"]), actor, data.get("pin_expires"), now)
    message.updated_at = now
    message.save()
    return _announce_updated(message, actor)


def _set_pinned(message: Message, pinned: bool, actor: ChatUser, expires: Any, now: datetime) -> None:
    if pinned and not message.pinned:
        message.pinned, message.pinned_at, message.pinned_by = True, now, actor
    elif not pinned:
        message.pinned, message.pinned_at, message.pinned_by = False, None, None
    message.pin_expires = _optional_datetime("pin_expires", expires) if pinned else None


@transaction.atomic
def message_update_partial(
    *, message: Message, actor: ChatUser, to_set: Any, to_unset: Any, max_length: int
) -> Message:
    if not isinstance(to_set or {}, dict) or not isinstance(to_unset or [], list):
        raise input_error("set must be an object and unset a list of field names")
    message = Message.objects.select_for_update(of=("self",)).select_related("channel").get(pk=message.pk)
    now = timezone.now()
    for key, value in (to_set or {}).items():
        if key == "text":
            new_text = _text({"text": value}, max_length)
            if new_text != message.text:
                message.text, message.message_text_updated_at = new_text, now
        elif key == "attachments":
            message.attachments = _attachments({"attachments": value})
        elif key == "pinned":
            _set_pinned(message, bool(value), actor, (to_set or {}).get("pin_expires"), now)
        elif key == "mentioned_users":
            message.mentioned_user_ids = _mentions({"mentioned_users": value}, message.channel)
        elif key == "silent":
            message.silent = bool(value)
        elif key not in RESERVED_FIELDS:
            message.custom = {**message.custom, key: value}
    for key in to_unset or []:
        if key == "pinned":
            _set_pinned(message, False, actor, None, now)
        elif key == "attachments":
            message.attachments = []
        else:
            message.custom = {k: v for k, v in message.custom.items() if k != key}
    message.updated_at = now
    message.save()
    return _announce_updated(message, actor)


def _announce_updated(message: Message, actor: ChatUser) -> Message:
    message = Message.objects.select_related("user", "channel").get(pk=message.pk)
    _message_event("message.updated", message, actor)
    return message


@transaction.atomic
def message_delete(*, message: Message, actor: ChatUser, hard: bool) -> dict[str, Any]:
    """Soft delete keeps the message as ``type: deleted`` with its text cleared;
    hard delete removes it. Returns the deleted message's payload."""
    message = (
        Message.objects.select_for_update(of=("self",)).select_related("user", "channel").get(pk=message.pk)
    )
    now = timezone.now()
    message.type = MessageType.DELETED
    message.deleted_at = now
    message.updated_at = now
    message.text = ""
    message.attachments = []
    payload = render_message(message, viewer_id=None)
    _message_event("message.deleted", message, actor, payload=payload, hard_delete=hard)
    if hard:
        message.delete()
    else:
        message.save()
    if message.parent_id:
        parent = Message.objects.select_for_update().filter(pk=message.parent_id).first()
        if parent is not None:
            _thread_changed(parent)
    return payload


# ---------------------------------------------------------------------------
# Reactions
# ---------------------------------------------------------------------------
def _refresh_reaction_groups(message: Message) -> None:
    rows = (
        Reaction.objects.filter(message=message)
        .values("type")
        .annotate(count=Count("id"), sum_scores=Sum("score"), first=Min("created_at"), last=Max("updated_at"))
    )
    message.reaction_groups = {
        row["type"]: {
            "count": row["count"],
            "sum_scores": row["sum_scores"],
            "first_reaction_at": iso(row["first"]),
            "last_reaction_at": iso(row["last"]),
        }
        for row in rows
    }
    message.save(update_fields=["reaction_groups"])


@transaction.atomic
def reaction_send(
    *, message: Message, user: ChatUser, data: dict[str, Any], enforce_unique: bool
) -> tuple[Message, Reaction, bool]:
    """Add or update ``user``'s reaction of ``data.type``; with ``enforce_unique``
    the user's other reactions on the message go. Returns whether it was new."""
    kind = data.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > 64:
        raise input_error("reaction.type is required")
    score = data.get("score", 1)
    if isinstance(score, bool) or not isinstance(score, int) or score < 1:
        raise input_error("reaction.score must be a positive integer")
    message = Message.objects.select_for_update(of=("self",)).select_related("channel").get(pk=message.pk)
    now = timezone.now()
    if enforce_unique:
        Reaction.objects.filter(message=message, user=user).exclude(type=kind).delete()
    custom = {
        k: v
        for k, v in data.items()
        if k
        not in {"type", "score", "emoji_code", "user", "user_id", "message_id", "created_at", "updated_at"}
    }
    reaction, created = Reaction.objects.update_or_create(
        message=message,
        user=user,
        type=kind,
        defaults={
            "score": score,
            "emoji_code": data.get("emoji_code") or "",
            "custom": custom,
            "updated_at": now,
        },
        create_defaults={
            "score": score,
            "emoji_code": data.get("emoji_code") or "",
            "custom": custom,
            "created_at": now,
            "updated_at": now,
        },
    )
    _refresh_reaction_groups(message)
    message.updated_at = now
    message.save(update_fields=["updated_at"])
    message = Message.objects.select_related("user", "channel").get(pk=message.pk)
    reaction = Reaction.objects.select_related("user").get(pk=reaction.pk)
    _message_event(
        "reaction.new" if created else "reaction.updated",
        message,
        user,
        reaction=reaction_payload(reaction),
        channel=channel_payload(message.channel),
    )
    return message, reaction, created


@transaction.atomic
def reaction_delete(*, message: Message, user: ChatUser, kind: str) -> tuple[Message, dict[str, Any]]:
    message = Message.objects.select_for_update(of=("self",)).select_related("channel").get(pk=message.pk)
    reaction = Reaction.objects.select_related("user").filter(message=message, user=user, type=kind).first()
    if reaction is None:
        raise StreamError(Code.DOES_NOT_EXIST, f"reaction {kind} of user {user.id} does not exist")
    payload = reaction_payload(reaction)
    reaction.delete()
    _refresh_reaction_groups(message)
    message = Message.objects.select_related("user", "channel").get(pk=message.pk)
    _message_event(
        "reaction.deleted", message, user, reaction=payload, channel=channel_payload(message.channel)
    )
    return message, payload


# ---------------------------------------------------------------------------
# Read state
# ---------------------------------------------------------------------------
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
