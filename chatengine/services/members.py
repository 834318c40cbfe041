"""Writes to channel members: the member list of a create or an update
(add, invite, remove, change channel roles), a member's own settings (pin,
archive, mute notifications, custom data), the team wall every member is
held to, and the denormalised member counts.

Each change tells the channel's watchers (``member.added/updated/removed``)
and the users concerned (``notification.added_to_channel`` /
``removed_from_channel``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from chatengine import events
from chatengine.auth import Caller
from chatengine.errors import input_error
from chatengine.models import Channel, ChannelRole, ChatUser, Member, Watch
from chatengine.serializers import channel_payload, member_payload, user_payload
from chatengine.services.app import channel_role_exists
from chatengine.services.connections import watches_end, watches_recheck

MEMBER_BATCH_LIMIT = 100


def parse_member_entries(entries: Any, *, field: str) -> list[tuple[str, str | None]]:
    """``["u1", {"user_id": "u2", "channel_role": "channel_moderator"}]`` into (id, role)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise input_error(f"{field} must be a list")
    if len(entries) > MEMBER_BATCH_LIMIT:
        raise input_error(f"at most {MEMBER_BATCH_LIMIT} members per request in {field}")
    parsed: list[tuple[str, str | None]] = []
    for entry in entries:
        if isinstance(entry, str) and entry:
            parsed.append((entry, None))
        elif isinstance(entry, dict) and isinstance(entry.get("user_id"), str) and entry["user_id"]:
            role = entry.get("channel_role")
            if role is not None:
                _check_channel_role(role)
            parsed.append((entry["user_id"], role))
        else:
            raise input_error(f"{field} entries must be user ids or {{user_id, channel_role}} objects")
    return list({user_id: (user_id, role) for user_id, role in parsed}.values())


def _check_channel_role(role: Any) -> None:
    if not isinstance(role, str) or not channel_role_exists(role):
        raise input_error(
            f"channel role {role!r} does not exist: a member's role is channel_member, "
            "channel_moderator or a custom role, never a user-level role such as admin"
        )


def _users(user_ids: list[str], *, channel: Channel, caller: Caller) -> dict[str, ChatUser]:
    users = {user.id: user for user in ChatUser.objects.filter(id__in=user_ids, deleted_at__isnull=True)}
    missing = [uid for uid in user_ids if uid not in users]
    if missing:
        raise input_error(
            f"the following users are specified in members but don't exist: {', '.join(missing)}"
        )
    if caller.multi_tenant:
        check_members_in_team(channel, users.values())
    return users


def check_members_in_team(channel: Channel, users: Iterable[ChatUser], *, team: str | None = None) -> None:
    """With multi-tenancy on, every member of a channel is in the channel's
    team (``team``: the one it is about to get). So a channel without a team
    takes no members, and no user without a team is a member anywhere: no
    channel holds people of two teams (invariant 5). Server-side calls too:
    this is the engine's own wall, not a permission."""
    team = channel.team if team is None else team
    outside = sorted(user.id for user in users if not team or team not in (user.teams or []))
    if not outside:
        return
    if not team:
        raise input_error(
            f"channel {channel.cid} has no team: with multi-tenancy on, members are added "
            f"only to a channel of their team (refused: {', '.join(outside)})"
        )
    raise input_error(f"users {', '.join(outside)} are not in team {team} of channel {channel.cid}")


def members_add(
    channel: Channel,
    entries: list[tuple[str, str | None]],
    *,
    caller: Caller,
    actor: ChatUser | None,
    notify: bool = True,
) -> list[Member]:
    # Only the server (the control plane) adds members: no client holds
    # update-channel-members. So Stream's rule that a blocked user adding its
    # blocker is ignored never applies: the server says who is a member.
    users = _users([uid for uid, _ in entries], channel=channel, caller=caller)
    existing = {
        m.user_id: m for m in Member.objects.select_related("user").filter(channel=channel, user_id__in=users)
    }
    now = timezone.now()
    added: list[Member] = []
    changed: list[Member] = []
    for user_id, role in entries:
        member = existing.get(user_id)
        if member is None:
            member = Member(
                channel=channel,
                user=users[user_id],
                channel_role=role or ChannelRole.MEMBER,
                # A new member starts with nothing unread: joining a busy channel
                # must not light up thousands of messages.
                last_read=now,
                created_at=now,
                updated_at=now,
            )
            added.append(member)
        elif role and member.channel_role != role:
            member.channel_role = role
            member.updated_at = now
            changed.append(member)
    Member.objects.bulk_create(added, ignore_conflicts=True)
    for member in changed:
        member.save(update_fields=["channel_role", "updated_at"])
    if added:
        _recount(channel)
    for member in added:
        _member_event("member.added", channel, member, actor)
    for member in changed:
        _member_event("member.updated", channel, member, actor)
    if notify and added:
        for member in added:
            events.to_users(
                [member.user_id],
                events.envelope(
                    "notification.added_to_channel",
                    channel,
                    channel=channel_payload(channel),
                    member=member_payload(member),
                ),
            )
    return added + changed


def _recount(channel: Channel) -> None:
    channel.member_count = Member.objects.filter(channel=channel).count()
    channel.updated_at = timezone.now()
    Channel.objects.filter(pk=channel.pk).update(
        member_count=channel.member_count, updated_at=channel.updated_at
    )


