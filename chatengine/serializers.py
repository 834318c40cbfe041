"""Stream-shaped payloads, built as plain dicts (several times cheaper than DRF
serializers on the hot paths: every message of every event).

Custom data is flattened into the object, as Stream's API sends it. Fields that
differ per viewer (``own_reactions``, ``own_capabilities``, read state) are
parameters, never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.utils.html import escape

from chatengine.models import (
    Ban,
    Channel,
    ChannelMute,
    ChatUser,
    Connection,
    Flag,
    Member,
    Message,
    Reaction,
    UserBlock,
    UserMute,
)

LATEST_REACTIONS = 10


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with microseconds and ``Z``, the form Stream sends."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # (the database's values are in UTC already)
        if value.utcoffset():
            value = value.astimezone(UTC)
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def online_ids(user_ids: Iterable[str]) -> set[str]:
    ids = set(user_ids)
    if not ids:
        return set()
    return set(Connection.objects.live().filter(user_id__in=ids).values_list("user_id", flat=True).distinct())


def user_payload(user: ChatUser, *, online: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        **(user.custom or {}),
        "id": user.id,
        "role": user.role,
        "teams": list(user.teams or []),
        "language": user.language,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
        "banned": user.banned,
        "online": online and not user.invisible,
        "invisible": user.invisible,
        "shadow_banned": False,
        "blocked_user_ids": [],
    }
    if user.name:
        data["name"] = user.name
    if user.image:
        data["image"] = user.image
    if user.teams_role:
        data["teams_role"] = dict(user.teams_role)
    if user.last_active:
        data["last_active"] = iso(user.last_active)
    if user.deactivated_at:
        data["deactivated_at"] = iso(user.deactivated_at)
    if user.revoke_tokens_issued_before:
        data["revoke_tokens_issued_before"] = iso(user.revoke_tokens_issued_before)
    return data


def full_user_payload(
    user: ChatUser,
    *,
    online: bool = False,
    unread: dict[str, int] | None = None,
    mutes: tuple[list[UserMute], list[ChannelMute]] | None = None,
    blocked_user_ids: list[str] | None = None,
) -> dict[str, Any]:
    """A user as ``me`` and the user endpoints send it (``FullUserResponse``);
    ``mutes`` (its user and channel mutes) and ``blocked_user_ids`` only for
    the user itself: whom a user blocks is nobody else's business."""
    unread = unread or {}
    user_mutes, channel_mutes = mutes or ([], [])
    return {
        **user_payload(user, online=online),
        "blocked_user_ids": list(blocked_user_ids or []),
        "devices": [],
        "mutes": [user_mute_payload(mute) for mute in user_mutes],
        "channel_mutes": [channel_mute_payload(mute) for mute in channel_mutes],
        "total_unread_count": unread.get("total_unread_count", 0),
        "unread_count": unread.get("total_unread_count", 0),
        "unread_channels": unread.get("unread_channels", 0),
        "unread_threads": 0,
    }


def _mute_times(mute: UserMute | ChannelMute) -> dict[str, Any]:
    data = {"created_at": iso(mute.created_at), "updated_at": iso(mute.updated_at)}
    if mute.expires:
        data["expires"] = iso(mute.expires)
    return data


def user_mute_payload(mute: UserMute) -> dict[str, Any]:
    return {"user": user_payload(mute.user), "target": user_payload(mute.target), **_mute_times(mute)}


def channel_mute_payload(mute: ChannelMute) -> dict[str, Any]:
    return {"user": user_payload(mute.user), "channel": channel_payload(mute.channel), **_mute_times(mute)}


def block_payload(block: UserBlock) -> dict[str, Any]:
    """A block as ``POST /users/block`` answers it (``BlockUsersResponse``)."""
    return {
        "blocked_by_user_id": block.user_id,
        "blocked_user_id": block.target_id,
        "created_at": iso(block.created_at),
        # The JS client's type names the time ``blocked_at``; the spec ``created_at``.
        "blocked_at": iso(block.created_at),
    }


def blocked_user_payload(block: UserBlock) -> dict[str, Any]:
    """One entry of ``GET /users/block`` (``BlockedUserResponse``)."""
    return {
        "user_id": block.user_id,
        "user": user_payload(block.user),
        "blocked_user_id": block.target_id,
        "blocked_user": user_payload(block.target),
        "created_at": iso(block.created_at),
    }


