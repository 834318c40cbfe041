"""Tenants: platform staff run the lifecycle; a tenant admin may rename its own."""

from __future__ import annotations

from chatplatform.api.permissions import ADMIN, EVERYONE, STAFF, ActionRolePermission

STAFF_ONLY = frozenset({STAFF})


class TenantPermission(ActionRolePermission):
    rules = {
        "list": EVERYONE,
        "retrieve": EVERYONE,
        "create": STAFF_ONLY,
        "update": frozenset({STAFF, ADMIN}),
        "partial_update": frozenset({STAFF, ADMIN}),
        "destroy": STAFF_ONLY,
        "suspend": STAFF_ONLY,
        "reactivate": STAFF_ONLY,
    }
