"""Onboarding a whole organization in one step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from accounts.models import User
from accounts.services import user_create
from channels_app.models import Channel
from channels_app.services import channel_create, channel_members_add
from chatplatform.errors import ApplicationError
from onboarding.imports import USERS, ImportFileError, RowStatus, detect_format, read_records, users_import
from onboarding.mail import MailReceipt
from onboarding.set_password import set_password_link_send
from tenants.models import Tenant
from tenants.roles import Role
from tenants.services import tenant_create


@dataclass
class OnboardingResult:
    tenant: Tenant
    admin: User
    admin_link: str
    channels: list[Channel]
    imported_users: list[User] = field(default_factory=list)
    mails: list[MailReceipt] = field(default_factory=list)

    @property
    def admin_mail(self) -> MailReceipt:
        return self.mails[0]

    @property
    def mails_not_sent(self) -> int:
        """Filled once the onboarding has committed: mail leaves only then."""
        return sum(1 for receipt in self.mails if receipt.sent is False)


USERS_CSV_MAX_ROWS = 5000  # larger organizations go through `manage.py import_users`


@transaction.atomic
def organization_onboard(
    *,
    name: str,
    slug: str | None,
    admin_email: str,
    admin_name: str,
    channel_names: Sequence[str],
    users_csv: bytes | None = None,
) -> OnboardingResult:
    """Create a tenant, its first admin, its default channels, the users of
    ``users_csv`` (the ``import_users`` format), everyone in the default
    channels, and set-password links for all of them (mailed after commit).

    All or nothing: one bad CSV row, or any other error, rolls the whole
    organization back (ApplicationError naming every bad row). The chat
    service follows through the outbox.
    """
    tenant = tenant_create(name=name, slug=slug or None)
    admin = user_create(tenant=tenant, email=admin_email, full_name=admin_name, role=Role.ADMIN)
    channels = [
        channel_create(tenant=tenant, name=channel_name, created_by=None, member_ids=[admin.pk])
        for channel_name in dict.fromkeys(channel_names)
    ]
    imported = _import_users(tenant, users_csv) if users_csv else []
    for channel in channels:
        # Join the rest; a channel role the file gave someone stays.
        joined = set(channel.memberships.values_list("user_id", flat=True))
        newcomers = [user.pk for user in imported if user.pk not in joined]
        if newcomers:
            channel_members_add(channel=channel, user_ids=newcomers)
    sent = [set_password_link_send(user=user) for user in [admin, *imported]]
    return OnboardingResult(
        tenant=tenant,
        admin=admin,
        admin_link=sent[0].url,
        channels=channels,
        imported_users=imported,
        mails=[link.mail for link in sent],
    )


def _import_users(tenant: Tenant, data: bytes) -> list[User]:
    try:
        records = read_records(data, schema=USERS, fmt=detect_format("users.csv", data))
    except ImportFileError as exc:
        raise ApplicationError(exc.message, code=exc.code, fields={"users_csv": [exc.message]}) from exc
    if len(records) > USERS_CSV_MAX_ROWS:
        raise ApplicationError(
            f"At most {USERS_CSV_MAX_ROWS} users here; import larger files with manage.py import_users.",
            fields={"users_csv": [f"The file has {len(records)} rows."]},
        )
    result = users_import(tenant=tenant, records=records, issue_links=False)
    if result.failed:
        raise ApplicationError(
            "Some users cannot be imported; nothing was created.",
            code="invalid_users",
            fields={"users_csv": [f"line {row.line}: {row.key}: {row.detail}" for row in result.failed]},
        )
    emails = [row.key for row in result.rows if row.status == RowStatus.CREATED]
    return list(User.objects.filter(tenant=tenant, email__in=emails).select_related("tenant"))