def _member_event(event_type: str, channel: Channel, member: Member, actor: ChatUser | None) -> None:
    fields = {
        "member": member_payload(member),
        "user": user_payload(actor or member.user),
        "channel": channel_payload(channel),
    }
    events.to_channel(channel.cid, events.envelope(event_type, channel, **fields))


def members_remove(channel: Channel, user_ids: list[str], *, actor: ChatUser | None) -> None:
    members = list(Member.objects.select_related("user").filter(channel=channel, user_id__in=user_ids))
    if not members:
        return
    Member.objects.filter(pk__in=[m.pk for m in members]).delete()
    _recount(channel)
    for member in members:
        _member_event("member.removed", channel, member, actor)
        events.to_users(
            [member.user_id],
            events.envelope(
                "notification.removed_from_channel",
                channel,
                channel=channel_payload(channel),
                member=member_payload(member),
                user=user_payload(member.user),
            ),
        )
    watches_end(channel, [member.user_id for member in members])


def members_set_roles(
    channel: Channel, entries: list[tuple[str, str | None]], *, actor: ChatUser | None
) -> None:
    members = {
        m.user_id: m
        for m in Member.objects.select_related("user").filter(
            channel=channel, user_id__in=[u for u, _ in entries]
        )
    }
    missing = [uid for uid, _ in entries if uid not in members]
    if missing:
        raise input_error(f"users are not members of {channel.cid}: {', '.join(missing)}")
    now = timezone.now()
    changed: list[str] = []
    for user_id, role in entries:
        member = members[user_id]
        if role is None or member.channel_role == role:
            continue
        _check_channel_role(role)
        member.channel_role, member.updated_at = role, now
        member.save(update_fields=["channel_role", "updated_at"])
        _member_event("member.updated", channel, member, actor)
        changed.append(user_id)
    if changed:
        # A channel role without ``read-channel`` (a custom one) takes the channel away.
        watches_recheck(Watch.objects.filter(channel=channel, connection__user_id__in=changed))


def member_entry_ids(value: Any, *, field: str) -> list[str]:
    """The user ids of a list of member entries (``parse_member_entries``)."""
    return [user_id for user_id, _ in parse_member_entries(value, field=field)]


# What a partial member update may not touch: the member's role and standing
# change through the channel update (``assign_roles``) and moderation routes.
MEMBER_RESERVED_FIELDS = frozenset(
    {
        "user_id",
        "user",
        "channel_role",
        "role",
        "is_moderator",
        "banned",
        "shadow_banned",
        "ban_expires",
        "invited",
        "invite_accepted_at",
        "invite_rejected_at",
        "status",
        "created_at",
        "updated_at",
        "deleted_at",
        "pinned_at",
        "archived_at",
        "custom",
    }
)
# Flags set as booleans and stored as the time they were set (or a plain flag).
MEMBER_TIMESTAMP_FLAGS = ("pinned", "archived")


def _member_flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise input_error(f"set.{key} must be true or false")
    return value


@transaction.atomic
def member_update_partial(*, member: Member, actor: ChatUser | None, to_set: Any, to_unset: Any) -> Member:
    """``PATCH /channels/{type}/{id}/member[/{user_id}]``: pin or archive the
    channel for this member, mute its notifications, and set or unset custom
    member data. ``member`` is already authorized (its own, or server side).

    Pinning or archiving again keeps the first ``pinned_at`` / ``archived_at``,
    so repeating a request changes nothing. The channel's watchers get
    ``member.updated`` (the UI kit moves the channel in its list on it)."""
    to_set = {} if to_set is None else to_set
    to_unset = [] if to_unset is None else to_unset
    if not isinstance(to_set, dict) or not isinstance(to_unset, list):
        raise input_error("set must be an object and unset a list of field names")
    if not all(isinstance(key, str) and key for key in to_unset):
        raise input_error("unset must be a list of field names")
    reserved = sorted((set(to_set) | set(to_unset)) & MEMBER_RESERVED_FIELDS)
    if reserved:
        raise input_error(
            f"{', '.join(reserved)} cannot be changed by a member update "
            "(channel roles change through assign_roles)"
        )
    member = (
        Member.objects.select_for_update(of=("self",))
        .select_related("user", "channel__created_by")
        .get(pk=member.pk)
    )
    now = timezone.now()
    custom = dict(member.custom)
    for key, value in to_set.items():
        if key in MEMBER_TIMESTAMP_FLAGS:
            current = getattr(member, f"{key}_at")
            setattr(member, f"{key}_at", (current or now) if _member_flag(key, value) else None)
        elif key == "notifications_muted":
            member.notifications_muted = _member_flag(key, value)
        else:
            custom[key] = value
    for key in to_unset:
        if key in MEMBER_TIMESTAMP_FLAGS:
            setattr(member, f"{key}_at", None)
        elif key == "notifications_muted":
            member.notifications_muted = False
        else:
            custom.pop(key, None)
    member.custom = custom
    member.updated_at = now
    member.save()
    _member_event("member.updated", member.channel, member, actor)
    return member


def channels_recount(cids: list[str]) -> None:
    """Refresh the denormalised member counts of ``cids`` after members went away."""
    if not cids:
        return
    counts = dict(
        Member.objects.filter(channel_id__in=cids)
        .values("channel_id")
        .annotate(n=Count("id"))
        .values_list("channel_id", "n")
    )
    for cid in cids:
        Channel.objects.filter(cid=cid).update(member_count=counts.get(cid, 0))
