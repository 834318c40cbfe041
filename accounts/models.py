"""Users: people who log in. Each belongs to one tenant with a role; platform
staff (``is_staff``) act across tenants and need no tenant."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from chatplatform.models import ImmutableFieldsMixin, TimestampedModel
from chatplatform.validators import validate_name
from tenants.models import Tenant
from tenants.roles import Role
from tenants.scoping import Actor, TenantScopedQuerySet


def normalize_email(email: str) -> str:
    """Emails are compared and stored lowercased: one address, one account."""
    return email.strip().lower()


STAFF_HAVE_NO_TENANT = "Platform staff have no tenant: clear the tenant, or leave “staff status” unchecked."
TENANT_REQUIRED = "Everyone but platform staff belongs to a tenant: choose one."


def is_active_admin(role: str | None, is_active: bool) -> bool:
    """Whether a user with this role and state counts as one of the active admins
    every tenant keeps (the API, the console and imports all refuse to lose the last)."""
    return role == Role.ADMIN and is_active


class UserQuerySet(TenantScopedQuerySet):
    def for_actor(self, actor: Actor) -> UserQuerySet:
        """A tenant role never reaches a staff account, even one a bad row put in its
        tenant: it answers like another tenant's user (404), so no tenant admin can
        set a staff password or rename one."""
        queryset = super().for_actor(actor)
        return queryset if actor.is_platform_staff else queryset.filter(is_staff=False)

    def active_admins(self) -> UserQuerySet:
        """The users :func:`is_active_admin` says hold the tenant (one must stay)."""
        return self.filter(role=Role.ADMIN, is_active=True)


# A base built at run time, which mypy cannot follow (the django plugin still types the manager).
class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email(username or ""))

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(ImmutableFieldsMixin, AbstractBaseUser, PermissionsMixin, TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True, help_text="Stored lowercased.")
    full_name = models.CharField(max_length=150, blank=True, validators=[validate_name])
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="users",
        null=True,
        blank=True,
        db_index=False,  # the (tenant, role, is_active) index serves tenant lookups
        help_text="Required for everyone but platform staff. Immutable.",
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Platform staff: may use the admin and act across tenants."
    )
    sessions_revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When every session and chat token issued before ended (a password change or "
        "a deactivation).",
    )

    # Not indexed: nothing lists users by creation time, and bulk imports pay for every index.
    created_at = models.DateTimeField(auto_now_add=True)

    immutable_fields = ("tenant_id",)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]
        constraints = [
            # Unique + always lowercase = unique case-insensitively, with one index.
            models.CheckConstraint(condition=Q(email=Lower("email")), name="user_email_lowercase"),
            models.CheckConstraint(
                condition=Q(tenant__isnull=False) | Q(is_staff=True),
                name="user_tenant_required_unless_staff",
            ),
            # Staff act across tenants from outside them: a staff account inside a
            # tenant would be one its tenant admins could manage (and take over).
            models.CheckConstraint(
                condition=Q(is_staff=False) | Q(tenant__isnull=True),
                name="user_staff_has_no_tenant",
                violation_error_message=STAFF_HAVE_NO_TENANT,
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
        ]
        indexes = [
            models.Index(fields=["tenant", "role", "is_active"], name="user_tenant_role_idx"),
            # The directory is listed by email within a tenant: a page is read off this index.
            # (On PostgreSQL a migration adds trigram indexes for ``search``.)
            models.Index(fields=["tenant", "email"], name="user_tenant_email_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    # What the audit log records of it (audit.services.audit_object).
    audit_target_type = "user"

    @property
    def audit_label(self) -> str:
        return self.email

    @property
    def audit_tenant(self) -> Any:
        return self.tenant if self.tenant_id else None

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)
        if self.is_staff and self.tenant_id is not None:
            # On is_staff: the one field both console forms show (tenant is read-only on change).
            raise ValidationError({"is_staff": STAFF_HAVE_NO_TENANT}, code="staff_with_tenant")
        if not self.is_staff and self.tenant_id is None:
            raise ValidationError({"tenant": TENANT_REQUIRED}, code="tenant_required")

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def is_platform_staff(self) -> bool:
        return self.is_staff

    @property
    def chat_user_id(self) -> str:
        """This user's id in the chat service: immutable and globally unique."""
        return str(self.id)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class SignInCounter(models.Model):
    """How many sign-in attempts one client address or one account made in one
    fixed window, when there is no Redis to count them (``accounts/throttling.py``).
    A row per key and window; it is incremented in place by one upsert, so every
    process sees the same count, and removed once its window has passed."""

    key = models.CharField(max_length=100, primary_key=True)
    count = models.PositiveIntegerField()
    expires_at = models.BigIntegerField(db_index=True, help_text="Unix time the window ends.")

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
