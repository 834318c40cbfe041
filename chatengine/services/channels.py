"""Writes to channels themselves: create (get-or-create, by id or as the
distinct channel of its members), full and partial update of the channel's
data and team, and the events they send (``notification.added_to_channel``
to the first members, ``channel.updated`` to the watchers).

The member operations of an update are ``services.members``; deleting,
truncating and hiding a channel are ``services.channel_removal``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chatengine import events
from chatengine.auth import Caller
from chatengine.errors import input_error, not_allowed
from chatengine.models import CHANNEL_ID_MAX_LENGTH, TEAM_MAX_LENGTH, Channel, ChannelRole, ChatUser, Watch
from chatengine.serializers import channel_payload, user_payload
from chatengine.services.app import channel_type_get
from chatengine.services.connections import watches_recheck
from chatengine.services.members import (
    check_members_in_team,
    member_entry_ids,
    members_add,
    members_remove,
    members_set_roles,
    parse_member_entries,
)

CHANNEL_ID = re.compile(r"^[\w\-!]+$")
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


def _custom(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in RESERVED_FIELDS}


def _team(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > TEAM_MAX_LENGTH:
        raise input_error(f"team must be a string of at most {TEAM_MAX_LENGTH} characters")
    return value


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
        members_add(channel, member_entries, caller=caller, actor=creator, notify=False)
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
        members_add(
            channel,
            parse_member_entries(operations["add_members"], field="add_members"),
            caller=caller,
            actor=actor,
        )
    if operations.get("invites"):
        members_add(
            channel, parse_member_entries(operations["invites"], field="invites"), caller=caller, actor=actor
        )
    if operations.get("remove_members"):
        members_remove(
            channel, member_entry_ids(operations["remove_members"], field="remove_members"), actor=actor
        )
    if operations.get("add_moderators"):
        ids = member_entry_ids(operations["add_moderators"], field="add_moderators")
        members_set_roles(channel, [(uid, ChannelRole.MODERATOR) for uid in ids], actor=actor)
    if operations.get("demote_moderators"):
        ids = member_entry_ids(operations["demote_moderators"], field="demote_moderators")
        members_set_roles(channel, [(uid, ChannelRole.MEMBER) for uid in ids], actor=actor)
    if operations.get("assign_roles"):
        members_set_roles(
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
