"""Declarative role permissions: each view lists which roles may run which action.

Collection actions (list, create) are checked before the view runs. Detail
actions are checked only once the object has been resolved through the
tenant-scoped queryset, so a missing object and another tenant's object both
answer 404 whatever the caller's role, and 403 is reserved for objects the
caller can see but may not change.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenants.roles import grantable_roles

STAFF = "staff"
ADMIN = "admin"
MODERATOR = "moderator"
MEMBER = "member"
EVERYONE = frozenset({STAFF, ADMIN, MODERATOR, MEMBER})
MANAGERS = frozenset({STAFF, ADMIN, MODERATOR})


def role_key(user: Any) -> str:
    """The caller's place in the permission table: ``staff`` or its tenant role."""
    return STAFF if user.is_platform_staff else user.role


def may_grant(actor: Any, role: str) -> bool:
    """Whether ``actor`` may give ``role`` to someone (create, invite, change a role).
    The one home of the rule; the role table is in :mod:`tenants.roles`."""
    return role in grantable_roles(None if actor.is_platform_staff else actor.role)


class ActionRolePermission(BasePermission):
    """Subclasses set ``rules = {action: roles}``; an action not listed is denied.

    An action serving several methods may name them: ``"members:post"`` wins
    over ``"members"`` for a POST.
    """

    rules: ClassVar[dict[str, frozenset[str]]] = {}
    message = "Your role does not allow this action."

    def rules_for(self, obj: Any) -> dict[str, frozenset[str]]:
        """The table that applies to ``obj``; a subclass may keep several (per kind of object)."""
        return self.rules

    def _allowed(self, request: Request, view: Any, rules: dict[str, frozenset[str]] | None = None) -> bool:
        rules = self.rules if rules is None else rules
        method = (request.method or "").lower()
        action = getattr(view, "action", None) or method
        roles = rules.get(f"{action}:{method}", rules.get(action, frozenset()))
        return role_key(request.user) in roles

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if getattr(view, "action", "") is None:
            return True  # a method the route does not serve: let the view answer 405
        if getattr(view, "detail", False):
            return True  # decided in has_object_permission, after the 404 check
        return self._allowed(request, view)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return self._allowed(request, view, self.rules_for(obj))
