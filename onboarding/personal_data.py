"""Exporting one person's data (data subject access requests)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from audit.models import AuditEvent
from audit.services import audit_record
from onboarding.models import Invitation


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything we hold about one person, for a data subject access request.

    Password hashes and invitation tokens are never included; the chat
    service's copy (messages) is exported from the chat service itself.
    """
    data = {
        "user": _account(user),
        "tenant": {"id": str(user.tenant.pk), "name": user.tenant.name, "slug": user.tenant.slug}
        if user.tenant
        else None,
        "memberships": _memberships(user),
        "invitations": _invitations(user),
        "audit_events": _audit_events(user),
    }
    audit_record(
        action="export.user",
        target_type="user",
        target_id=user.pk,
        target_repr=user.email,
        tenant=user.tenant if user.tenant_id else None,
    )
    return data


def _account(user: User) -> dict[str, Any]:
    return {
        "id": str(user.pk),
        "chat_user_id": user.chat_user_id,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "has_password": user.has_usable_password(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
    }


def _memberships(user: User) -> list[dict[str, Any]]:
    return [
        {
            "channel": m.channel.slug,
            "channel_name": m.channel.name,
            "role": m.role,
            "since": m.created_at.isoformat(),
        }
        for m in user.memberships.select_related("channel").order_by("channel__slug")
    ]


def _invitations(user: User) -> list[dict[str, Any]]:
    return [
        {
            "email": i.email,
            "role": i.role,
            "status": i.status.value,
            "created_at": i.created_at.isoformat(),
            "expires_at": i.expires_at.isoformat(),
            "accepted_at": i.accepted_at.isoformat() if i.accepted_at else None,
        }
        for i in Invitation.objects.filter(email=user.email).order_by("created_at")
    ]


def _audit_events(user: User) -> list[dict[str, Any]]:
    """What the person did and what was done to their account."""
    events = AuditEvent.objects.filter(actor_id=user.pk) | AuditEvent.objects.filter(target_id=str(user.pk))
    return [
        {
            "at": e.created_at.isoformat(),
            "action": e.action,
            "actor": e.actor_email or None,
            "target": f"{e.target_type}:{e.target_repr or e.target_id}",
            "changes": e.changes,
            "ip": e.ip,
        }
        for e in events.order_by("created_at", "id")
    ]
