"""What a message carries, validated as sending and editing read it, and the
events that re-announce a changed message or a thread's parent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from chatengine import events
from chatengine.errors import Code, StreamError, input_error
from chatengine.filters import parse_date
from chatengine.models import Channel, ChatUser, Member, Message
from chatengine.selectors import blockers_in
from chatengine.serializers import render_message, user_payload

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


def custom_data(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in RESERVED_FIELDS}


def message_text(data: dict[str, Any], max_length: int) -> str:
    text = data.get("text") or ""
    if not isinstance(text, str):
        raise input_error("message.text must be a string")
    if len(text) > max_length:
        raise StreamError(Code.MESSAGE_TOO_LONG, f"message is too long: at most {max_length} characters")
    return text


def message_attachments(data: dict[str, Any]) -> list[Any]:
    attachments = data.get("attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise input_error("message.attachments must be a list of objects")
    if len(attachments) > MAX_ATTACHMENTS:
        raise input_error(f"at most {MAX_ATTACHMENTS} attachments per message")
    return attachments


def mentioned_members(data: dict[str, Any], channel: Channel) -> list[str]:
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


def optional_datetime(name: str, value: Any) -> datetime | None:
    return None if value in (None, "") else parse_date(name, value)


def thread_changed(parent: Message, *, new_participant: str | None = None) -> None:
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
    message_event("message.updated", refreshed, refreshed.user)


def message_event(event_type: str, message: Message, actor: ChatUser, **fields: Any) -> None:
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
