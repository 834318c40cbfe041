"""Permissions v2 as far as this engine needs them: roles, grants and the
``own_capabilities`` the UI reads.

A user's roles on a channel are its role there (its team role when
multi-tenancy is on and the channel's team has one, else its global role) and,
if it is a member, its channel role. A permission is granted when any of those
roles holds it in the channel type's grants. ``admin`` and ``global_admin``
hold everything. Server-side calls are not checked at all, as in Stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatengine.models import Channel, ChannelRole, ChatUser, Member

ALL_PERMISSIONS = "*"
ADMIN_ROLES = frozenset({"admin", "global_admin"})
# Roles that reach channels of every team.
CROSS_TEAM_ROLES = frozenset({"global_admin", "global_moderator"})
BUILTIN_ROLES = frozenset(
    {"user", "guest", "anonymous", "admin", "global_admin", "global_moderator", *ChannelRole.values}
)

_MEMBER_GRANTS = [
    "read-channel",
    "read-channel-members",
    "create-message",
    "create-reply",
    "create-attachment",
    "upload-attachment",
    "create-mention",
    "add-links",
    "create-reaction",
    "delete-reaction-owner",
    "update-message-owner",
    "delete-message-owner",
    "delete-attachment-owner",
    "flag-message",
    "mute-channel",
    "send-custom-event",
    "remove-own-channel-membership",
]
_MODERATOR_GRANTS = [
    *_MEMBER_GRANTS,
    "update-message",
    "delete-message",
    "delete-reaction",
    "pin-message",
    "delete-attachment",
    "ban-channel-member",
    "update-channel",
    "update-channel-members",
    "skip-slow-mode",
]

# Plain users hold no ``create-channel`` in any type (Stream grants it on its
# built-in types): channels come from the control plane, and a client that
# could create one would hold a channel the control plane does not know
# (invariant 5). A type's own grants may still give it to a role on purpose.
DEFAULT_GRANTS: dict[str, list[str]] = {
    "user": ["read-own-channel"],
    ChannelRole.MEMBER: _MEMBER_GRANTS,
    ChannelRole.MODERATOR: _MODERATOR_GRANTS,
    "global_moderator": _MODERATOR_GRANTS,
    "admin": [ALL_PERMISSIONS],
    "global_admin": [ALL_PERMISSIONS],
}

# own_capabilities the UI reads, and the permission behind each.
CAPABILITIES: dict[str, str] = {
    "read-events": "read-channel",
    "typing-events": "read-channel",
    "connect-events": "read-channel",
    "send-message": "create-message",
    "send-reply": "create-reply",
    "quote-message": "create-message",
    "send-links": "add-links",
    "send-reaction": "create-reaction",
    "upload-file": "upload-attachment",
    "update-own-message": "update-message-owner",
    "delete-own-message": "delete-message-owner",
    "update-any-message": "update-message",
    "delete-any-message": "delete-message",
    "pin-message": "pin-message",
    "flag-message": "flag-message",
    "mute-channel": "mute-channel",
    "leave-channel": "remove-own-channel-membership",
    "update-channel": "update-channel",
    "update-channel-members": "update-channel-members",
    "delete-channel": "delete-channel",
    "ban-channel-members": "ban-channel-member",
    "search-messages": "read-channel",
}


def effective_grants(type_grants: dict[str, list[str]]) -> dict[str, list[str]]:
    """The defaults with the channel type's grants laid over them, role by role."""
    return {**DEFAULT_GRANTS, **type_grants}


def roles_on_channel(
    user: ChatUser, channel: Channel, member: Member | None, *, multi_tenant: bool
) -> list[str]:
    roles = [user.role_in_team(channel.team, multi_tenant=multi_tenant)]
    if member is not None:  # (a ban is applied on top: selectors.access_for)
        roles.append(member.channel_role)
    return roles


def permissions_of(roles: Iterable[str], grants: dict[str, list[str]]) -> frozenset[str]:
    held: set[str] = set()
    for role in roles:
        held.update(grants.get(role, ()))
    return frozenset(held)


def has(permissions: frozenset[str], permission: str) -> bool:
    return ALL_PERMISSIONS in permissions or permission in permissions


# Capabilities that exist only while the channel type's config enables their feature.
FEATURE_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "reactions": ("send-reaction",),
    "replies": ("send-reply",),
    "uploads": ("upload-file",),
    "mutes": ("mute-channel",),
    "search": ("search-messages",),
    "typing_events": ("typing-events",),
    "read_events": ("read-events",),
}
# What a banned user keeps in the channels of its ban.
BANNED_MAY = ("read-channel", "read-channel-members")
# Held back while a channel is frozen.
FROZEN_BLOCKED = frozenset({"send-message", "send-reply", "quote-message", "send-reaction", "upload-file"})


def capabilities(permissions: frozenset[str], channel: Channel, config: dict[str, Any]) -> list[str]:
    """``own_capabilities``: what the UI may offer, from the caller's
    permissions, the channel type's enabled features and the channel's state."""
    withheld: set[str] = set()
    for feature, gated in FEATURE_CAPABILITIES.items():
        if not config.get(feature):
            withheld.update(gated)
    if channel.frozen:
        withheld.update(FROZEN_BLOCKED)
    return [
        cap
        for cap, permission in CAPABILITIES.items()
        if cap not in withheld and has(permissions, permission)
    ]


def team_allows(user: ChatUser, channel: Channel, *, multi_tenant: bool) -> bool:
    """Stream's multi-tenancy wall for client-side calls: a user reaches channels
    of its own teams only; a user without teams reaches only teamless channels."""
    if not multi_tenant or user.role in CROSS_TEAM_ROLES:
        return True
    if not channel.team:
        return not user.teams
    return channel.team in (user.teams or [])
