"""Channels and who is in them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q

from chatplatform.models import ImmutableFieldsMixin, TimestampedModel
from tenants.models import Tenant, slug_validator
from tenants.roles import Role
from tenants.scoping import Actor, TenantScopedQuerySet

CHANNEL_SLUG_MAX_LENGTH = 64
# Every channel is a "messaging" channel in the chat service.
CHAT_CHANNEL_TYPE = "messaging"


class ChannelVisibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private"


class ChannelRole(models.TextChoices):
    MEMBER = "member", "Member"
    MODERATOR = "moderator", "Moderator"


class ChannelQuerySet(TenantScopedQuerySet):
    def visible_to(self, actor: Actor) -> ChannelQuerySet:
        """Admins, moderators and staff see all of a tenant's channels; members see
        public channels and the private ones they belong to."""
        queryset = self.for_actor(actor)
        if actor.is_platform_staff or actor.role in (Role.ADMIN, Role.MODERATOR):  # type: ignore[attr-defined]
            return queryset
        membership = Membership.objects.filter(channel=OuterRef("pk"), user_id=actor.pk)  # type: ignore[attr-defined]
        return queryset.filter(Q(visibility=ChannelVisibility.PUBLIC) | Q(Exists(membership)))


class Channel(ImmutableFieldsMixin, TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="channels")
    slug = models.CharField(
        max_length=CHANNEL_SLUG_MAX_LENGTH,
        validators=[slug_validator],
        help_text="Unique within the tenant; immutable after creation.",
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    visibility = models.CharField(
        max_length=16, choices=ChannelVisibility.choices, default=ChannelVisibility.PUBLIC
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    immutable_fields = ("slug", "tenant_id")

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="channel_slug_unique_per_tenant"),
            models.CheckConstraint(
                condition=Q(visibility__in=ChannelVisibility.values), name="channel_visibility_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.slug}"

    @property
    def chat_id(self) -> str:
        """The channel's id in the chat service: immutable, globally unique, 32 chars."""
        return self.id.hex

    @property
    def cid(self) -> str:
        return f"{CHAT_CHANNEL_TYPE}:{self.chat_id}"


class Membership(TimestampedModel):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ChannelRole.choices, default=ChannelRole.MEMBER)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "user"], name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=ChannelRole.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.channel_id} ({self.role})"

    def clean(self) -> None:
        if self.channel_id and self.user_id and self.channel.tenant_id != self.user.tenant_id:
            raise ValidationError({"user": "The user belongs to another tenant than the channel."})
