"""Permissions v2 as far as this engine needs them: roles, grants and the
``own_capabilities`` the UI reads.

A user's roles on a channel are its role there (its team role when
multi-tenancy is on and the channel's team has one, else its global role) and,
if it is a member, its channel role. A permission is granted when any of those
roles holds it in the channel type's grants. ``admin`` and ``global_admin``
hold everything but the server-side permissions. Server-side calls are not
checked at all, as in Stream.

Server-side permissions (``SERVER_SIDE_PERMISSIONS``) are held by no role on a
client-side request, whatever the grants say: creating a channel, changing its
data, its members or their roles, deleting or truncating it. The control plane
owns all of these and makes them with a server token; a client that could make
them would leave the chat service holding what the control plane does not know
(invariant 5). Grants that would give them are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatengine.models import Channel, ChannelRole, ChatUser, Member

ALL_PERMISSIONS = "*"
SERVER_SIDE_PERMISSIONS = frozenset(
    {
        "create-channel",
        "create-distinct-channel-for-others",
        "update-channel",
        "update-channel-members",
        "add-own-channel-membership",
        "remove-own-channel-membership",
        "delete-channel",
        "truncate-channel",
    }
)


def is_server_side(permission: str) -> bool:
    """A server-side permission or one of Stream's variants of it
    (``-owner``, ``-any-team``, ``update-channel-frozen`` ...)."""
    return any(permission == base or permission.startswith(f"{base}-") for base in SERVER_SIDE_PERMISSIONS)


ADMIN_ROLES = frozenset({"admin", "global_admin"})
# Roles that reach channels of every team.
CROSS_TEAM_ROLES = frozenset({"global_admin", "global_moderator"})
# Roles of a user; a member's channel role is never one of them.
USER_LEVEL_ROLES = frozenset({"user", "guest", "anonymous", "admin", "global_admin", "global_moderator"})
BUILTIN_ROLES = frozenset({*USER_LEVEL_ROLES, *ChannelRole.values})

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
]
_MODERATOR_GRANTS = [
    *_MEMBER_GRANTS,
    "update-message",
    "delete-message",
    "delete-reaction",
    "pin-message",
    "delete-attachment",
    "ban-channel-member",
    "skip-slow-mode",
]

# No role holds ``create-channel`` (Stream grants it on its built-in types),
# ``update-channel``, ``update-channel-members`` and the other server-side
# permissions: see ``SERVER_SIDE_PERMISSIONS``.
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
    # (A ban is applied on top: selectors.access_for.) A user-level role stored
    # as a channel role, as this engine once accepted, counts as a plain member.
    if member is not None:
        stored = member.channel_role
        roles.append(ChannelRole.MEMBER if stored in USER_LEVEL_ROLES else stored)
    return roles


def permissions_of(roles: Iterable[str], grants: dict[str, list[str]]) -> frozenset[str]:
    """What ``roles`` hold on a client-side request: never a server-side permission."""
    held: set[str] = set()
    for role in roles:
        held.update(grants.get(role, ()))
    return frozenset(held - SERVER_SIDE_PERMISSIONS)


# What a server-side caller holds: everything.
SERVER_GRANTED = frozenset({ALL_PERMISSIONS, *SERVER_SIDE_PERMISSIONS})


def has(permissions: frozenset[str], permission: str) -> bool:
    """``*`` covers every permission but the server-side ones."""
    return permission in permissions or (
        ALL_PERMISSIONS in permissions and permission not in SERVER_SIDE_PERMISSIONS
    )


def server_side_grants(grants: dict[str, list[str]]) -> dict[str, list[str]]:
    """The server-side permissions ``grants`` would give, role by role."""
    found = {role: sorted(p for p in set(perms) if is_server_side(p)) for role, perms in grants.items()}
    return {role: perms for role, perms in found.items() if perms}


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
