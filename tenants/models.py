"""Tenants: the organizations the platform serves."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from chatplatform.models import ImmutableFieldsMixin, TimestampedModel
from chatplatform.validators import validate_name
from tenants.scoping import Actor, TenantScopedQuerySet

SLUG_MAX_LENGTH = 40
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
slug_validator = RegexValidator(
    SLUG_PATTERN,
    "Use lowercase letters, digits and single hyphens (not at the start or end).",
    code="invalid_slug",
)


class TenantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class TenantQuerySet(TenantScopedQuerySet):
    def for_actor(self, actor: Actor) -> TenantQuerySet:
        """The tenants an actor may see: all for platform staff, else its own."""
        if actor.is_platform_staff:
            return self
        if actor.tenant_id is None:
            return self.none()
        return self.filter(pk=actor.tenant_id)

    def active(self) -> TenantQuerySet:
        return self.filter(status=TenantStatus.ACTIVE)


class Tenant(ImmutableFieldsMixin, TimestampedModel):
    """An organization. Its ``slug`` is its name in the chat service (a Stream team)
    and never changes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, validators=[validate_name])
    slug = models.CharField(
        max_length=SLUG_MAX_LENGTH,
        unique=True,
        validators=[slug_validator],
        help_text="Lowercase letters, digits and hyphens; immutable after creation.",
    )
    status = models.CharField(
        max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE, db_index=True
    )

    calls_enabled = models.BooleanField(
        default=True,
        help_text="Whether its people may start and join audio and video calls. Its admins may change it.",
    )

    immutable_fields = ("slug",)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TenantStatus.values), name="tenant_status_valid"),
            models.CheckConstraint(
                condition=Q(slug__regex=r"^[a-z0-9]+(-[a-z0-9]+)*$"), name="tenant_slug_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    # What the audit log records of it (audit.services.audit_object).
    audit_target_type = "tenant"

    @property
    def audit_label(self) -> str:
        return self.slug

    @property
    def audit_tenant(self) -> Any:
        return self

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE
