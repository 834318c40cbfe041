"""One-time (idempotent) configuration of the chat service app."""

from __future__ import annotations

from typing import Any

from streamsync.client import ChatClient
from streamsync.mapping import CHANNEL_TYPE, TENANT_MODERATOR_GRANTS, TENANT_MODERATOR_ROLE, client_grants

WEBHOOK_EVENT_TYPES: list[str] = []  # all events; the receiver keeps the ones that matter
# Stream's built-in channel types. Each grants plain users ``create-channel`` out
# of the box; we use only ``messaging``, but a client may name any type, so all
# of them are cleared.
BUILTIN_CHANNEL_TYPES = ("messaging", "team", "livestream", "gaming", "commerce")


def stream_setup(client: ChatClient, *, webhook_url: str | None = None, dry_run: bool = False) -> list[str]:
    """Bring the chat service app to what the platform relies on; return what changed.

    - multi-tenancy (teams) on; it is never turned off;
    - the custom role for tenant moderators, with moderation grants on ``messaging``;
    - plain users get no channel-type grants of their own, in every built-in type:
      channels are created and managed through the control plane, and members act
      through their channel role;
    - no role keeps a server-side permission (``mapping.SERVER_SIDE_PERMISSIONS``:
      creating, updating, deleting or truncating a channel, changing its members
      or their roles, joining or leaving) in any built-in type, ``admin`` and
      the channel roles included, so nothing a client does changes what the
      control plane owns;
    - optionally, our webhook in the app's event hooks (other hooks are kept).
    """
    app: dict[str, Any] = client.get_app_settings().get("app", {})
    changes = _teams_on(client, app, dry_run=dry_run) + _moderator_role(client, dry_run=dry_run)
    for channel_type in BUILTIN_CHANNEL_TYPES:
        changes += _grants(client, channel_type, dry_run=dry_run)
    if webhook_url:
        changes += _webhook(client, app, webhook_url, dry_run=dry_run)
    return changes


def _teams_on(client: ChatClient, app: dict[str, Any], *, dry_run: bool) -> list[str]:
    if app.get("multi_tenant_enabled"):
        return []
    if not dry_run:
        client.update_app_settings(multi_tenant_enabled=True)
    return ["turned on multi-tenancy (multi_tenant_enabled)"]


def _moderator_role(client: ChatClient, *, dry_run: bool) -> list[str]:
    roles = {role.get("name") for role in client.list_roles().get("roles", [])}
    if TENANT_MODERATOR_ROLE in roles:
        return []
    if not dry_run:
        client.create_role(TENANT_MODERATOR_ROLE)
    return [f"created the custom role {TENANT_MODERATOR_ROLE}"]


def _grants(client: ChatClient, channel_type: str, *, dry_run: bool) -> list[str]:
    """No grants for plain users, client-side grants only for every role, and the
    tenant moderators' grants on our channel type."""
    grants: dict[str, list[str]] = client.get_channel_type(channel_type).get("grants", {}) or {}
    wanted: dict[str, list[str]] = {role: client_grants(perms) for role, perms in grants.items()}
    wanted["user"] = []
    if channel_type == CHANNEL_TYPE:
        wanted[TENANT_MODERATOR_ROLE] = TENANT_MODERATOR_GRANTS
    update = {role: perms for role, perms in wanted.items() if sorted(grants.get(role, [])) != sorted(perms)}
    if not update:
        return []
    if not dry_run:
        client.update_channel_type(channel_type, grants=update)
    return [f"set {channel_type} grants for {', '.join(sorted(update))}"]


def _webhook(client: ChatClient, app: dict[str, Any], webhook_url: str, *, dry_run: bool) -> list[str]:
    """Our webhook, enabled, among the app's event hooks (the others are kept)."""
    hooks: list[dict[str, Any]] = list(app.get("event_hooks") or [])
    ours = [
        h for h in hooks if h.get("webhook_url") == webhook_url and h.get("hook_type", "webhook") == "webhook"
    ]
    if ours and all(h.get("enabled") for h in ours):
        return []
    others = [h for h in hooks if h not in ours]
    hook = {
        "enabled": True,
        "hook_type": "webhook",
        "webhook_url": webhook_url,
        "event_types": WEBHOOK_EVENT_TYPES,
    }
    if not dry_run:
        # event_hooks replaces the whole list: send the others back unchanged.
        client.update_app_settings(event_hooks=[*others, hook])
    return [f"registered the webhook {webhook_url}"]
