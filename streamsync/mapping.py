"""How our models map to chat-service objects (Stream's native multi-tenancy).

| ours | chat service |
|---|---|
| Tenant `slug` | team `slug` |
| User (of a tenant) | user `chat_user_id`, `role="user"`, `teams=[slug]`, `teams_role={slug: ...}` |
| tenant role admin / moderator / member | team role `admin` / `tenant_moderator` / `user` |
| Channel | channel `messaging:<chat_id>` with `team=slug` |
| direct conversation | the same, without `name` and with `kind="direct"`, created by the team's system user |
| Membership role member / moderator | `channel_member` / `channel_moderator` |
| User `sessions_revoked_at` | `revoke_tokens_issued_before` (a partial update) |

No tenant user ever gets a global ``admin`` role: team roles apply only on the
team's channels.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from accounts.models import User
from channels_app.models import CHAT_CHANNEL_TYPE, Channel, ChannelKind, ChannelRole
from tenants.models import Tenant
from tenants.roles import Role

CHANNEL_TYPE = CHAT_CHANNEL_TYPE
TENANT_MODERATOR_ROLE = "tenant_moderator"

TEAM_ROLES = {
    Role.ADMIN: "admin",
    Role.MODERATOR: TENANT_MODERATOR_ROLE,
    Role.MEMBER: "user",
}

CHANNEL_ROLES = {
    ChannelRole.MEMBER: "channel_member",
    ChannelRole.MODERATOR: "channel_moderator",
}

# Permissions no client role holds, in any channel type: the control plane owns
# channels, their data, their members and their history, and makes every such
# change server-side (where Stream checks no permission). Each covers Stream's
# variants of it too (``-owner``, ``-any-team``; ``update-channel`` also covers
# ``update-channel-members``, ``-frozen``, ``-cooldown``). The built-in engine
# withholds the same ones from every client (``chatengine.permissions``).
SERVER_SIDE_PERMISSIONS = (
    "create-channel",
    "create-distinct-channel-for-others",
    "update-channel",
    "update-channel-members",
    "add-own-channel-membership",
    "remove-own-channel-membership",
    "delete-channel",
    "truncate-channel",
)


def is_server_side(permission: str) -> bool:
    return any(permission == base or permission.startswith(f"{base}-") for base in SERVER_SIDE_PERMISSIONS)


def client_grants(permissions: list[str]) -> list[str]:
    """``permissions`` without the server-side ones."""
    return [permission for permission in permissions if not is_server_side(permission)]


# What tenant moderators may do on their team's channels (channel-type grants).
# Nothing server-side: channels and their members change through the control plane.
TENANT_MODERATOR_GRANTS = [
    "read-channel",
    "read-channel-members",
    "create-message",
    "update-message",
    "delete-message",
    "create-reaction",
    "delete-reaction",
    "pin-message",
    "flag-message",
    "mute-channel",
    "send-custom-event",
    "upload-attachment",
    "ban-channel-member",
]


def user_payload(user: User) -> dict[str, Any]:
    """The chat user for a tenant user. Platform staff without a tenant have none."""
    if user.tenant is None:
        raise ValueError("Users without a tenant are not chat users.")
    team = user.tenant.slug
    return {
        "id": user.chat_user_id,
        "name": user.full_name or user.email.split("@")[0],
        "role": "user",
        "teams": [team],
        "teams_role": {team: TEAM_ROLES[Role(user.role)]},
    }


def tokens_revoked_before(user: User) -> str | None:
    """The user's ``revoke_tokens_issued_before`` in the chat service: its last
    password change or deactivation (``User.sessions_revoked_at``).

    In whole seconds, as a token's ``iat`` is: a token issued in the second of
    the change keeps working, so the session that made the change can get one
    at once.
    """
    if user.sessions_revoked_at is None:
        return None
    return user.sessions_revoked_at.replace(microsecond=0).isoformat()


def channel_data(channel: Channel) -> dict[str, Any]:
    """Custom data of the chat channel. ``team`` never changes after creation.

    A direct conversation has no ``name``: chat UIs (stream-chat-react's
    among them) then title it, for each viewer, with the other members' names.
    ``kind`` tells clients it is a conversation with fixed members.
    """
    data = {
        "team": channel.tenant.slug,
        "slug": channel.slug,
        "description": channel.description,
        "visibility": channel.visibility,
    }
    if channel.is_direct:
        data["kind"] = ChannelKind.DIRECT.value
    else:
        data["name"] = channel.name
    return data


def channel_data_absent(channel: Channel) -> list[str]:
    """Custom data keys the chat channel must not have (an update unsets them)."""
    return ["name"] if channel.is_direct else []


def channel_members(channel: Channel) -> dict[str, str]:
    """``{chat user id: channel role}`` of every member."""
    return {
        str(user_id): CHANNEL_ROLES[ChannelRole(role)]
        for user_id, role in channel.memberships.values_list("user_id", "role")
    }


def system_user_id(tenant: Tenant) -> str:
    """A per-team user that creates channels nobody of the team created (e.g. staff did)."""
    return f"system-{tenant.slug}"


def system_user_payload(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": system_user_id(tenant),
        "name": tenant.name,
        "role": "user",
        "teams": [tenant.slug],
        "teams_role": {tenant.slug: "user"},
    }


def digest(payload: Any) -> str:
    """A stable fingerprint of what was sent, to skip calls that would change nothing."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
