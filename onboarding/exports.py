"""Export of a tenant as JSON Lines that the imports read back.

One record per line, each with a ``type``: the tenant first (with its first
admin, as ``import_tenants`` wants it), then its channels, then its users with
the channels they belong to (``slug`` for a member, ``slug:moderator`` for a
channel moderator). Never a password hash, and no direct conversation: those
belong to the people in them, who start them again. Feeding the same file to
``import_tenants``, ``import_channels --tenant SLUG`` and ``import_users
--tenant SLUG`` rebuilds the tenant; into the tenant it came from, it changes
nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from accounts.models import User
from audit.services import audit_counts, audit_record
from channels_app.models import Channel, ChannelKind, ChannelRole, Membership
from onboarding.imports import CHANNEL_ROLE_SEPARATOR, CHANNELS, TENANTS, USERS
from onboarding.progress import Progress
from tenants.models import Tenant
from tenants.roles import Role

_CHUNK = 5000


@dataclass(frozen=True)
class ExportCounts:
    users: int
    channels: int
    memberships: int


def record_line(record: dict[str, Any]) -> str:
    """One JSON Lines record: UTF-8 text as it is, no escapes for non-ASCII."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def tenant_record(tenant: Tenant) -> dict[str, Any]:
    """The tenant with its longest-standing active admin (or any admin)."""
    admin = (
        User.objects.for_tenant(tenant)
        .filter(role=Role.ADMIN)
        .order_by("-is_active", "created_at", "email")
        .values("email", "full_name")
        .first()
    ) or {"email": "", "full_name": ""}
    return {
        "type": TENANTS.kind,
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "admin_email": admin["email"],
        "admin_full_name": admin["full_name"],
    }


def channel_token(slug: str, role: str) -> str:
    """How a user record names one of its channels."""
    return slug if role == ChannelRole.MEMBER else f"{slug}{CHANNEL_ROLE_SEPARATOR}{role}"


def channel_record(*, slug: str, name: str, description: str, visibility: str) -> dict[str, Any]:
    return {
        "type": CHANNELS.kind,
        "slug": slug,
        "name": name,
        "description": description,
        "visibility": visibility,
    }


def user_record(
    *, email: str, full_name: str, role: str, is_active: bool, channels: list[str]
) -> dict[str, Any]:
    """A user as ``import_users`` reads it; ``channels`` are :func:`channel_token` values."""
    return {
        "type": USERS.kind,
        "email": email,
        "full_name": full_name,
        "role": role,
        "is_active": is_active,
        "channels": sorted(channels),
    }


class TextOut(Protocol):
    """Where an export goes: a file, a command's output, an HTTP response."""

    def write(self, text: str, /) -> Any: ...


def tenant_export(*, tenant: Tenant, out: TextOut, progress: Progress | None = None) -> ExportCounts:
    """Write ``tenant`` as JSON Lines to ``out`` and record one audit event.

    Reads in chunks, so memory holds the memberships but never all users at once.
    """
    progress = progress or Progress()
    out.write(record_line(tenant_record(tenant)))

    channels = list(
        Channel.objects.for_tenant(tenant)
        .ordinary()
        .order_by("slug")
        .values_list("id", "slug", "name", "description", "visibility")
    )
    slugs = {pk: slug for pk, slug, *_ in channels}
    for _, slug, name, description, visibility in channels:
        out.write(
            record_line(channel_record(slug=slug, name=name, description=description, visibility=visibility))
        )

    member_of: dict[UUID, list[str]] = defaultdict(list)
    memberships = 0
    for user_id, channel_id, role in (
        Membership.objects.filter(channel__tenant=tenant, channel__kind=ChannelKind.CHANNEL)
        .values_list("user_id", "channel_id", "role")
        .iterator(chunk_size=_CHUNK)
    ):
        member_of[user_id].append(channel_token(slugs[channel_id], role))
        memberships += 1

    users = User.objects.for_tenant(tenant)
    total = users.count()
    progress.start("exporting", total)
    count = 0
    for pk, email, full_name, role, is_active in (
        users.order_by("email").values_list("id", "email", "full_name", "role", "is_active").iterator(_CHUNK)
    ):
        record = user_record(
            email=email, full_name=full_name, role=role, is_active=is_active, channels=member_of.get(pk, [])
        )
        out.write(record_line(record))
        count += 1
        if count % _CHUNK == 0:
            progress.advance(_CHUNK)
    progress.finish()
    counts = ExportCounts(users=count, channels=len(channels), memberships=memberships)
    audit_record(
        action="export.tenant",
        target_type="tenant",
        target_id=tenant.pk,
        target_repr=tenant.slug,
        tenant=tenant,
        changes=audit_counts(
            {"users": counts.users, "channels": counts.channels, "memberships": counts.memberships}
        ),
    )
    return counts