def ban_payload(ban: Ban) -> dict[str, Any]:
    """A ban as ``GET /query_banned_users`` lists it (``BanResponse``)."""
    data: dict[str, Any] = {
        "user": user_payload(ban.user),
        "created_at": iso(ban.created_at),
        "shadow": False,
    }
    if ban.channel is not None:
        data["channel"] = channel_payload(ban.channel)
    if ban.banned_by is not None:
        data["banned_by"] = user_payload(ban.banned_by)
    if ban.reason:
        data["reason"] = ban.reason
    if ban.expires:
        data["expires"] = iso(ban.expires)
    return data


def flag_payload(flag: Flag) -> dict[str, Any]:
    """A flag as the flagging endpoints answer it (``FlagResponse``)."""
    data: dict[str, Any] = {
        "user": user_payload(flag.user),
        "created_by_automod": False,
        "custom": dict(flag.custom or {}),
        "created_at": iso(flag.created_at),
        "updated_at": iso(flag.updated_at),
    }
    if flag.reason:
        data["reason"] = flag.reason
    if flag.message is not None:
        data["target_message_id"] = flag.message.id
    if flag.target_user is not None:
        data["target_user"] = user_payload(flag.target_user)
    return data


def channel_payload(
    channel: Channel,
    *,
    config: dict[str, Any] | None = None,
    own_capabilities: list[str] | None = None,
    membership: Member | None = None,
    blocked: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        **(channel.custom or {}),
        "id": channel.channel_id,
        "type": channel.type,
        "cid": channel.cid,
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
        "frozen": channel.frozen,
        "disabled": channel.disabled,
        "member_count": channel.member_count,
        "message_count": channel.message_count,
    }
    if channel.created_by is not None:
        data["created_by"] = user_payload(channel.created_by)
    if channel.last_message_at is not None:
        data["last_message_at"] = iso(channel.last_message_at)
    if channel.team:
        data["team"] = channel.team
    if channel.truncated_at is not None:
        data["truncated_at"] = iso(channel.truncated_at)
    if config is not None:
        data["config"] = config
    if own_capabilities is not None:
        data["own_capabilities"] = own_capabilities
    if membership is not None:
        data["hidden"] = membership.hidden
        data["blocked"] = blocked
    return data


