"""One-time, expiring links that let a person set a password.

Two kinds share one page (``/invite/<token>``) and one accept endpoint:

- **Invitations** for people without an account: a row (role, channels,
  expiry, revocation) behind a random token of which only a SHA-256 is
  stored. Accepting creates the user. They live here.
- **Set-password links** for accounts that exist without a password (a
  tenant's first admin, imported users): nothing is stored
  (:mod:`onboarding.set_password` issues and checks them).

This module resolves a token to either kind and accepts it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.models import User, normalize_email
from accounts.services import EMAIL_UNAVAILABLE, user_create, user_update
from audit.services import audit_object
from channels_app.models import Channel
from channels_app.services import channel_members_add
from chatplatform.errors import ApplicationError
from onboarding.mail import MailReceipt, mail_after_commit
from onboarding.models import Invitation, InvitationStatus
from onboarding.set_password import SET_PASSWORD_PREFIX, invitation_url, set_password_token_valid
from tenants import rls
from tenants.models import Tenant
from tenants.roles import Role


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expiry(days: int | None) -> datetime:
    return timezone.now() + timedelta(days=days or settings.INVITATION_DAYS)


# -- invitations ---------------------------------------------------------------------


def _check_channels(tenant: Tenant, slugs: Sequence[str]) -> list[str]:
    slugs = list(dict.fromkeys(slugs))
    # Direct conversations have fixed members: nobody is invited into one.
    known = set(
        Channel.objects.ordinary().filter(tenant=tenant, slug__in=slugs).values_list("slug", flat=True)
    )
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise ApplicationError(
            f"Unknown channels: {', '.join(unknown)}.",
            code="unknown_channels",
            fields={"channels": [f"No such channel in this tenant: {slug}" for slug in unknown]},
        )
    return slugs


@dataclass(frozen=True)
class NewInvitation:
    """A created invitation, its link (the only time the token exists in clear) and
    the receipt of its mail (``sent`` stays None when no mail was asked for)."""

    invitation: Invitation
    url: str
    mail: MailReceipt


@transaction.atomic
def invitation_create(
    *,
    tenant: Tenant,
    email: str,
    role: str = Role.MEMBER,
    full_name: str = "",
    channels: Sequence[str] = (),
    invited_by: User | None = None,
    days: int | None = None,
    send: bool = True,
) -> NewInvitation:
    """Invite ``email`` to ``tenant``: 400 ``email_taken`` if it is an account of
    ``tenant``; an address with an account elsewhere gets an ordinary-looking
    invitation whose mail tells the owner instead, and whose link is refused.

    Returns the invitation, its link and the receipt of its mail.
    Earlier pending invitations for the same address in the tenant are revoked,
    so only the newest link works. Mails the link when ``send`` (after commit).
    Preconditions: the caller may grant ``role``.
    """
    email = normalize_email(email)
    owner = _account_owner(tenant, email)
    slugs = _check_channels(tenant, channels)
    Invitation.objects.filter(tenant=tenant, email=email, accepted_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
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
    )
    audit_object(invitation, "invitation.created", {"email": [None, email], "role": [None, invitation.role]})
    url = invitation_url(token)
    receipt = _invitation_mail(invitation, url, owner_elsewhere=owner is not None) if send else MailReceipt()
    return NewInvitation(invitation=invitation, url=url, mail=receipt)


def _account_owner(tenant: Tenant, email: str) -> User | None:
    """The account that already has ``email`` anywhere on the platform, if any;
    400 ``email_taken`` if it is an account of ``tenant``."""
    # Across tenants by design: an address is one account on the whole platform.
    with rls.bypass():
        owner = User.objects.filter(email=email).only("tenant_id").first()
    if owner is not None and owner.tenant_id == tenant.pk:
        # The inviter's own directory shows this account: saying so reveals nothing.
        raise ApplicationError(EMAIL_UNAVAILABLE, code="email_taken", fields={"email": [EMAIL_UNAVAILABLE]})
    return owner


def _invitation_mail(invitation: Invitation, url: str, *, owner_elsewhere: bool) -> MailReceipt:
    """Mail the invitation's link (after commit), or tell the address's owner instead."""
    tenant, email, full_name = invitation.tenant, invitation.email, invitation.full_name
    if owner_elsewhere:
        # Taken in another tenant or by staff: the answer and the row look like any
        # invitation's, so a tenant admin cannot probe for accounts elsewhere. Its
        # owner hears of it instead, with no link (accepting one would be refused).
        body = (
            f"Hello,\n\nSomeone at {tenant.name} tried to invite this address to their chat. "
            "You already have an account on this platform, so nothing was changed and no link "
            "was made for you. If you want to join them, ask them to invite another address.\n"
        )
        subject = f"An invitation to {tenant.name}"
    else:
        body = (
            f"Hello{' ' + full_name if full_name else ''},\n\n"
            f"Open this link to join {tenant.name}'s chat and choose your password:\n\n{url}\n\n"
            f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        )
        subject = f"You are invited to {tenant.name}"
    return mail_after_commit(subject, body, email, tenant, about=f"invitation {invitation.pk}")


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
    audit_object(invitation, "invitation.revoked")
    return invitation


# -- using a link ------------------------------------------------------------------------


class InvalidInvitation(ApplicationError):
    default_code = "invalid_invitation"


@dataclass(frozen=True)
class Link:
    """What a valid link leads to: an invitation, or an account to set a password for."""

    tenant: Tenant
    email: str
    full_name: str
    invitation: Invitation | None = None
    user: User | None = None

    @property
    def sets_password(self) -> bool:
        return self.user is not None


_STATUS_WORDS = {
    InvitationStatus.ACCEPTED: "already been used",
    InvitationStatus.REVOKED: "been revoked",
    InvitationStatus.EXPIRED: "expired",
}


def link_for_token(token: str, *, lock: bool = False) -> Link:
    """The link behind a token, or an error saying why it cannot be used."""
    token = token or ""
    link = _set_password_link(token, lock=lock) if token.startswith(SET_PASSWORD_PREFIX) else None
    if link is None:
        link = _invitation_link(token, lock=lock)
    if not link.tenant.is_active:
        raise ApplicationError("This organization is suspended.", code="tenant_suspended", status_code=403)
    return link


def _set_password_link(token: str, *, lock: bool) -> Link:
    uid, _, signed = token.removeprefix(SET_PASSWORD_PREFIX).partition(".")
    try:
        user_id = UUID(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError):
        raise InvalidInvitation("This link is not valid.") from None
    users = User.objects.select_related("tenant").filter(pk=user_id, tenant__isnull=False)
    user = (users.select_for_update(of=("self",)) if lock else users).first()
    if user is None or not set_password_token_valid(user, signed):
        raise InvalidInvitation("This link has expired or has already been used.", code="link_expired")
    if not user.is_active:
        raise InvalidInvitation("This account is deactivated.", code="user_inactive")
    return Link(tenant=user.tenant, email=user.email, full_name=user.full_name, user=user)


def _invitation_link(token: str, *, lock: bool) -> Link:
    invitations = Invitation.objects.select_related("tenant").filter(token_hash=token_digest(token))
    invitation = (invitations.select_for_update(of=("self",)) if lock else invitations).first()
    if invitation is None:
        raise InvalidInvitation("This link is not valid.")
    if invitation.status != InvitationStatus.PENDING:
        raise InvalidInvitation(
            f"This link has {_STATUS_WORDS[invitation.status]}.", code=f"invitation_{invitation.status}"
        )
    if User.objects.filter(email=invitation.email).exists():
        # The address has an account (elsewhere, or made since): the page and the accept
        # endpoint both say the link is not usable, and no more, to whoever holds it.
        raise InvalidInvitation("This link is not valid.")
    return Link(
        tenant=invitation.tenant,
        email=invitation.email,
        full_name=invitation.full_name,
        invitation=invitation,
    )


@transaction.atomic
def invitation_accept(*, token: str, password: str, full_name: str = "") -> User:
    """Use a link: set the account's password, or create the invited user (with
    its role and channels). Works once; concurrent uses are serialised by a row
    lock on the account or the invitation."""
    if not password:
        raise ApplicationError(
            "Choose a password.", code="invalid_password", fields={"password": ["This field is required."]}
        )
    link = link_for_token(token, lock=True)
    if link.user is not None:
        data: dict[str, Any] = {"password": password}
        if full_name and full_name != link.user.full_name:
            data["full_name"] = full_name
        return user_update(user=link.user, data=data)

    invitation = link.invitation
    assert invitation is not None
    user = user_create(
        tenant=invitation.tenant,
        email=invitation.email,
        full_name=full_name or invitation.full_name,
        role=invitation.role,
        password=password,
    )
    for channel in Channel.objects.ordinary().filter(tenant=invitation.tenant, slug__in=invitation.channels):
        channel_members_add(channel=channel, user_ids=[user.pk])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    audit_object(invitation, "invitation.accepted", {"user": [None, str(user.pk)]})
    return user
