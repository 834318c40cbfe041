"""Sending a message, with the writes and the events it causes.

Unread counts are kept per member (``Member.unread_messages``): a new message
adds one for every member but its author, unless it is silent or lives only in
a thread; marking a channel read sets it back to zero. Each recipient's totals
travel with the event (``per_user``) so every socket gets its own numbers.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chatengine import events, metrics, sendpath
from chatengine.errors import Code, StreamError, input_error
from chatengine.models import ID_MAX_LENGTH, Channel, ChatUser, Message, MessageType
from chatengine.selectors import Audience, blockers_in, channel_audience
from chatengine.serializers import channel_payload, render_message, user_payload
from chatengine.services.app import channel_type_config, channel_type_get
from chatengine.services.message_content import (
    custom_data,
    mentioned_members,
    message_attachments,
    message_text,
    optional_datetime,
    thread_changed,
)


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

    Who hears of it (``channel_audience``) is read first; then the writes,
    whatever the channel's size: the message, the channel's counters, and
    every member's read state in a single update. On PostgreSQL they are one
    statement (``sendpath.new_message_writes``), so a send to a busy channel
    holds its rows' locks for that statement only.
    """
    with _send_transaction(data):
        return _send(channel=channel, user=user, data=data, max_length=max_length, blockers=blockers)


def _send_transaction(data: dict[str, Any]) -> AbstractContextManager[Any]:
    """A transaction for a send that needs one: a reply (its parent is locked
    and updated with it), a database that writes a send in several statements,
    or a caller's transaction (a savepoint, so that a duplicate id leaves it
    usable). Otherwise the writes are one statement, atomic on its own, and
    the events go out right after it."""
    needs_one = data.get("parent_id") or not sendpath.writes_in_one_statement() or connection.in_atomic_block
    return transaction.atomic() if needs_one else nullcontext()


def _send(
    *, channel: Channel, user: ChatUser, data: dict[str, Any], max_length: int, blockers: list[str] | None
) -> Message:
    message_id = _message_id(data)
    parent = _parent_of(channel, data)
    quoted_id = _quoted_id(channel, data)
    now = timezone.now()
    message = _new_message(
        message_id, channel, user, data, max_length, parent=parent, quoted_id=quoted_id, now=now
    )
    if blockers is None:
        blockers = blockers_in(channel, user.id)
    audience = channel_audience(channel)
    try:
        unread = _write_new(message, blockers)
    except IntegrityError as exc:
        raise input_error(f"a message with ID {message_id} already exists") from exc
    transaction.on_commit(metrics.MESSAGES.inc)
    if message.in_channel_list:
        channel.last_message_at = now
        channel.message_count += 1
    if parent is not None:
        thread_changed(parent, new_participant=user.id)

    _announce_new(channel, message, user, blockers, audience, audience.totals(unread))
    return message


def _message_id(data: dict[str, Any]) -> str:
    """The new message's id: the client's own, or a fresh one."""
    message_id = data.get("id") or str(uuid.uuid4())
    if not isinstance(message_id, str) or len(message_id) > ID_MAX_LENGTH:
        raise input_error("message.id must be a string of at most 255 characters")
    return message_id


def _parent_of(channel: Channel, data: dict[str, Any]) -> Message | None:
    """The thread parent a reply names (``parent_id``), locked for the update
    of its thread state; ``None`` for a message that is not a reply."""
    parent: Message | None = None
    if data.get("parent_id"):
        parent = Message.objects.select_for_update().filter(id=data["parent_id"], channel=channel).first()
        if parent is None:
            raise input_error(f"parent message {data['parent_id']} does not exist in {channel.cid}")
        if parent.parent_id is not None:
            raise StreamError(Code.INPUT, "replies to replies are not allowed: threads have one level")
    return parent


def _quoted_id(channel: Channel, data: dict[str, Any]) -> str | None:
    """The id of the message a new one quotes, checked to be in ``channel``."""
    quoted_id = data.get("quoted_message_id") or None
    if quoted_id and not Message.objects.filter(id=quoted_id, channel=channel).exists():
        raise input_error(f"quoted message {quoted_id} does not exist in {channel.cid}")
    return quoted_id


def _new_message(
    message_id: str,
    channel: Channel,
    user: ChatUser,
    data: dict[str, Any],
    max_length: int,
    *,
    parent: Message | None,
    quoted_id: str | None,
    now: datetime,
) -> Message:
    """The unsaved message ``data`` describes (reading the mentioned members)."""
    return Message(
        id=message_id,
        channel=channel,
        user=user,
        type=MessageType.REPLY if parent else MessageType.REGULAR,
        text=message_text(data, max_length),
        attachments=message_attachments(data),
        mentioned_user_ids=mentioned_members(data, channel),
        custom=custom_data(data),
        parent=parent,
        show_in_channel=bool(parent and data.get("show_in_channel")),
        quoted_message_id=quoted_id,
        silent=bool(data.get("silent", False)),
        pinned=bool(data.get("pinned", False)),
        pinned_at=now if data.get("pinned") else None,
        pinned_by=user if data.get("pinned") else None,
        pin_expires=optional_datetime("pin_expires", data.get("pin_expires")),
        created_at=now,
        updated_at=now,
    )


def _write_new(message: Message, blockers: list[str]) -> dict[str, int]:
    """The message's row, the channel's counters and every member's read state
    (one update of the channel's members, whatever its size); returns the
    unread counts in the channel that changed.

    Posting is reading: the author's read state moves to its message. A message
    in the channel list brings the channel back into the lists of members who
    hid it, but not of one who blocks its author, and (unless silent) counts as
    unread for the others, but not for members who muted the channel or the
    author, nor for one who blocks the author in their conversation (Stream's rules).
    """
    return sendpath.new_message_writes(
        message, blockers=blockers, shown=message.in_channel_list, counts=not message.silent
    )


def _announce_new(
    channel: Channel,
    message: Message,
    author: ChatUser,
    blockers: list[str],
    audience: Audience,
    totals: dict[str, dict[str, int]],
) -> None:
    """``message.new`` to the watchers and ``notification.message_new`` to the
    members who are not watching, each with its own unread ``totals``; neither
    to the ``blockers`` of the author."""
    payload = render_message(message, viewer_id=None)
    watching = audience.watching
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
