"""ChannelState: what ``queryChannels`` and ``channel.query``/``watch`` return
for each channel, as the given viewer sees it (its membership, capabilities and
read state), built with a bounded number of queries per channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatengine import permissions
from chatengine.auth import Caller
from chatengine.models import Channel, ChatUser, Member, Message
from chatengine.selectors import (
    DEFAULT_MEMBER_LIMIT,
    PAGINATION_KEYS,
    ChannelTypes,
    access_for,
    banned_channels,
    bounded_int,
    channel_history_scope,
    latest_and_pinned_per_channel,
    members_per_channel,
    messages_page,
    pinned_messages_per_channel,
    viewer_memberships,
)
from chatengine.serializers import (
    MessageRenderer,
    channel_payload,
    member_payload,
    read_payload,
    user_payload,
)
from chatengine.services.connections import channel_watchers
from chatengine.watchpath import Watchers


@dataclass
class StateOptions:
    messages: dict[str, Any] = field(default_factory=dict)
    default_message_limit: int = 100
    member_limit: int = DEFAULT_MEMBER_LIMIT
    member_offset: int = 0
    watcher_limit: int = 10


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    """``body[key]`` when it is an object, else an empty one."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def options_from(body: dict[str, Any], *, default_message_limit: int) -> StateOptions:
    """State options from a query or queryChannels body (``messages``, ``members``,
    ``watchers`` objects, or the flat ``message_limit`` / ``member_limit``)."""
    messages = _object(body, "messages")
    if "message_limit" in body:
        messages = {**messages, "limit": body["message_limit"]}
    members = _object(body, "members")
    watchers = _object(body, "watchers")
    return StateOptions(
        messages=messages,
        default_message_limit=default_message_limit,
        member_limit=bounded_int(
            body.get("member_limit", members.get("limit")),
            name="member_limit",
            default=DEFAULT_MEMBER_LIMIT,
            maximum=300,
        ),
        member_offset=bounded_int(members.get("offset"), name="members.offset", default=0, maximum=1000),
        watcher_limit=bounded_int(watchers.get("limit"), name="watchers.limit", default=10, maximum=300),
    )


def channel_states(
    *,
    caller: Caller,
    viewer: ChatUser | None,
    channels: list[Channel],
    types: ChannelTypes,
    options: StateOptions,
    watchers: dict[str, Watchers] | None = None,
    own: dict[str, Member] | None = None,
) -> list[dict[str, Any]]:
    """The states of ``channels``, in a fixed number of queries whatever their
    number. ``watchers`` (``channel_watchers``) and ``own`` (``viewer_memberships``)
    when the caller just read them."""
    if not channels:
        return []
    if own is None:
        own = viewer_memberships(viewer, channels) if viewer is not None else {}
    if watchers is None:
        watchers = channel_watchers(channels, limit=options.watcher_limit)
    history, pinned = _histories(channels, options)
    members = members_per_channel(channels, limit=options.member_limit, offset=options.member_offset)
    pages = [
        (channel, history.get(channel.cid, []), pinned.get(channel.cid, []), members.get(channel.cid, []))
        for channel in channels
    ]
    all_messages = [m for _, page, pins, _ in pages for m in (*page, *pins)]
    renderer = MessageRenderer(all_messages, viewer_id=viewer.id if viewer else None)
    # Who is online, from what was read already: the watchers listed (a watch
    # is a live socket's), and the members and own memberships read with it.
    online = {user.id for found in watchers.values() for user in found.users}
    online.update(m.user_id for page in members.values() for m in page if m.online)  # type: ignore[attr-defined]  # annotated by the query
    online.update(m.user_id for m in own.values() if m.online)  # type: ignore[attr-defined]  # annotated by the query
    shared = _Shared(
        caller=caller,
        viewer=viewer,
        types=types,
        options=options,
        own=own,
        banned=_banned(caller, viewer, channels, own),
        # A blocked conversation is one the viewer is in (``blocked_conversations``).
        blocked={cid for cid, m in own.items() if m.blocks_other},  # type: ignore[attr-defined]  # annotated by the query
        renderer=renderer,
        online=online,
        watchers=watchers,
    )
    return [
        shared.state(channel, page, pins, channel_members) for channel, page, pins, channel_members in pages
    ]


def _histories(
    channels: list[Channel], options: StateOptions
) -> tuple[dict[str, list[Message]], dict[str, list[Message]]]:
    """The messages and the pinned messages of each channel, by cid."""
    if PAGINATION_KEYS.intersection(options.messages):
        # A page around a pivot message: one channel at a time (a single watch/query).
        history = {
            channel.cid: messages_page(
                channel_history_scope(channel), options.messages, default_limit=options.default_message_limit
            )
            for channel in channels
        }
        return history, pinned_messages_per_channel(channels)
    limit = bounded_int(
        options.messages.get("limit"),
        name="messages.limit",
        default=options.default_message_limit,
        maximum=300,
    )
    return latest_and_pinned_per_channel(channels, limit)


def _banned(
    caller: Caller, viewer: ChatUser | None, channels: list[Channel], own: dict[str, Member]
) -> set[str]:
    """The cids of the channels the viewer is banned from (none for server-side callers)."""
    if viewer is None or caller.server:
        return set()
    banned = {cid for cid, m in own.items() if m.ban_in_force}  # type: ignore[attr-defined]  # annotated by the query
    elsewhere = [channel for channel in channels if channel.cid not in own]
    if elsewhere:
        banned |= banned_channels(viewer, elsewhere)
    return banned


@dataclass(frozen=True)
class _Shared:
    """What every channel's state of one ``channel_states`` call is built from."""

    caller: Caller
    viewer: ChatUser | None
    types: ChannelTypes
    options: StateOptions
    own: dict[str, Member]
    banned: set[str]
    blocked: set[str]
    renderer: MessageRenderer
    online: set[str]
    watchers: dict[str, Watchers]

    def state(
        self, channel: Channel, page: list[Message], pins: list[Message], channel_members: list[Member]
    ) -> dict[str, Any]:
        viewer, online = self.viewer, self.online
        membership = self.own.get(channel.cid)
        access = access_for(
            self.caller, channel, membership, self.types, user=viewer, banned=channel.cid in self.banned
        )
        config = self.types.config(channel.type)
        reads = {m.user_id: m for m in channel_members}
        if membership is not None:
            reads[membership.user_id] = membership
        watching = self.watchers.get(channel.cid) or Watchers()
        payloads: dict[str, dict[str, Any]] = {}

        def users(member: Member) -> dict[str, Any]:
            """A member's user payload, built once for its member and its read state."""
            if member.user_id not in payloads:
                payloads[member.user_id] = user_payload(member.user, online=member.user_id in online)
            return payloads[member.user_id]

        state: dict[str, Any] = {
            "channel": channel_payload(
                channel,
                config=config,
                own_capabilities=permissions.capabilities(access.granted, channel, config) if viewer else [],
                membership=membership,
                blocked=channel.cid in self.blocked,
            ),
            "messages": [self.renderer.render(m) for m in page],
            "pinned_messages": [self.renderer.render(m) for m in pins],
            "members": [member_payload(m, user=users(m)) for m in channel_members],
            "read": [read_payload(m, user=users(m)) for m in reads.values()],
            "watcher_count": watching.count,
            "watchers": [user_payload(user, online=True) for user in watching.users],
            "threads": [],
        }
        if membership is not None:
            state["membership"] = member_payload(membership, user=users(membership))
            state["hidden"] = membership.hidden
        return state