def member_payload(
    member: Member, *, online: set[str] | frozenset[str] = frozenset(), user: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``user``: the member's user payload when the caller has built it already."""
    data: dict[str, Any] = {
        **(member.custom or {}),
        "user_id": member.user_id,
        "user": user if user is not None else user_payload(member.user, online=member.user_id in online),
        "channel_role": member.channel_role,
        "role": "moderator" if member.is_moderator else "member",
        "is_moderator": member.is_moderator,
        "created_at": iso(member.created_at),
        "updated_at": iso(member.updated_at),
        "banned": member.banned,
        "shadow_banned": member.shadow_banned,
        "notifications_muted": member.notifications_muted,
        "status": "member",
    }
    if member.invited:
        data["invited"] = True
    if member.pinned_at:
        data["pinned_at"] = iso(member.pinned_at)
    if member.archived_at:
        data["archived_at"] = iso(member.archived_at)
    return data


def read_payload(
    member: Member, *, online: set[str] | frozenset[str] = frozenset(), user: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``user``: as for :func:`member_payload`."""
    data: dict[str, Any] = {
        "user": user if user is not None else user_payload(member.user, online=member.user_id in online),
        "last_read": iso(member.last_read),
        "unread_messages": member.unread_messages,
    }
    if member.last_read_message_id:
        data["last_read_message_id"] = member.last_read_message_id
    return data


def reaction_payload(reaction: Reaction) -> dict[str, Any]:
    data: dict[str, Any] = {
        **(reaction.custom or {}),
        "message_id": reaction.message_id,
        "user_id": reaction.user_id,
        "user": user_payload(reaction.user),
        "type": reaction.type,
        "score": reaction.score,
        "created_at": iso(reaction.created_at),
        "updated_at": iso(reaction.updated_at),
    }
    if reaction.emoji_code:
        data["emoji_code"] = reaction.emoji_code
    return data


class MessageRenderer:
    """Renders a batch of messages for one viewer with a fixed number of queries:
    their reactions, the messages they quote, and the users they mention, that
    pinned them or that take part in their threads (each query only if needed)."""

    def __init__(self, messages: Iterable[Message], *, viewer_id: str | None) -> None:
        self.messages = list(messages)
        self.viewer_id = viewer_id
        ids = [m.id for m in self.messages]
        self.reactions: dict[str, list[Reaction]] = defaultdict(list)
        if any(m.reaction_groups for m in self.messages):
            for reaction in (
                Reaction.objects.filter(message_id__in=ids)
                .select_related("user")
                .order_by("-created_at", "-pk")
            ):
                self.reactions[reaction.message_id].append(reaction)
        quoted_ids = {m.quoted_message_id for m in self.messages if m.quoted_message_id}
        self.quoted = (
            {q.id: q for q in Message.objects.select_related("user").filter(id__in=quoted_ids)}
            if quoted_ids
            else {}
        )
        wanted: set[str] = set()
        for message in self.messages:
            wanted.update(message.mentioned_user_ids or [])
            wanted.update(message.thread_participant_ids or [])
        # Who pinned a message comes along with it when it was read with
        # ``select_related("pinned_by")`` (message lists do), else with the others.
        known: dict[str, ChatUser] = {}
        for message in self.messages:
            if not message.pinned_by_id:
                continue
            if Message.pinned_by.is_cached(message) and message.pinned_by is not None:
                known[message.pinned_by_id] = message.pinned_by
            else:
                wanted.add(message.pinned_by_id)
        wanted -= known.keys()
        self.users = {user.id: user for user in ChatUser.objects.filter(id__in=wanted)} if wanted else {}
        self.users.update(known)

    def render(self, message: Message) -> dict[str, Any]:
        return message_payload(
            message,
            reactions=self.reactions.get(message.id, []),
            users=self.users,
            quoted=self.quoted,
            viewer_id=self.viewer_id,
        )

    def render_all(self) -> list[dict[str, Any]]:
        return [self.render(message) for message in self.messages]


def render_message(message: Message, *, viewer_id: str | None) -> dict[str, Any]:
    return MessageRenderer([message], viewer_id=viewer_id).render(message)


def message_payload(
    message: Message,
    *,
    reactions: list[Reaction],
    users: dict[str, ChatUser],
    quoted: dict[str, Message],
    viewer_id: str | None,
) -> dict[str, Any]:
    """One message; related users and quoted messages come preloaded (see MessageRenderer)."""
    groups = message.reaction_groups or {}
    data: dict[str, Any] = {
        **(message.custom or {}),
        "id": message.id,
        "cid": message.channel_id,
        "text": message.text,
        "html": _html(message.text),
        "type": message.type,
        "user": user_payload(message.user),
        "attachments": list(message.attachments or []),
        "latest_reactions": [reaction_payload(r) for r in reactions[:LATEST_REACTIONS]],
        "own_reactions": [reaction_payload(r) for r in reactions if viewer_id and r.user_id == viewer_id],
        "reaction_counts": {kind: group["count"] for kind, group in groups.items()},
        "reaction_scores": {kind: group["sum_scores"] for kind, group in groups.items()},
        "reaction_groups": {kind: {**group, "latest_reactions_by": []} for kind, group in groups.items()},
        "reply_count": message.reply_count,
        "deleted_reply_count": message.deleted_reply_count,
        "mentioned_users": [
            user_payload(users[uid]) for uid in message.mentioned_user_ids or [] if uid in users
        ],
        "mentioned_channel": False,
        "mentioned_here": False,
        "silent": message.silent,
        "shadowed": False,
        "pinned": message.pinned,
        "restricted_visibility": [],
        "created_at": iso(message.created_at),
        "updated_at": iso(message.updated_at),
    }
    _add_optional_fields(data, message, users=users, quoted=quoted, viewer_id=viewer_id)
    return data


def _add_optional_fields(
    data: dict[str, Any],
    message: Message,
    *,
    users: dict[str, ChatUser],
    quoted: dict[str, Message],
    viewer_id: str | None,
) -> None:
    """The fields a message has only when they apply: pins, threads, quotes, deletion, edits."""
    if message.pinned_at:
        data["pinned_at"] = iso(message.pinned_at)
    if message.pinned_by_id in users:
        data["pinned_by"] = user_payload(users[message.pinned_by_id])
    if message.pin_expires:
        data["pin_expires"] = iso(message.pin_expires)
    if message.parent_id:
        data["parent_id"] = message.parent_id
        data["show_in_channel"] = message.show_in_channel
    if message.thread_participant_ids:
        data["thread_participants"] = [
            user_payload(users[uid]) for uid in message.thread_participant_ids if uid in users
        ]
    if message.quoted_message_id:
        data["quoted_message_id"] = message.quoted_message_id
        if message.quoted_message_id in quoted:
            data["quoted_message"] = message_payload(
                quoted[message.quoted_message_id], reactions=[], users={}, quoted={}, viewer_id=viewer_id
            )
    if message.deleted_at:
        data["deleted_at"] = iso(message.deleted_at)
    if message.message_text_updated_at:
        data["message_text_updated_at"] = iso(message.message_text_updated_at)


def _html(text: str) -> str:
    if not text:
        return ""
    return "<p>" + escape(text).replace("\n", "<br/>") + "</p>\n"
