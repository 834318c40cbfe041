"""Stream's moderation endpoints a chat UI uses: mutes (``POST /moderation/mute``,
``/moderation/unmute``, ``/moderation/mute/channel``, ``/moderation/unmute/channel``)
flags (``POST /moderation/flag``, ``/moderation/unflag``, and for moderators
server side ``GET /moderation/flags/message``) and bans (``POST`` and
``DELETE /moderation/ban``, server side ``GET /query_banned_users``).

The SDKs name one target (``target_id``, ``channel_cid``) or several
(``target_ids``, ``channel_cids``); both are read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from chatengine import selectors
from chatengine.api.http import Call
from chatengine.errors import input_error, not_allowed, not_found
from chatengine.models import Channel, ChatUser, Message
from chatengine.selectors import channel_access
from chatengine.serializers import (
    MessageRenderer,
    ban_payload,
    channel_mute_payload,
    flag_payload,
    user_mute_payload,
)
from chatengine.services import bans as ban_services
from chatengine.services import flags as flag_services
from chatengine.services import mutes as mute_services

T = TypeVar("T")

# Names per call, as Stream's batch endpoints take them.
MAX_TARGETS = 100


def _names(body: dict[str, Any], plural: str, singular: str) -> list[str]:
    raw = body.get(plural)
    if raw is None and body.get(singular) is not None:
        raw = [body[singular]]
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) and v for v in raw):
        raise input_error(f"{plural} (or {singular}) is required: a list of ids")
    if len(raw) > MAX_TARGETS:
        raise input_error(f"{plural} takes at most {MAX_TARGETS} ids")
    return list(dict.fromkeys(raw))


# The longest mute with an end (longer ones are simply mutes without one).
MAX_MUTE = timedelta(days=3650)


def _duration(value: Any, name: str, unit: timedelta) -> timedelta | None:
    """A mute's length: ``value`` whole ``unit``s, or None (until unmuted)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise input_error(f"{name} must be a whole number of at least 0")
    if value > MAX_MUTE // unit:
        raise input_error(f"{name} is more than ten years: leave it out to mute until unmuted")
    return value * unit if value else None


def mute_user(call: Call) -> dict[str, Any]:
    user = call.actor()
    target_ids = _names(call.body, "target_ids", "target_id")
    if user.id in target_ids:
        raise input_error("a user cannot mute itself")
    duration = _duration(call.body.get("timeout"), "timeout (minutes)", timedelta(minutes=1))
    found = selectors.users_reachable(call.caller, target_ids)
    missing = [target_id for target_id in target_ids if target_id not in found]
    if not found:
        raise not_found(f"users {', '.join(missing)}")
    mutes, me = mute_services.users_mute(user=user, targets=found.values(), duration=duration)
    payloads = [user_mute_payload(mute) for mute in mutes]
    return {"mute": payloads[0], "mutes": payloads, "own_user": me, "non_existing_users": missing}


def unmute_user(call: Call) -> dict[str, Any]:
    user = call.actor()
    target_ids = _names(call.body, "target_ids", "target_id")
    mute_services.users_unmute(user=user, target_ids=target_ids)
    return {}


def _channels(call: Call, permission: str, what: str) -> list[Channel]:
    channels = []
    for cid in _names(call.body, "channel_cids", "channel_cid"):
        channel, access = call.channel_access(cid)
        if access is None:
            channels.append(channel)
            continue
        if not call.types.config(access.channel.type).get("mutes"):
            raise not_allowed(f"mutes are disabled for channels of type {access.channel.type}")
        access.require(permission, what)
        channels.append(access.channel)
    return channels


def mute_channel(call: Call) -> dict[str, Any]:
    user = call.actor()
    channels = _channels(call, "mute-channel", "mute")
    duration = _duration(call.body.get("expiration"), "expiration (milliseconds)", timedelta(milliseconds=1))
    mutes, me = mute_services.channels_mute(user=user, channels=channels, duration=duration)
    return {
        "channel_mute": channel_mute_payload(mutes[0]),
        "channel_mutes": me["channel_mutes"],
        "own_user": me,
    }


def unmute_channel(call: Call) -> dict[str, Any]:
    user = call.actor()
    mute_services.channels_unmute(user=user, channels=_channels(call, "read-channel", "unmute"))
    return {}


