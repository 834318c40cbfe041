"""Channels going away, wholly or in part: delete (one channel, or a batch
reported as a task), truncate (its history), and hide or show it again in
one member's list. Each tells whom it concerns (``channel.deleted``,
``channel.truncated``, ``channel.hidden`` / ``channel.visible``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from chatengine import events
from chatengine.errors import input_error, not_allowed
from chatengine.models import Channel, ChatUser, Member, Task, TaskStatus
from chatengine.serializers import channel_payload, iso, user_payload
from chatengine.services.connections import watches_end
from chatengine.services.members import MEMBER_BATCH_LIMIT


@transaction.atomic
def channel_delete(*, channel: Channel) -> dict[str, Any]:
    """Delete the channel with its members, messages and reactions, and tell its
    watchers and members. Soft and hard deletes both remove the data: this engine
    keeps no tombstones. Returns the channel as it was, for the response."""
    payload = channel_payload(channel)
    payload["deleted_at"] = payload["updated_at"] = iso(timezone.now())
    member_ids = list(channel.members.values_list("user_id", flat=True))
    event = events.envelope("channel.deleted", channel, channel=payload)
    events.to_channel(channel.cid, event)
    events.to_users(member_ids, event)
    watches_end(channel)
    channel.delete()
    return payload


@transaction.atomic
def channels_delete(*, cids: Any) -> Task:
    if not isinstance(cids, list) or not cids or not all(isinstance(cid, str) for cid in cids):
        raise input_error("cids must be a non-empty list of channel cids")
    if len(cids) > MEMBER_BATCH_LIMIT:
        raise input_error(f"at most {MEMBER_BATCH_LIMIT} cids per request")
    result: dict[str, Any] = {}
    for cid in dict.fromkeys(cids):
        channel = Channel.objects.filter(cid=cid).first()
        if channel is None:
            result[cid] = {"status": "error", "error": f"channel {cid} does not exist"}
        else:
            channel_delete(channel=channel)
            result[cid] = {"status": "ok"}
    return Task.objects.create(kind="delete-channels", status=TaskStatus.COMPLETED, result=result)


@transaction.atomic
def channel_truncate(*, channel: Channel, actor: ChatUser | None) -> Channel:
    now = timezone.now()
    channel.messages.all().delete()
    Channel.objects.filter(pk=channel.pk).update(
        truncated_at=now, updated_at=now, message_count=0, last_message_at=None
    )
    Member.objects.filter(channel=channel).update(unread_messages=0, last_read=now)
    channel.refresh_from_db()
    fields: dict[str, Any] = {"channel": channel_payload(channel)}
    if actor is not None:
        fields["user"] = user_payload(actor)
    events.to_channel(channel.cid, events.envelope("channel.truncated", channel, **fields))
    return channel


@transaction.atomic
def channel_set_hidden(*, channel: Channel, user: ChatUser, hidden: bool) -> None:
    updated = Member.objects.filter(channel=channel, user=user).update(
        hidden=hidden, updated_at=timezone.now()
    )
    if not updated:
        raise not_allowed(f"user '{user.id}' is not a member of {channel.cid}")
    fields: dict[str, Any] = {"channel": channel_payload(channel), "user": user_payload(user)}
    if hidden:
        # Hiding never clears the history here (Stream's clear_history is not offered).
        fields["clear_history"] = False
    event_type = "channel.hidden" if hidden else "channel.visible"
    events.to_users([user.id], events.envelope(event_type, channel, **fields))
