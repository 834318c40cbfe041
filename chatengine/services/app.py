"""The app, its custom roles and its channel types."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from chatengine import copies, events
from chatengine.errors import Code, StreamError, input_error, not_found
from chatengine.filters import parse_date
from chatengine.models import (
    ROLE_MAX_LENGTH,
    App,
    ChannelRole,
    ChannelType,
    ChatUser,
    Connection,
    Role,
    Watch,
)
from chatengine.permissions import BUILTIN_ROLES, DEFAULT_GRANTS, USER_LEVEL_ROLES, server_side_grants
from chatengine.serializers import iso

BUILTIN_CHANNEL_TYPES = ("messaging", "team", "livestream", "commerce", "gaming")

# Features this engine implements are on; the rest are off so the UI never
# offers them (polls, delivery receipts ...).
DEFAULT_CONFIG: dict[str, Any] = {
    "typing_events": True,
    "read_events": True,
    "connect_events": True,
    "delivery_events": False,
    "search": True,
    "reactions": True,
    "replies": True,
    "quotes": True,
    "mutes": True,
    "uploads": True,
    "url_enrichment": False,
    "custom_events": True,
    "push_notifications": False,
    "reminders": False,
    "mark_messages_pending": False,
    "polls": False,
    "user_message_reminders": False,
    "shared_locations": False,
    "count_messages": True,
    "message_retention": "infinite",
    "max_message_length": 5000,
    "automod": "disabled",
    "automod_behavior": "flag",
    "skip_last_msg_update_for_system_msgs": False,
    "commands": [],
}
CONFIG_KEYS = frozenset(DEFAULT_CONFIG) | {"blocklist", "blocklist_behavior", "allowed_flag_reasons"}


# The app's settings are read by every call and every handshake and change
# almost never: cached like channel types (below), in Redis when the processes
# share it and in each process for a moment (``chatengine.copies``), and
# dropped from both when ``app_update`` changes them.
APP_CACHE_KEY = "chatengine:app"
APP_CACHE_SECONDS = 60


def app_get() -> App:
    return copies.get(APP_CACHE_KEY, _app_row, shared_seconds=APP_CACHE_SECONDS)


def _app_row() -> App:
    return App.objects.get_or_create(pk=1)[0]


def _forget(key: str) -> None:
    """Drop the cached copies of ``key`` (``chatengine.copies``): now, for this
    transaction's own reads, and again after commit, in case another request
    cached the old row in between; other processes hear of it through the hubs."""

    def drop() -> None:
        cache.delete(key)
        copies.forget([key])

    drop()
    transaction.on_commit(drop)
    events.forget_copies([key])


APP_SETTINGS_IGNORED = frozenset({"multi_tenant_enabled", "revoke_tokens_issued_before"})


@transaction.atomic
def app_update(*, data: dict[str, Any]) -> App:
    App.objects.get_or_create(pk=1)
    app = App.objects.select_for_update().get(pk=1)
    multi_tenant_before = app.multi_tenant_enabled
    if "multi_tenant_enabled" in data:
        if not isinstance(data["multi_tenant_enabled"], bool):
            raise input_error("multi_tenant_enabled must be true or false")
        app.multi_tenant_enabled = data["multi_tenant_enabled"]
    if "revoke_tokens_issued_before" in data:
        previous = app.revoke_tokens_issued_before
        app.revoke_tokens_issued_before = _optional_date("revoke_tokens_issued_before", data)
        cutoff = app.revoke_tokens_issued_before
        if cutoff is not None and (previous is None or cutoff > previous):
            # Every token may be revoked: every socket closes (new tokens connect again).
            online = Connection.objects.live().values_list("user_id", flat=True).distinct()
            events.disconnect_users(
                list(online), StreamError(Code.TOKEN_EXPIRED, "JWTAuth error: token has been revoked")
            )
    app.settings = {**app.settings, **{k: v for k, v in data.items() if k not in APP_SETTINGS_IGNORED}}
    app.save()
    _forget(APP_CACHE_KEY)
    if app.multi_tenant_enabled != multi_tenant_before:
        # The team wall went up (or down): every watcher is checked against it.
        _recheck_watches(Watch.objects.all())
    return app


def _recheck_watches(watches: QuerySet[Watch]) -> None:
    # Imported here: the connection registry decides access through the
    # selectors, which read channel types from this module.
    from chatengine.services.connections import watches_recheck

    watches_recheck(watches)


def _optional_date(name: str, data: dict[str, Any]) -> datetime | None:
    value = data.get(name)
    return None if value in (None, "") else parse_date(name, value)


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------
def role_exists(name: str) -> bool:
    return name in BUILTIN_ROLES or Role.objects.filter(name=name).exists()


def channel_role_exists(name: str) -> bool:
    """Whether ``name`` may be a member's channel role: a built-in channel role
    or a custom role, never a user-level one (``admin``, ``global_admin`` ...)."""
    if name in ChannelRole.values:
        return True
    return name not in USER_LEVEL_ROLES and Role.objects.filter(name=name).exists()


def role_create(*, name: Any) -> Role:
    if not isinstance(name, str) or not name or len(name) > ROLE_MAX_LENGTH:
        raise input_error(f"role name must be 1 to {ROLE_MAX_LENGTH} characters")
    if name in BUILTIN_ROLES or Role.objects.filter(name=name).exists():
        raise input_error(f"role {name} already exists")
    return Role.objects.create(name=name)


@transaction.atomic
def role_delete(*, name: str) -> None:
    role = Role.objects.filter(name=name).first()
    if role is None:
        raise not_found(f"role {name}")
    if ChatUser.objects.filter(role=name).exists():
        raise input_error(f"role {name} is still assigned to users")
    for channel_type in ChannelType.objects.select_for_update():
        if name in channel_type.grants:
            raise input_error(f"role {name} still has grants on channel type {channel_type.name}")
    role.delete()


def role_payload(name: str, *, custom: bool, created_at: datetime, updated_at: datetime) -> dict[str, Any]:
    return {
        "name": name,
        "custom": custom,
        "scopes": [],
        "created_at": iso(created_at),
        "updated_at": iso(updated_at),
    }


# ---------------------------------------------------------------------------
# Channel types
# ---------------------------------------------------------------------------
# Channel types are read on every message and change almost never: they are
# cached (in Redis when the processes share it) and dropped from the cache on change.
CHANNEL_TYPE_CACHE_SECONDS = 60


def _cache_key(name: str) -> str:
    # The name comes from the URL: hashed, so that no character or length of it
    # makes a key the cache refuses (memcached takes 250 printable ASCII bytes).
    return f"chatengine:channeltype:{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()}"


def channel_type_get(name: str) -> ChannelType:
    """The channel type; the built-in ones exist from their first use."""
    return copies.get(
        _cache_key(name), lambda: _channel_type_row(name), shared_seconds=CHANNEL_TYPE_CACHE_SECONDS
    )


def _channel_type_row(name: str) -> ChannelType:
    channel_type = ChannelType.objects.filter(name=name).first()
    if channel_type is None:
        if name not in BUILTIN_CHANNEL_TYPES:
            raise not_found(f"channel type {name}")
        channel_type, _ = ChannelType.objects.get_or_create(name=name)
    return channel_type


def channel_type_config(channel_type: ChannelType) -> dict[str, Any]:
    return {
        **DEFAULT_CONFIG,
        **channel_type.config,
        "name": channel_type.name,
        "created_at": iso(channel_type.created_at),
        "updated_at": iso(channel_type.updated_at),
    }


def channel_type_payload(channel_type: ChannelType) -> dict[str, Any]:
    return {
        **channel_type_config(channel_type),
        "grants": {**DEFAULT_GRANTS, **channel_type.grants},
        "permissions": [],
    }


def _validated_grants(grants: Any) -> dict[str, list[str]]:
    if not isinstance(grants, dict):
        raise input_error("grants must be an object of role: [permission ids]")
    for role, permissions in grants.items():
        if not role_exists(role):
            raise input_error(f"role {role} does not exist")
        if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
            raise input_error(f"grants for role {role} must be a list of permission ids")
    server_side = server_side_grants(grants)
    if server_side:
        detail = "; ".join(f"{role}: {', '.join(perms)}" for role, perms in sorted(server_side.items()))
        raise input_error(
            "grants cannot give a role a server-side permission: channels, their data and "
            f"members change through the control plane only ({detail})"
        )
    return grants


def _config_from(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - CONFIG_KEYS - {"name", "grants", "permissions"}
    if unknown:
        raise input_error(f"unknown channel type settings: {', '.join(sorted(unknown))}")
    config = {key: value for key, value in data.items() if key in CONFIG_KEYS}
    if "commands" in config:
        # Commands (giphy ...) are not implemented; an empty list keeps the UI from offering them.
        config["commands"] = []
    return config


@transaction.atomic
def channel_type_create(*, data: dict[str, Any]) -> ChannelType:
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise input_error("name is required")
    if ChannelType.objects.filter(name=name).exists():
        raise input_error(f"channel type {name} already exists")
    grants = _validated_grants(data["grants"]) if data.get("grants") is not None else {}
    channel_type = ChannelType.objects.create(name=name, config=_config_from(data), grants=grants)
    _forget(_cache_key(name))
    return channel_type


@transaction.atomic
def channel_type_update(*, name: str, data: dict[str, Any]) -> ChannelType:
    """Partial update. ``grants`` replaces the listed roles only; ``grants: null``
    (or ``{}``) resets the type to the default grants."""
    channel_type_get(name)  # refuses unknown types
    channel_type, _ = ChannelType.objects.select_for_update().get_or_create(name=name)
    channel_type.config = {**channel_type.config, **_config_from(data)}
    if "grants" in data:
        grants = data["grants"]
        channel_type.grants = {} if not grants else {**channel_type.grants, **_validated_grants(grants)}
    channel_type.updated_at = timezone.now()
    channel_type.save()
    _forget(_cache_key(name))
    if "grants" in data:
        # Grants taken from a role take the channels of this type from its watchers.
        _recheck_watches(Watch.objects.filter(channel__type=name))
    return channel_type
