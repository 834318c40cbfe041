"""Writes to channels and their members.

Every change queues the events Stream sends for it: ``channel.updated``,
``member.added/updated/removed`` to the channel's watchers, and
``notification.added_to_channel`` / ``removed_from_channel`` to the users
concerned.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chatengine import events
from chatengine.auth import Caller
from chatengine.errors import input_error, not_allowed
from chatengine.models import (
    CHANNEL_ID_MAX_LENGTH,
    TEAM_MAX_LENGTH,
    Channel,
    ChannelRole,
    ChatUser,
    Member,
    Task,
    TaskStatus,
    Watch,
)
from chatengine.serializers import channel_payload, iso, member_payload, user_payload
from chatengine.services.app import channel_role_exists, channel_type_get
from chatengine.services.connections import watches_end, watches_recheck

CHANNEL_ID = re.compile(r"^[\w\-!]+$")
MEMBER_BATCH_LIMIT = 100
RESERVED_FIELDS = frozenset(
    {
        "id",
        "type",
        "cid",
        "team",
        "members",
        "created_by",
        "created_by_id",
        "frozen",
        "disabled",
        "config_overrides",
        "created_at",
        "updated_at",
        "deleted_at",
        "last_message_at",
        "member_count",
        "message_count",
        "config",
        "own_capabilities",
        "truncated_at",
        "truncated_by",
        "hidden",
        "custom",
        "cooldown",
        "filter_tags",
        "muted",
        "blocked",
    }
)


def validate_channel_id(channel_id: Any) -> str:
    if (
        not isinstance(channel_id, str)
        or not channel_id
        or len(channel_id) > CHANNEL_ID_MAX_LENGTH
        or not CHANNEL_ID.match(channel_id)
    ):
        raise input_error(
            f"channel id {channel_id!r} is invalid: "
            f"use letters, digits, _ - ! (at most {CHANNEL_ID_MAX_LENGTH})"
        )
    return channel_id


def distinct_channel_id(member_ids: list[str]) -> str:
    """The id of the distinct channel of exactly these members (Stream's ``!members-`` form)."""
    digest = hashlib.sha256(",".join(sorted(set(member_ids))).encode()).hexdigest()[:40]
    return f"!members-{digest}"


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


def _custom(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in RESERVED_FIELDS}


def _team(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > TEAM_MAX_LENGTH:
        raise input_error(f"team must be a string of at most {TEAM_MAX_LENGTH} characters")
    return value


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


def _check_team_change(channel: Channel, team: str, *, caller: Caller) -> None:
    if not caller.server and team != channel.team:
        raise not_allowed("the team of a channel can only change server-side")
    if caller.multi_tenant and team != channel.team:
        members = ChatUser.objects.filter(memberships__channel=channel)
        check_members_in_team(channel, members, team=team)


# ---------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------
@transaction.atomic
def channel_get_or_create(
    *,
    caller: Caller,
    channel_type: str,
    channel_id: str | None,
    data: dict[str, Any],
    creator: ChatUser | None,
) -> tuple[Channel, bool]:
    """The channel ``type:id``, created from ``data`` if it does not exist (Stream's
    get-or-create). Without an id the channel is the distinct channel of
    ``data.members``. Precondition: a server-side caller, as no client holds
    ``create-channel`` (``permissions.SERVER_SIDE_PERMISSIONS``)."""
    channel_type_get(channel_type)
    member_entries = parse_member_entries(data.get("members"), field="data.members")
    if channel_id is None:
        if not member_entries:
            raise input_error("a channel without an id needs data.members")
        channel_id = distinct_channel_id([uid for uid, _ in member_entries])
    validate_channel_id(channel_id)
    cid = f"{channel_type}:{channel_id}"
    existing = Channel.objects.select_related("created_by").filter(cid=cid).first()
    if existing is not None:
        return existing, False

    team = _team(data.get("team"))
    now = timezone.now()
    channel = Channel(
        cid=cid,
        type=channel_type,
        channel_id=channel_id,
        team=team,
        created_by=creator,
        custom=_custom(data),
        frozen=bool(data.get("frozen", False)),
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            channel.save(force_insert=True)
    except IntegrityError:
        # Created concurrently: get-or-create returns the winner's channel.
        return Channel.objects.select_related("created_by").get(cid=cid), False
    if member_entries:
        _add_members(channel, member_entries, caller=caller, actor=creator, notify=False)
    events_created(channel, creator)
    return channel, True


def events_created(channel: Channel, creator: ChatUser | None) -> None:
    member_ids = list(channel.members.values_list("user_id", flat=True))
    event = events.envelope(
        "notification.added_to_channel",
        channel,
        channel=channel_payload(channel),
        **({"user": user_payload(creator)} if creator else {}),
    )
    events.to_users(member_ids, event)


# ---------------------------------------------------------------------------
# Members
# ---------------------------------------------------------------------------
def _add_members(
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


def _remove_members(channel: Channel, user_ids: list[str], *, actor: ChatUser | None) -> None:
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


def _set_roles(channel: Channel, entries: list[tuple[str, str | None]], *, actor: ChatUser | None) -> None:
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


def _ids(value: Any, field: str) -> list[str]:
    return [user_id for user_id, _ in parse_member_entries(value, field=field)]


UPDATE_OPERATIONS = (
    "add_members",
    "remove_members",
    "add_moderators",
    "demote_moderators",
    "assign_roles",
    "invites",
)


@transaction.atomic
def channel_update(
    *,
    caller: Caller,
    channel: Channel,
    actor: ChatUser | None,
    data: dict[str, Any] | None,
    operations: dict[str, Any],
) -> Channel:
    """``POST /channels/{type}/{id}``: a full replace of the custom data when
    ``data`` is given (fields left out are removed, ``team`` included, as Stream
    does), and any member operations. Authorization is the caller's job."""
    channel = Channel.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=channel.pk)
    team_before = channel.team
    now = timezone.now()
    if data is not None:
        if not isinstance(data, dict):
            raise input_error("data must be an object")
        team = _team(data.get("team"))
        _check_team_change(channel, team, caller=caller)
        channel.custom = _custom(data)
        channel.team = team
        if "frozen" in data:
            channel.frozen = bool(data["frozen"])
        channel.updated_at = now
        channel.save()
    if operations.get("add_members"):
        _add_members(
            channel,
            parse_member_entries(operations["add_members"], field="add_members"),
            caller=caller,
            actor=actor,
        )
    if operations.get("invites"):
        _add_members(
            channel, parse_member_entries(operations["invites"], field="invites"), caller=caller, actor=actor
        )
    if operations.get("remove_members"):
        _remove_members(channel, _ids(operations["remove_members"], "remove_members"), actor=actor)
    if operations.get("add_moderators"):
        ids = _ids(operations["add_moderators"], "add_moderators")
        _set_roles(channel, [(uid, ChannelRole.MODERATOR) for uid in ids], actor=actor)
    if operations.get("demote_moderators"):
        ids = _ids(operations["demote_moderators"], "demote_moderators")
        _set_roles(channel, [(uid, ChannelRole.MEMBER) for uid in ids], actor=actor)
    if operations.get("assign_roles"):
        _set_roles(
            channel, parse_member_entries(operations["assign_roles"], field="assign_roles"), actor=actor
        )
    channel.refresh_from_db()
    if channel.team != team_before:
        _team_changed(channel)
    if data is not None:
        channel_updated_event(channel, actor)
    return channel


def _team_changed(channel: Channel) -> None:
    """A channel moved to another team: watchers outside it stop watching."""
    watches_recheck(Watch.objects.filter(channel=channel))


def channel_updated_event(channel: Channel, actor: ChatUser | None) -> None:
    fields: dict[str, Any] = {"channel": channel_payload(channel)}
    if actor is not None:
        fields["user"] = user_payload(actor)
    events.to_channel(channel.cid, events.envelope("channel.updated", channel, **fields))


@transaction.atomic
def channel_update_partial(
    *, caller: Caller, channel: Channel, actor: ChatUser | None, to_set: Any, to_unset: Any
) -> Channel:
    if not isinstance(to_set or {}, dict) or not isinstance(to_unset or [], list):
        raise input_error("set must be an object and unset a list of field names")
    to_set, to_unset = to_set or {}, to_unset or []
    channel = Channel.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=channel.pk)
    team_before = channel.team
    if "team" in to_unset or "team" in to_set:
        _check_team_change(channel, "" if "team" in to_unset else _team(to_set["team"]), caller=caller)
    custom = dict(channel.custom)
    for key, value in to_set.items():
        if key == "team":
            channel.team = _team(value)
        elif key == "frozen":
            channel.frozen = bool(value)
        elif key == "disabled":
            channel.disabled = bool(value)
        elif key == "config_overrides":
            if not isinstance(value, dict):
                raise input_error("config_overrides must be an object")
            channel.config_overrides = value
        elif key not in RESERVED_FIELDS:
            custom[key] = value
    for key in to_unset:
        if key == "team":
            channel.team = ""
        elif key == "frozen":
            channel.frozen = False
        else:
            custom.pop(key, None)
    channel.custom = custom
    channel.updated_at = timezone.now()
    channel.save()
    if channel.team != team_before:
        _team_changed(channel)
    channel_updated_event(channel, actor)
    return channel


# ---------------------------------------------------------------------------
# Delete, truncate, hide
# ---------------------------------------------------------------------------
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
