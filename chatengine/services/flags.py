"""Flags: members report a message or a user to the moderators, who review
them server side (``GET /moderation/flags/message``)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chatengine.errors import input_error, not_found
from chatengine.models import ChatUser, Flag, Message


def _reason(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    reason = data.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 255:
        raise input_error("reason must be text of at most 255 characters")
    custom = data.get("custom") or {}
    if not isinstance(custom, dict):
        raise input_error("custom must be an object")
    return reason, custom


def flag_create(
    *,
    user: ChatUser,
    message: Message | None = None,
    target_user: ChatUser | None = None,
    data: dict[str, Any],
) -> Flag:
    """One flag of ``message`` or ``target_user`` by ``user`` (the caller checked access)."""
    own_message = message is not None and message.user_id == user.id
    if own_message or (target_user is not None and target_user.pk == user.pk):
        raise input_error("you cannot flag yourself or your own message")
    reason, custom = _reason(data)
    now = timezone.now()
    flag = Flag(user=user, message=message, target_user=target_user, reason=reason, custom=custom)
    flag.created_at = flag.updated_at = now
    try:
        with transaction.atomic():
            flag.save(force_insert=True)
    except IntegrityError as exc:
        what = "message" if message is not None else "user"
        raise input_error(f"you already flagged this {what}") from exc
    return flag


def flag_delete(
    *, user: ChatUser, message: Message | None = None, target_user: ChatUser | None = None
) -> Flag:
    """Take back ``user``'s flag and return it (as it was)."""
    flag = (
        Flag.objects.filter(user=user, message=message, target_user=target_user)
        .select_related("user", "message__user", "target_user")
        .first()
    )
    if flag is None:
        raise not_found("flag")
    flag.delete()  # the instance keeps its fields and related objects
    return flag