# ---------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------
def _flag_target(call: Call) -> tuple[Message | None, ChatUser | None]:
    """The message or user a flag call names, once the caller may see it."""
    message_id, user_id = call.body.get("target_message_id"), call.body.get("target_user_id")
    if bool(message_id) == bool(user_id):
        raise input_error("send target_message_id or target_user_id (one of them)")
    if message_id:
        if not isinstance(message_id, str):
            raise input_error("target_message_id must be a message id")
        message = selectors.message_get_for_user(call.caller, message_id)
        if not call.server:
            channel_access(call.caller, message.channel_id, call.types).require(
                "flag-message", "flag messages"
            )
        return message, None
    if not isinstance(user_id, str):
        raise input_error("target_user_id must be a user id")
    target = selectors.users_reachable(call.caller, [user_id]).get(user_id)
    if target is None:
        raise not_found(f"user {user_id}")
    return None, target


def flag(call: Call) -> dict[str, Any]:
    user = call.actor()
    message, target_user = _flag_target(call)
    created = flag_services.flag_create(user=user, message=message, target_user=target_user, data=call.body)
    return {"flag": flag_payload(created), "review_queue_item_id": ""}


def unflag(call: Call) -> dict[str, Any]:
    user = call.actor()
    message, target_user = _flag_target(call)
    removed = flag_services.flag_delete(user=user, message=message, target_user=target_user)
    return {"flag": flag_payload(removed), "review_queue_item_id": ""}


def _server_list(call: Call, query: Callable[..., list[T]]) -> list[T]:
    """A moderation list, for server-side callers only, from the ``payload`` parameter."""
    call.require_server()
    payload = call.payload()
    return query(
        filter_conditions=payload.get("filter_conditions"),
        limit=payload.get("limit"),
        offset=payload.get("offset"),
    )


def message_flags_query(call: Call) -> dict[str, Any]:
    """Server side: the flags of messages, newest first, for moderators to review."""
    flags = _server_list(call, selectors.message_flags_query)
    renderer = MessageRenderer([f.message for f in flags if f.message is not None], viewer_id=None)
    results = []
    for item in flags:
        if item.message is None:  # (the query reads message flags only)
            continue
        entry = flag_payload(item)
        entry.pop("target_message_id", None)
        entry["message"] = renderer.render(item.message)
        results.append(entry)
    return {"flags": results}


# ---------------------------------------------------------------------------
# Bans
# ---------------------------------------------------------------------------
def _ban_channel(call: Call, source: Any) -> Channel | None:
    """The channel a ban call names (``channel_cid``, or ``type`` and ``id``),
    or None for a ban everywhere."""
    cid = source.get("channel_cid")
    if not cid and source.get("type") and source.get("id"):
        cid = f"{source.get('type')}:{source.get('id')}"
    if not cid:
        return None
    if not isinstance(cid, str):
        raise input_error("channel_cid must be a channel id such as messaging:general")
    return selectors.channel_get_for_user(call.caller, cid)


def _ban_target(call: Call, source: Any, channel: Channel | None) -> ChatUser:
    target_id = source.get("target_user_id")
    if not isinstance(target_id, str) or not target_id:
        raise input_error("target_user_id is required")
    target = selectors.users_reachable(call.caller, [target_id]).get(target_id)
    if target is None:
        raise not_found(f"user {target_id}")
    if not call.server:
        if channel is None:
            raise not_allowed("banning a user everywhere needs server-side auth")
        check = channel_access(call.caller, channel.cid, call.types)
        check.require("ban-channel-member", "ban members")
    return target


def ban(call: Call) -> dict[str, Any]:
    body = call.body
    if body.get("shadow"):
        raise input_error("shadow bans are not supported by this engine: ban the user instead")
    channel = _ban_channel(call, body)
    target = _ban_target(call, body, channel)
    banned_by = call.actor_or_none(body.get("banned_by"), body.get("banned_by_id"))
    reason = body.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 255:
        raise input_error("reason must be text of at most 255 characters")
    duration = _duration(body.get("timeout"), "timeout (minutes)", timedelta(minutes=1))
    ban_services.ban_create(
        user=target, channel=channel, banned_by=banned_by, reason=reason, duration=duration
    )
    return {}


def unban(call: Call) -> dict[str, Any]:
    channel = _ban_channel(call, call.query)
    target = _ban_target(call, call.query, channel)
    ban_services.ban_delete(user=target, channel=channel)
    return {}


def banned_users_query(call: Call) -> dict[str, Any]:
    """Server side: the bans in force, newest first."""
    return {"bans": [ban_payload(item) for item in _server_list(call, selectors.bans_query)]}
