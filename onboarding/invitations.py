"""Issuing, accepting and revoking invitations and set-password links."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from accounts.models import User
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


def set_password_links_issue(
    *, users: Sequence[User], invited_by: User | None = None, days: int | None = None
) -> dict[UUID, str]:
    """Set-password links for existing users, in bulk: ``{user id: url}``.

    Preconditions: every user belongs to a tenant. Runs one INSERT per 1,000
    users, so it is fit for imports of any size.
    """
    expires_at = _expiry(days)
    links: dict[UUID, str] = {}
    rows = []
    for user in users:
        token, digest = _new_token()
        links[user.pk] = invitation_url(token)
        rows.append(
            Invitation(
                tenant_id=user.tenant_id,
                email=user.email,
                full_name=user.full_name,
                role=user.role,
                token_hash=digest,
                expires_at=expires_at,
                invited_by=invited_by,
                user=user,
            )
        )
    Invitation.objects.bulk_create(rows, batch_size=1000)
    return links
