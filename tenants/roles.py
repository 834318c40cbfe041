"""A user's role inside its tenant.

The vocabulary belongs to the tenant app: a role only means something within
one tenant. Platform staff stand outside this ladder.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MODERATOR = "moderator", "Moderator"
    MEMBER = "member", "Member"


# Which roles a tenant role may give (to a new user, an invitation, a role
# change); platform staff, outside the ladder, give any.
_GRANTS = {
    Role.ADMIN: frozenset(Role),
    Role.MODERATOR: frozenset({Role.MEMBER}),
    Role.MEMBER: frozenset(),
}


def grantable_roles(granter: str | None) -> frozenset[Role]:
    """The roles a user of tenant role ``granter`` (None: platform staff) may grant."""
    return frozenset(Role) if granter is None else _GRANTS[Role(granter)]
