"""Issuing, accepting and revoking invitations and set-password links."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User, normalize_email
from accounts.services import user_create, user_update
from audit.services import audit_record
from channels_app.models import Channel
from channels_app.services import channel_members_add
from chatplatform.errors import ApplicationError
from onboarding.bulk import rows_insert
from onboarding.models import Invitation, InvitationStatus
from tenants.models import Tenant
from tenants.roles import Role

logger = logging.getLogger(__name__)


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    """The link a person opens to set a password (and accept the invitation)."""
    return f"{settings.SITE_URL}/invite/{token}"


def _expiry(days: int | None) -> datetime:
    return timezone.now() + timedelta(days=days or settings.INVITATION_DAYS)


def _audit(invitation: Invitation, action: str, changes: dict | None = None) -> None:
    audit_record(
        action=action,
        target_type="invitation",
        target_id=invitation.pk,
        target_repr=invitation.email,
        tenant=invitation.tenant,
        changes=changes,
    )


def _check_channels(tenant: Tenant, slugs: Sequence[str]) -> list[str]:
    slugs = list(dict.fromkeys(slugs))
    known = set(Channel.objects.filter(tenant=tenant, slug__in=slugs).values_list("slug", flat=True))
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise ApplicationError(
            f"Unknown channels: {', '.join(unknown)}.",
            code="unknown_channels",
            fields={"channels": [f"No such channel in this tenant: {slug}" for slug in unknown]},
        )
    return slugs


@transaction.atomic
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
    send: bool = True,
) -> tuple[Invitation, str]:
    """Invite ``email`` to ``tenant`` (or, with ``user``, let that account set a password).

    Returns the invitation and its link: the only time the token exists in clear.
    Earlier pending invitations for the same address in the tenant are revoked,
    so only the newest link works. Mails the link when ``send`` (after commit).
    Preconditions: the caller may grant ``role``.
    """
    email = normalize_email(email)
    if user is None and User.objects.filter(email=email).exists():
        raise ApplicationError(
            "A user with this email already exists.",
            code="email_taken",
            fields={"email": ["A user with this email already exists."]},
        )
    slugs = _check_channels(tenant, channels)
    now = timezone.now()
    Invitation.objects.filter(tenant=tenant, email=email, accepted_at=None, revoked_at=None).update(
        revoked_at=now
    )
    token, digest = _new_token()
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=Role(role),
        full_name=full_name,
        channels=slugs,
        token_hash=digest,
        expires_at=_expiry(days),
        invited_by=invited_by,
        user=user,
    )
    _audit(invitation, "invitation.created", {"email": [None, email], "role": [None, invitation.role]})
    url = invitation_url(token)
    if send:
        transaction.on_commit(lambda: _mail(invitation, url))
    return invitation, url


def _mail(invitation: Invitation, url: str) -> None:
    subject = (
        f"Set your password for {invitation.tenant.name}"
        if invitation.user_id
        else f"You are invited to {invitation.tenant.name}"
    )
    body = (
        f"Hello{' ' + invitation.full_name if invitation.full_name else ''},\n\n"
        f"Open this link to set your password and join {invitation.tenant.name}'s chat:\n\n{url}\n\n"
        f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    try:
        send_mail(subject, body, None, [invitation.email])
    except OSError:
        logger.exception("invitation mail to an invitee of %s failed", invitation.tenant.slug)


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
    invitation per user in a single bulk insert (``COPY`` on PostgreSQL) and
    sends no mail, so it is fit for imports of any size.
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


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    if invitation.status != InvitationStatus.PENDING:
        raise ApplicationError(
            f"This invitation is {invitation.status}.",
            code=f"invitation_{invitation.status}",
            status_code=409,
        )
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    _audit(invitation, "invitation.revoked")
    return invitation


class InvalidInvitation(ApplicationError):
    default_code = "invalid_invitation"


def invitation_for_token(token: str) -> Invitation:
    """The pending invitation behind a token, or InvalidInvitation saying why not."""
    invitation = (
        Invitation.objects.select_related("tenant", "user")
        .filter(token_hash=token_digest(token or ""))
        .first()
    )
    if invitation is None:
        raise InvalidInvitation("This link is not valid.")
    if invitation.status != InvitationStatus.PENDING:
        raise InvalidInvitation(
            f"This link has {_status_words[invitation.status]}.", code=f"invitation_{invitation.status}"
        )
    if not invitation.tenant.is_active:
        raise ApplicationError("This organization is suspended.", code="tenant_suspended", status_code=403)
    return invitation


_status_words = {
    InvitationStatus.ACCEPTED: "already been used",
    InvitationStatus.REVOKED: "been revoked",
    InvitationStatus.EXPIRED: "expired",
}


@transaction.atomic
def invitation_accept(*, token: str, password: str, full_name: str = "") -> User:
    """Use a link: set the account's password, or create the invited user (with
    its role and channels). Works once; concurrent uses are serialised."""
    if not password:
        raise ApplicationError(
            "Choose a password.", code="invalid_password", fields={"password": ["This field is required."]}
        )
    invitation = invitation_for_token(token)
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("tenant", "user")
        .get(pk=invitation.pk)
    )
    if invitation.status != InvitationStatus.PENDING:
        raise InvalidInvitation(
            f"This link has {_status_words[invitation.status]}.", code=f"invitation_{invitation.status}"
        )
    if invitation.user_id is not None:
        user = invitation.user
        if not user.is_active:
            raise InvalidInvitation("This account is deactivated.", code="user_inactive")
        data = {"password": password}
        if full_name and full_name != user.full_name:
            data["full_name"] = full_name
        user = user_update(user=user, data=data)
    else:
        user = user_create(
            tenant=invitation.tenant,
            email=invitation.email,
            full_name=full_name or invitation.full_name,
            role=invitation.role,
            password=password,
        )
        channels = Channel.objects.filter(tenant=invitation.tenant, slug__in=invitation.channels)
        for channel in channels:
            channel_members_add(channel=channel, user_ids=[user.pk])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    _audit(invitation, "invitation.accepted", {"user": [None, str(user.pk)]})
    return user
