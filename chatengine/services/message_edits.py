"""Edits of a message: full and partial updates (pinning among them) and
deletion, soft or hard, each re-announced to the channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from chatengine.errors import input_error
from chatengine.models import ChatUser, Message, MessageType
from chatengine.serializers import render_message
from chatengine.services.message_content import (
    RESERVED_FIELDS,
    custom_data,
    mentioned_members,
    message_attachments,
    message_event,
    message_text,
    optional_datetime,
    thread_changed,
)


@transaction.atomic
def message_update(*, message: Message, actor: ChatUser, data: dict[str, Any], max_length: int) -> Message:
    """Full update (``POST /messages/{id}``): text, attachments, mentions,
    pinning and custom data are replaced by what ``data`` carries."""
    message = Message.objects.select_for_update(of=("self",)).select_related("channel").get(pk=message.pk)
    now = timezone.now()
    text = message_text(data, max_length)
    if text != message.text:
        message.message_text_updated_at = now
    message.text = text
    message.attachments = message_attachments(data)
    message.mentioned_user_ids = mentioned_members(data, message.channel)
    message.custom = custom_data(data)
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
    message.pin_expires = optional_datetime("pin_expires", expires) if pinned else None


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
            new_text = message_text({"text": value}, max_length)
            if new_text != message.text:
                message.text, message.message_text_updated_at = new_text, now
        elif key == "attachments":
            message.attachments = message_attachments({"attachments": value})
        elif key == "pinned":
            _set_pinned(message, bool(value), actor, (to_set or {}).get("pin_expires"), now)
        elif key == "mentioned_users":
            message.mentioned_user_ids = mentioned_members({"mentioned_users": value}, message.channel)
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
    message_event("message.updated", message, actor)
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
    message_event("message.deleted", message, actor, payload=payload, hard_delete=hard)
    if hard:
        message.delete()
    else:
        message.save()
    if message.parent_id:
        parent = Message.objects.select_for_update().filter(pk=message.parent_id).first()
        if parent is not None:
            thread_changed(parent)
    return payload
