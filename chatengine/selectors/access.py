"""Channel access: who may do what in a channel, and the lookups of a
channel, a membership or a message as a caller may know them.

``channel_access`` is the one place a client-side caller is checked against a
channel: the team wall first (multi-tenancy), then the permission asked for.
Server-side callers pass every check, as in Stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from chatengine import permissions, sendpath
from chatengine.auth import Caller
from chatengine.errors import not_allowed, not_found
from chatengine.models import (
    Ban,
    Channel,
    ChannelType,
    ChatUser,
    Member,
    Message,
)
from chatengine.services.app import channel_type_config, channel_type_get


@dataclass
class Access:
    """A caller's view of one channel: its membership and what it may do."""

    channel: Channel
    member: Member | None
    granted: frozenset[str]
    server: bool
    banned: bool = False

    def can(self, permission: str) -> bool:
        return self.server or permissions.has(self.granted, permission)

    def require(self, permission: str, what: str) -> None:
        if not self.can(permission):
            if permission in permissions.SERVER_SIDE_PERMISSIONS:
                raise not_allowed(
                    f"you are not allowed to {what} in channel {self.channel.cid}: a channel, "
                    "its data and its members change server-side only (through the control plane)"
                )
            if self.banned:
                raise not_allowed(f"you are banned from channel {self.channel.cid}: you may read, not {what}")
            raise not_allowed(f"you are not allowed to {what} in channel {self.channel.cid}")


class ChannelTypes:
    """Channel types read once per request."""

    def __init__(self) -> None:
        self._types: dict[str, ChannelType] = {}

    def get(self, name: str) -> ChannelType:
        if name not in self._types:
            self._types[name] = channel_type_get(name)
        return self._types[name]

    def config(self, name: str) -> dict[str, Any]:
        return channel_type_config(self.get(name))

    def grants(self, name: str) -> dict[str, list[str]]:
        return permissions.effective_grants(self.get(name).grants)


def access_for(
    caller: Caller,
    channel: Channel,
    member: Member | None,
    types: ChannelTypes,
    user: ChatUser | None = None,
    *,
    banned: bool | None = None,
) -> Access:
    """What the caller may do in ``channel``. ``banned`` (whether a ban keeps the
    user from writing there) is looked up unless the caller already knows it."""
    user = user or caller.user
    if caller.server or user is None:
        return Access(channel, member, permissions.SERVER_GRANTED, server=caller.server)
    roles = permissions.roles_on_channel(user, channel, member, multi_tenant=caller.multi_tenant)
    granted = permissions.permissions_of(roles, types.grants(channel.type))
    if member is None and not permissions.has(granted, "read-channel"):
        # Reading a channel one is not in takes an explicit grant (admins, custom roles).
        granted = frozenset(p for p in granted if p in ("create-channel", "read-own-channel"))
    if banned is None:
        banned = channel.cid in banned_channels(user, [channel])
    if banned:
        granted = frozenset(p for p in permissions.BANNED_MAY if permissions.has(granted, p))
    return Access(channel, member, granted, server=False, banned=banned)


def may_read(caller: Caller, channel: Channel, member: Member | None, types: ChannelTypes) -> bool:
    """Whether the caller may read ``channel``: what watching it takes, checked
    as ``channel.query`` checks it (the team wall, then ``read-channel``)."""
    # A ban keeps reading (Stream's banned users still watch and read), so it
    # need not be looked up to answer this.
    return team_sees(caller, channel) and access_for(caller, channel, member, types, banned=False).can(
        "read-channel"
    )


def banned_channels(user: ChatUser, channels: list[Channel]) -> set[str]:
    """The cids among ``channels`` where a ban in force keeps ``user`` from writing."""
    bans = Ban.objects.active().filter(user=user).filter(Q(channel__isnull=True) | Q(channel__in=channels))
    cids = set(bans.values_list("channel_id", flat=True))
    if None in cids:  # banned everywhere
        return {channel.cid for channel in channels}
    return cids


def check_team(caller: Caller, channel: Channel) -> None:
    user = caller.user
    if caller.server or user is None:
        return
    if not team_sees(caller, channel):
        raise not_allowed(
            f"user '{user.id}' cannot access channel {channel.cid}: it does not belong to the user's teams"
        )


def team_sees(caller: Caller, channel: Channel) -> bool:
    """Whether the caller is on the right side of the team wall for ``channel``."""
    user = caller.user
    return (
        caller.server
        or user is None
        or permissions.team_allows(user, channel, multi_tenant=caller.multi_tenant)
    )


def channel_get_for_user(caller: Caller, cid: str) -> Channel:
    """The channel ``cid`` as the caller may know it. Another team's channel
    raises the same not-found as a missing one: a client must not learn from
    the answer which ids other teams use."""
    channel = sendpath.channel_get(cid)
    if channel is None or not team_sees(caller, channel):
        raise not_found(f"channel {cid}")
    return channel


def message_get_for_user(caller: Caller, message_id: str) -> Message:
    """The message as the caller may know it: one in another team's channel
    raises the same not-found as a missing one."""
    message = message_get(message_id)
    if not team_sees(caller, message.channel):
        raise not_found(f"message {message_id}")
    return message


def channel_get(cid: str) -> Channel:
    channel = sendpath.channel_get(cid)
    if channel is None:
        raise not_found(f"channel {cid}")
    return channel


def channel_access(
    caller: Caller, cid: str, types: ChannelTypes, *, permission: str = "read-channel", what: str = "read"
) -> Access:
    """The channel if the caller may ``permission`` on it: a missing channel is
    code 16, another team's channel or a missing grant code 17."""
    user = caller.user
    # The membership with the channel, a ban in force and a conversation's
    # block, in one statement (``sendpath``: the send's hot path).
    member = sendpath.membership_with_channel(user, cid) if user is not None and not caller.server else None
    if member is not None:
        channel, banned = member.channel, member.ban_in_force  # type: ignore[attr-defined]  # annotated by the query
    else:
        channel, banned = channel_get(cid), None
    check_team(caller, channel)
    access = access_for(caller, channel, member, types, banned=banned)
    access.require(permission, what)
    return access


def membership_for_update(caller: Caller, cid: str, user_id: str) -> Member:
    """``user_id``'s membership of ``cid``, for changing its own settings (pin,
    archive, custom member data). A client changes only its own membership;
    server-side calls reach any member.

    For a client, a channel of another team answers exactly as a missing one
    (code 16): the route tells nobody which channels other teams have."""
    channel = Channel.objects.filter(cid=cid).first()
    client = None if caller.server else caller.user
    if channel is None or (
        client is not None and not permissions.team_allows(client, channel, multi_tenant=caller.multi_tenant)
    ):
        raise not_found(f"channel {cid}")
    if client is not None and client.id != user_id:
        raise not_allowed(f"user '{client.id}' can only change its own membership, not that of '{user_id}'")
    member = Member.objects.filter(channel=channel, user_id=user_id).first()
    if member is None:
        raise not_found(f"member {user_id} of channel {cid}")
    return member


def member_get(channel: Channel, user: ChatUser | None) -> Member | None:
    if user is None:
        return None
    return Member.objects.select_related("user").filter(channel=channel, user=user).first()


def message_get(message_id: str) -> Message:
    message = Message.objects.select_related("user", "channel__created_by").filter(id=message_id).first()
    if message is None:
        raise not_found(f"message {message_id}")
    return message
