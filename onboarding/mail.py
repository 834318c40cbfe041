"""Mail about links and invitations, sent only once what it speaks of is committed."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.mail import send_mail
from django.db import transaction

from tenants.models import Tenant

logger = logging.getLogger(__name__)


@dataclass
class MailReceipt:
    """Whether a mail went out. Mail leaves only once the rows it speaks of are
    committed, so this is ``None`` until then; after it, True or False."""

    sent: bool | None = None


def mail_after_commit(subject: str, body: str, to: str, tenant: Tenant, *, about: str) -> MailReceipt:
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
