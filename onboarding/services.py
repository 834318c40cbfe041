"""Onboarding a whole organization in one step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from accounts.models import User
from accounts.services import user_create
from channels_app.models import Channel
from channels_app.services import channel_create
from onboarding.invitations import set_password_link_send
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


@transaction.atomic
def organization_onboard(
    *,
    name: str,
    slug: str | None,
    admin_email: str,
    admin_name: str,
    channel_names: Sequence[str],
) -> OnboardingResult:
    """Create a tenant, its first admin, its default channels (everyone in them), and a
    set-password link for the admin (mailed after commit). All or nothing: any
    error rolls the whole organization back. The chat service follows through
    the outbox."""
    tenant = tenant_create(name=name, slug=slug or None)
    admin = user_create(tenant=tenant, email=admin_email, full_name=admin_name, role=Role.ADMIN)
    channels = [
        channel_create(tenant=tenant, name=channel_name, created_by=None, member_ids=[admin.pk])
        for channel_name in dict.fromkeys(channel_names)
    ]
    link = set_password_link_send(user=admin)
    return OnboardingResult(tenant=tenant, admin=admin, admin_link=link, channels=channels)
