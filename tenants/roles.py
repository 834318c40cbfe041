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


_RANK = {Role.MEMBER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}


def role_rank(role: str) -> int:
    return _RANK[Role(role)]
