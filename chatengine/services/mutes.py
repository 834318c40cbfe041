"""Muting users and channels (Stream's ``/moderation/mute`` endpoints).

A mute is private to the user who sets it: new messages of a muted user, or in
a muted channel, do not count as unread for it (``message_send`` reads the
mutes), and its own clients hear of the change through
``notification.mutes_updated`` / ``notification.channel_mutes_updated``
carrying ``me``, as Stream's clients expect. A mute may end by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from chatengine import events
from chatengine.models import Channel, ChannelMute, ChatUser, UserMute
from chatengine.selectors import UserSummary, blocks_of, unread_totals
from chatengine.serializers import full_user_payload

M = TypeVar("M", UserMute, ChannelMute)


def mutes_of(
    user: ChatUser, *, users: bool = True, channels: bool = True
) -> tuple[list[UserMute], list[ChannelMute]]:
    """The user's mutes in force, users and channels (each kind looked up only
    if ``users`` / ``channels``: a caller that knows there are none says so)."""
    user_mutes = (
        list(UserMute.objects.active().filter(user=user).select_related("user", "target")) if users else []
    )
    channel_mutes = (
        list(ChannelMute.objects.active().filter(user=user).select_related("user", "channel__created_by"))
        if channels
        else []
    )
    return user_mutes, channel_mutes


def own_user(user: ChatUser, *, online: bool = True, summary: UserSummary | None = None) -> dict[str, Any]:
    """``me``: the user with its unread totals, its mutes and whom it blocks
    (the JS client fills ``client.blockedUsers`` from ``blocked_user_ids``).
    With the user's ``summary`` (``selectors.user_with_summary``) only the
    mutes and blocks it has are looked up."""
    if summary is None:
        unread = unread_totals([user.id])[user.id]
        mutes = mutes_of(user)
        blocked = [block.target_id for block in blocks_of(user)]
    else:
        unread = summary.unread
        mutes = mutes_of(user, users=summary.has_user_mutes, channels=summary.has_channel_mutes)
        blocked = [block.target_id for block in blocks_of(user)] if summary.has_blocks else []
    return full_user_payload(user, online=online, unread=unread, mutes=mutes, blocked_user_ids=blocked)


def _tell(user: ChatUser, event_type: str) -> dict[str, Any]:
    me = own_user(user)
    events.to_users([user.id], events.envelope(event_type, me=me))
    return me


def _upsert(
    model: type[M],
    user: ChatUser,
    field: str,
    targets: Iterable[ChatUser | Channel],
    duration: timedelta | None,
) -> list[M]:
    """One mute of ``user`` per target (``field`` names the target), its end moved on a repeat."""
    now = timezone.now()
    ends = now + duration if duration is not None else None
    return [
        model.objects.update_or_create(
            user=user,
            **{field: target},
            defaults={"expires": ends, "updated_at": now},
            create_defaults={"expires": ends, "created_at": now, "updated_at": now},
        )[0]
        for target in targets
    ]


@transaction.atomic
def users_mute(
    *, user: ChatUser, targets: Iterable[ChatUser], duration: timedelta | None
) -> tuple[list[UserMute], dict[str, Any]]:
    """Mute ``targets`` for ``user`` (again: the end moves); returns the mutes and ``me``."""
    mutes = _upsert(UserMute, user, "target", targets, duration)
    return mutes, _tell(user, "notification.mutes_updated")


@transaction.atomic
def users_unmute(*, user: ChatUser, target_ids: Iterable[str]) -> None:
    UserMute.objects.filter(user=user, target_id__in=list(target_ids)).delete()
    _tell(user, "notification.mutes_updated")


@transaction.atomic
def channels_mute(
    *, user: ChatUser, channels: Iterable[Channel], duration: timedelta | None
) -> tuple[list[ChannelMute], dict[str, Any]]:
    """Mute ``channels`` for ``user``; returns the mutes and ``me``."""
    mutes = _upsert(ChannelMute, user, "channel", channels, duration)
    return mutes, _tell(user, "notification.channel_mutes_updated")


@transaction.atomic
def channels_unmute(*, user: ChatUser, channels: Iterable[Channel]) -> None:
    ChannelMute.objects.filter(user=user, channel__in=list(channels)).delete()
    _tell(user, "notification.channel_mutes_updated")
