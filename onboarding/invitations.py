"""One-time, expiring links that let a person set a password.

Two kinds share one page (``/invite/<token>``) and one accept endpoint:

- **Invitations** for people without an account: a row (role, channels,
  expiry, revocation) behind a random token of which only a SHA-256 is
  stored. Accepting creates the user.
- **Set-password links** for accounts that exist without a password (a
  tenant's first admin, imported users): nothing is stored. The token is
  an HMAC (keyed from ``SECRET_KEY``) over the account's id, its current
  password hash and the time of issue, as Django's password-reset tokens are,
  so it stops working once a password is set and expires after
  ``INVITATION_DAYS``. Issuing 100,000 of them for an import writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, int_to_base36, urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import User, normalize_email
from accounts.services import EMAIL_UNAVAILABLE, user_create, user_update
from audit.services import audit_object
from channels_app.models import Channel
from channels_app.services import channel_members_add
from chatplatform.errors import ApplicationError
from onboarding.models import Invitation, InvitationStatus
from tenants import rls
from tenants.models import Tenant
from tenants.roles import Role

logger = logging.getLogger(__name__)

SET_PASSWORD_PREFIX = "p."  # noqa: S105  (random invitation tokens never contain a dot)


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    """The link a person opens to set a password (and accept an invitation)."""
    return f"{settings.SITE_URL}/invite/{token}"


def _expiry(days: int | None) -> datetime:
    return timezone.now() + timedelta(days=days or settings.INVITATION_DAYS)


# -- set-password links ------------------------------------------------------------


class LinkRecipient(Protocol):
    """What a set-password link needs of its account: a ``User``, or a user an
    import has just written in bulk without building a model instance."""

    pk: UUID
    password: str


def _signing_keys() -> list[bytes]:
    """Keys derived from SECRET_KEY (and its fallbacks, so links survive a key rotation)."""
    return [
        hashlib.sha256(b"onboarding.set-password:" + key.encode()).digest()
        for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]


def _signature(key: bytes, user: LinkRecipient, issued: int) -> str:
    # Setting a password changes the hash, which ends the link: one use.
    return hmac.digest(key, f"{user.pk}|{user.password}|{issued}".encode(), "sha256")[:16].hex()


def _set_password_token(user: LinkRecipient, key: bytes, issued: int) -> str:
    uid = urlsafe_base64_encode(force_bytes(str(user.pk)))
    return f"{SET_PASSWORD_PREFIX}{uid}.{int_to_base36(issued)}-{_signature(key, user, issued)}"


def _set_password_token_valid(user: LinkRecipient, signed: str) -> bool:
    issued_b36, _, signature = signed.partition("-")
    try:
        issued = base36_to_int(issued_b36)
    except ValueError:
        return False
    age = time.time() - issued
    if not -60 <= age <= settings.INVITATION_DAYS * 24 * 3600:
        return False
    return any(hmac.compare_digest(_signature(key, user, issued), signature) for key in _signing_keys())


def set_password_url(user: LinkRecipient) -> str:
    """A one-time link that lets ``user`` set its password; valid INVITATION_DAYS."""
    return invitation_url(_set_password_token(user, _signing_keys()[0], int(time.time())))


def set_password_links_issue(*, users: Sequence[LinkRecipient]) -> dict[UUID, str]:
    """Set-password links for existing accounts, in bulk: ``{user id: url}``.

    Writes nothing and sends no mail, so it is fit for imports of any size
    (the loop is ``set_password_url`` with the shared parts computed once).
    """
    key, issued = _signing_keys()[0], int(time.time())
    start = f"{invitation_url(SET_PASSWORD_PREFIX)}"
    stamp = int_to_base36(issued)
    links: dict[UUID, str] = {}
    for user in users:
        uid = base64.urlsafe_b64encode(str(user.pk).encode()).rstrip(b"=").decode()
        links[user.pk] = f"{start}{uid}.{stamp}-{_signature(key, user, issued)}"
    return links


@dataclass(frozen=True)
class SentLink:
    """A link, and the receipt of the mail that carries it."""

    url: str
    mail: MailReceipt


def set_password_link_send(*, user: User) -> SentLink:
    """Mail ``user`` a set-password link (after commit) and return it with the mail's receipt."""
    tenant = user.tenant
    if tenant is None:
        raise ValueError("Platform staff have no tenant to join: set their password in the console.")
    url = set_password_url(user)
    subject = f"Set your password for {tenant.name}"
    body = (
        f"Hello{' ' + user.full_name if user.full_name else ''},\n\n"
        f"Open this link to set your password and join {tenant.name}'s chat:\n\n{url}\n\n"
        f"The link works once and expires in {settings.INVITATION_DAYS} days.\n"
    )
    return SentLink(
        url=url, mail=_mail_after_commit(subject, body, user.email, tenant, about=f"user {user.pk}")
    )


@dataclass
class MailReceipt:
    """Whether a mail went out. Mail leaves only once the rows it speaks of are
    committed, so this is ``None`` until then; after it, True or False."""

    sent: bool | None = None


def _mail_after_commit(subject: str, body: str, to: str, tenant: Tenant, *, about: str) -> MailReceipt:
    receipt = MailReceipt()

    def send() -> None:
        receipt.sent = _mail(subject, body, to, tenant, about=about)

    transaction.on_commit(send)
    return receipt


def _mail(subject: str, body: str, to: str, tenant: Tenant, *, about: str) -> bool:
    """Send, and say whether it worked. Runs after commit, where an exception would
    turn a done change into a 500 and lose the link it made: any failure (the server,
    the network, a header the mail library refuses) is logged and reported instead."""
    try:
        send_mail(subject, body, None, [to])
    except Exception:
        # No address in the log: the tenant and the record are enough to find it.
        logger.exception("mail for %s in %s not sent", about, tenant.slug)
        return False
    return True


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
    # Across tenants by design: an address is one account on the whole platform.
    with rls.bypass():
        owner = User.objects.filter(email=email).only("tenant_id").first()
    if owner is not None and owner.tenant_id == tenant.pk:
        # The inviter's own directory shows this account: saying so reveals nothing.
        raise ApplicationError(EMAIL_UNAVAILABLE, code="email_taken", fields={"email": [EMAIL_UNAVAILABLE]})
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
    )
    audit_object(invitation, "invitation.created", {"email": [None, email], "role": [None, invitation.role]})
    url = invitation_url(token)
    receipt = MailReceipt()
    if send and owner is not None:
        # Taken in another tenant or by staff: the answer and the row look like any
        # invitation's, so a tenant admin cannot probe for accounts elsewhere. Its
        # owner hears of it instead, with no link (accepting one would be refused).
        body = (
            f"Hello,\n\nSomeone at {tenant.name} tried to invite this address to their chat. "
            "You already have an account on this platform, so nothing was changed and no link "
            "was made for you. If you want to join them, ask them to invite another address.\n"
        )
        subject = f"An invitation to {tenant.name}"
        receipt = _mail_after_commit(subject, body, email, tenant, about=f"invitation {invitation.pk}")
    elif send:
        body = (
            f"Hello{' ' + full_name if full_name else ''},\n\n"
            f"Open this link to join {tenant.name}'s chat and choose your password:\n\n{url}\n\n"
            f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        )
        subject = f"You are invited to {tenant.name}"
        receipt = _mail_after_commit(subject, body, email, tenant, about=f"invitation {invitation.pk}")
    return NewInvitation(invitation=invitation, url=url, mail=receipt)


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
    if user is None or not _set_password_token_valid(user, signed):
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
