"""Set-password links for accounts that exist without a password (a tenant's
first admin, imported users). Nothing is stored: the token is an HMAC (keyed
from ``SECRET_KEY``) over the account's id, its current password hash and the
time of issue, as Django's password-reset tokens are, so it stops working once
a password is set and expires after ``INVITATION_DAYS``. Issuing 100,000 of
them for an import writes nothing.

They open the same page as invitations (:func:`invitation_url`), which tells
the two apart by :data:`SET_PASSWORD_PREFIX`; :mod:`onboarding.invitations`
resolves and accepts both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from django.conf import settings
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, int_to_base36, urlsafe_base64_encode

from accounts.models import User
from onboarding.mail import MailReceipt, mail_after_commit

SET_PASSWORD_PREFIX = "p."  # noqa: S105  (random invitation tokens never contain a dot)


def invitation_url(token: str) -> str:
    """The link a person opens to set a password (and accept an invitation)."""
    return f"{settings.SITE_URL}/invite/{token}"


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


def set_password_token_valid(user: LinkRecipient, signed: str) -> bool:
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
        url=url, mail=mail_after_commit(subject, body, user.email, tenant, about=f"user {user.pk}")
    )
