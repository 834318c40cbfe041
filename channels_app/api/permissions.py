"""Channels: admins and moderators manage them; members read what they can see,
join public channels and leave any channel."""

from __future__ import annotations

from chatplatform.api.permissions import EVERYONE, MANAGERS, ActionRolePermission


class ChannelPermission(ActionRolePermission):
    rules = {
        "list": EVERYONE,
        "retrieve": EVERYONE,
        "create": MANAGERS,
        "update": MANAGERS,
        "partial_update": MANAGERS,
        "destroy": MANAGERS,
        "members:get": EVERYONE,
        "members:post": MANAGERS,
        # Managers remove anyone; everyone else only themselves (checked in the view).
        "member_remove": EVERYONE,
        "join": EVERYONE,
    }
