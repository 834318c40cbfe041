"""Issuing, accepting and revoking invitations and set-password links."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from onboarding.bulk import rows_insert
from onboarding.models import Invitation
from tenants.models import Tenant
from tenants.roles import Role


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    """The link a person opens to set a password (and accept the invitation)."""
    return f"{settings.SITE_URL}/invite/{token}"


def _expiry(days: int | None) -> timezone.datetime:
    return timezone.now() + timedelta(days=days or settings.INVITATION_DAYS)


def invitation_create(
    *,
    tenant: Tenant,
    email: str,
    role: str = Role.MEMBER,
    full_name: str = "",
    channels: Sequence[str] = (),
    invited_by: User | None = None,
    user: User | None = None,
    days: int | None = None,
) -> tuple[Invitation, str]:
    """Create one invitation; returns it and its link (the only time the token exists in clear)."""
    token, digest = _new_token()
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=Role(role),
        full_name=full_name,
        channels=list(channels),
        token_hash=digest,
        expires_at=_expiry(days),
        invited_by=invited_by,
        user=user,
    )
    return invitation, invitation_url(token)


class LinkRecipient(Protocol):
    """What a set-password link needs of its user: a ``User``, or a user an
    import has just written in bulk without building a model instance."""

    pk: UUID
    tenant_id: UUID | None
    email: str
    full_name: str
    role: str


_LINK_FIELDS = ("id", "tenant", "email", "full_name", "role", "token_hash", "user")


def set_password_links_issue(
    *, users: Sequence[LinkRecipient], invited_by: User | None = None, days: int | None = None
) -> dict[UUID, str]:
    """Set-password links for existing users, in bulk: ``{user id: url}``.

    Preconditions: every user exists and belongs to a tenant. Writes one
    invitation per user in a single bulk insert (``COPY`` on PostgreSQL), so
    it is fit for imports of any size.
    """
    now = timezone.now()
    expires_at = _expiry(days)
    links: dict[UUID, str] = {}
    rows = []
    for user in users:
        token, digest = _new_token()
        links[user.pk] = invitation_url(token)
        rows.append((uuid.uuid4(), user.tenant_id, user.email, user.full_name, user.role, digest, user.pk))
    constants = {
        "channels": [],
        "expires_at": expires_at,
        "invited_by": invited_by.pk if invited_by is not None else None,
        "created_at": now,
        "updated_at": now,
    }
    rows_insert(Invitation, _LINK_FIELDS, rows, constants=constants)
    return links
