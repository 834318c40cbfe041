"""Who may do what to users.

| action   | staff | admin | moderator            | member          |
|----------|-------|-------|----------------------|-----------------|
| list     | all   | own tenant | own tenant      | own tenant      |
| create   | yes   | any role | `member` only     | no              |
| retrieve | yes   | yes   | yes                  | yes             |
| update   | yes   | yes   | `member`s: name, active | self: name, password |
| delete   | yes   | yes   | no                   | no              |

Everyone may edit their own name and password; nobody changes their own role
or deactivates themselves; only admins (and staff) grant roles above member.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied

from accounts.models import User
from chatplatform.api.permissions import (
    ADMIN,
    EVERYONE,
    MANAGERS,
    STAFF,
    ActionRolePermission,
    may_grant,
    role_key,
)

SELF_EDITABLE = frozenset({"full_name", "password"})
MODERATOR_EDITABLE = frozenset({"full_name", "is_active", "role"})


class UserPermission(ActionRolePermission):
    rules = {
        "list": EVERYONE,
        "create": MANAGERS,
        "retrieve": EVERYONE,
        "update": EVERYONE,
        "partial_update": EVERYONE,
        "destroy": frozenset({STAFF, ADMIN}),
    }


def check_can_create(actor: User, *, role: str) -> None:
    if not may_grant(actor, role):
        raise PermissionDenied("Moderators can only create members.", code="role_not_allowed")


def check_can_update(actor: User, target: User, changes: dict[str, Any]) -> None:
    """Field-level rules for an update the action-level rules already allowed."""
    changed = {
        name for name, value in changes.items() if name == "password" or getattr(target, name) != value
    }
    if actor.pk == target.pk:
        if "role" in changed:
            raise PermissionDenied("You cannot change your own role.", code="own_role")
        if "is_active" in changed:
            raise PermissionDenied("You cannot deactivate yourself.", code="own_status")
        if "is_superuser" in changed:  # the console's only: the API does not take it
            raise PermissionDenied("You cannot change your own superuser status.", code="own_role")
    key = role_key(actor)
    if key in (STAFF, ADMIN):
        return
    if actor.pk == target.pk:
        allowed = SELF_EDITABLE
    elif may_grant(actor, target.role):  # a moderator, editing a member
        allowed = MODERATOR_EDITABLE
        if "role" in changes and not may_grant(actor, changes["role"]):
            raise PermissionDenied("Moderators cannot grant roles.", code="role_not_allowed")
    else:
        raise PermissionDenied("Your role does not allow changing this user.", code="permission_denied")
    refused = sorted(changed - allowed)
    if refused:
        raise PermissionDenied(f"You cannot change: {', '.join(refused)}.", code="field_not_allowed")
