"""Invitations: one-time, expiring links that bring a person without an
account into a tenant (accepting creates the user with the invited role and
channels). Only a SHA-256 of the token is stored. Accounts that exist without a
password get signed set-password links instead, which need no row (see
``onboarding.set_password``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chatplatform.models import TimestampedModel
from chatplatform.validators import validate_name
from tenants.models import Tenant
from tenants.roles import Role
from tenants.scoping import TenantScopedQuerySet


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


# An invitation's status is the first of these that holds; pending when none
# does. The one table behind ``Invitation.status`` and ``with_status``.
_ENDED_BY = (
    (InvitationStatus.ACCEPTED, "accepted_at"),
    (InvitationStatus.REVOKED, "revoked_at"),
)


class InvitationQuerySet(TenantScopedQuerySet):
    def with_status(self, status: str) -> InvitationQuerySet:
        """The invitations whose :attr:`Invitation.status` is ``status``, in SQL."""
        now = timezone.now()
        earlier = Q()
        for ended, field in _ENDED_BY:
            if status == ended:
                return self.filter(earlier & Q(**{f"{field}__isnull": False}))
            earlier &= Q(**{field: None})
        expired = Q(expires_at__lte=now)
        return self.filter(earlier & (expired if status == InvitationStatus.EXPIRED else ~expired))


class Invitation(TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The (tenant, email) index serves tenant lookups.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations", db_index=False)
    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=150, blank=True, validators=[validate_name])
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    channels = models.JSONField(
        default=list, blank=True, help_text="Slugs of channels to join on acceptance."
    )
    token_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Not indexed: bulk imports write one row per user and pay for every index.
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email_idx")]
        # A constraint, not unique=True: equality lookups only, so no pattern-ops index.
        constraints = [models.UniqueConstraint(fields=["token_hash"], name="invitation_token_hash_unique")]

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant.slug} ({self.status})"

    # What the audit log records of it (audit.services.audit_object).
    audit_target_type = "invitation"

    @property
    def audit_label(self) -> str:
        return self.email

    @property
    def audit_tenant(self) -> Any:
        return self.tenant

    @property
    def status(self) -> InvitationStatus:
        for ended, field in _ENDED_BY:
            if getattr(self, field) is not None:
                return ended
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING
