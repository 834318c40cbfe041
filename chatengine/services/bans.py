"""Bans: a banned user reads but does not write, in one channel or everywhere
(enforced where access is decided, ``selectors.access_for``), until the ban
ends by itself or is lifted. ``banned`` on the member (channel bans) or on the
user (everywhere) shows it to clients until the ban is lifted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from chatengine import events
from chatengine.errors import input_error, not_found
from chatengine.models import Ban, Channel, ChatUser, Member
from chatengine.serializers import iso, user_payload


def _flag(user: ChatUser, channel: Channel | None, banned: bool) -> None:
    if channel is not None:
        Member.objects.filter(channel=channel, user=user).update(banned=banned)
    else:
        ChatUser.objects.filter(pk=user.pk).update(banned=banned)


@transaction.atomic
def ban_create(
    *,
    user: ChatUser,
    channel: Channel | None,
    banned_by: ChatUser | None,
    reason: str,
    duration: timedelta | None,
) -> Ban:
    """Ban ``user`` from ``channel`` (everywhere when None); banning again
    replaces the reason and the end."""
    if banned_by is not None and banned_by.pk == user.pk:
        raise input_error("you cannot ban yourself")
    now = timezone.now()
    ban, _ = Ban.objects.update_or_create(
        user=user,
        channel=channel,
        defaults={
            "banned_by": banned_by,
            "reason": reason,
            "expires": now + duration if duration else None,
            "created_at": now,
        },
    )
    _flag(user, channel, True)
    if channel is not None:
        fields: dict[str, Any] = {"user": user_payload(user), "reason": reason, "shadow": False}
        if ban.expires:
            fields["expiration"] = iso(ban.expires)
        if banned_by is not None:
            fields["created_by"] = user_payload(banned_by)
        events.to_channel(channel.cid, events.envelope("user.banned", channel, **fields))
    return ban


@transaction.atomic
def ban_delete(*, user: ChatUser, channel: Channel | None) -> None:
    deleted, _ = Ban.objects.filter(user=user, channel=channel).delete()
    if not deleted:
        raise not_found(f"ban of user {user.id}" + (f" in {channel.cid}" if channel else ""))
    _flag(user, channel, False)
    if channel is not None:
        events.to_channel(channel.cid, events.envelope("user.unbanned", channel, user=user_payload(user)))
