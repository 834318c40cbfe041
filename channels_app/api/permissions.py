"""Channels: admins and moderators manage them; members read what they can see,
join public channels and leave any channel. Every tenant user starts direct
conversations; only admins (and staff) delete one, and nobody changes one's
members (the services refuse that with a 409, whoever asks)."""

from __future__ import annotations

from typing import Any

from chatplatform.api.permissions import (
    ADMIN,
    EVERYONE,
    MANAGERS,
    MEMBER,
    MODERATOR,
    STAFF,
    ActionRolePermission,
)


class ChannelPermission(ActionRolePermission):
    rules = {
        "list": EVERYONE,
        "retrieve": EVERYONE,
        "create": MANAGERS,
        # Platform staff have no chat account, so no conversations of their own.
        "direct": frozenset({ADMIN, MODERATOR, MEMBER}),
        "update": MANAGERS,
        "partial_update": MANAGERS,
        "destroy": MANAGERS,
        "members:get": EVERYONE,
        "members:post": MANAGERS,
        # Managers remove anyone; everyone else only themselves (checked in the view).
        "member_remove": EVERYONE,
        "join": EVERYONE,
    }
    direct_rules = {**rules, "destroy": frozenset({STAFF, ADMIN})}

    def rules_for(self, obj: Any) -> dict[str, frozenset[str]]:
        return self.direct_rules if obj.is_direct else self.rules
