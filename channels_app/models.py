"""Channels and who is in them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q

from chatplatform.models import ImmutableFieldsMixin, TimestampedModel
from chatplatform.validators import validate_name
from tenants.models import Tenant, slug_validator
from tenants.roles import Role
from tenants.scoping import Actor, TenantScopedQuerySet

CHANNEL_SLUG_MAX_LENGTH = 64
# Every channel is a "messaging" channel in the chat service.
CHAT_CHANNEL_TYPE = "messaging"
# A direct conversation holds its starter and 1 to this many others.
DIRECT_MAX_OTHERS = 8


class ChannelKind(models.TextChoices):
    CHANNEL = "channel", "Channel"
    DIRECT = "direct", "Direct conversation"


class ChannelVisibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private"


class ChannelRole(models.TextChoices):
    MEMBER = "member", "Member"
    MODERATOR = "moderator", "Moderator"


def direct_key_for(user_ids: Iterable[uuid.UUID]) -> str:
    """The key of a direct conversation: a digest of its sorted member ids, so the
    same people in any order (and with repeats) give the same key."""
    joined = ",".join(sorted({str(user_id) for user_id in user_ids}))
    return hashlib.sha256(joined.encode()).hexdigest()


class ChannelQuerySet(TenantScopedQuerySet):
    def visible_to(self, actor: Actor) -> ChannelQuerySet:
        """The channels an actor may reach by id.

        Staff and admins reach all of a tenant's channels, direct conversations
        included (an admin may delete one). Moderators reach every ordinary
        channel and the direct conversations they are in; members reach public
        channels and the private ones (direct conversations included) they
        belong to. Lists narrow this further: see ``channels_app.selectors``.
        """
        queryset = self.for_actor(actor)
        if actor.is_platform_staff or actor.role == Role.ADMIN:
            return queryset
        membership = Exists(Membership.objects.filter(channel=OuterRef("pk"), user_id=actor.pk))
        if actor.role == Role.MODERATOR:
            return queryset.filter(Q(kind=ChannelKind.CHANNEL) | Q(membership))
        return queryset.filter(Q(visibility=ChannelVisibility.PUBLIC) | Q(membership))

    def ordinary(self) -> ChannelQuerySet:
        return self.filter(kind=ChannelKind.CHANNEL)

    def direct(self) -> ChannelQuerySet:
        return self.filter(kind=ChannelKind.DIRECT)


class Channel(ImmutableFieldsMixin, TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="channels")
    slug = models.CharField(
        max_length=CHANNEL_SLUG_MAX_LENGTH,
        validators=[slug_validator],
        help_text="Unique within the tenant; immutable after creation.",
    )
    name = models.CharField(max_length=100, validators=[validate_name])
    description = models.TextField(blank=True, max_length=2000)
    visibility = models.CharField(
        max_length=16, choices=ChannelVisibility.choices, default=ChannelVisibility.PUBLIC
    )
    kind = models.CharField(
        max_length=16,
        choices=ChannelKind.choices,
        default=ChannelKind.CHANNEL,
        help_text="A direct conversation is private, has fixed members and is found by them.",
    )
    direct_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Direct conversations: a digest of the sorted member ids, unique in the tenant.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    member_count = models.PositiveIntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="Kept by the database: triggers on the membership table count every insert and "
        "delete, whoever makes it (services, imports, cascades, the console).",
    )

    immutable_fields = ("slug", "tenant_id", "kind", "direct_key")

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="channel_slug_unique_per_tenant"),
            models.CheckConstraint(
                condition=Q(visibility__in=ChannelVisibility.values), name="channel_visibility_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=ChannelKind.values), name="channel_kind_valid"),
            # A direct conversation is private and has its key; an ordinary channel has none.
            models.CheckConstraint(
                condition=(
                    Q(kind=ChannelKind.CHANNEL, direct_key="")
                    | (Q(kind=ChannelKind.DIRECT, visibility=ChannelVisibility.PRIVATE) & ~Q(direct_key=""))
                ),
                name="channel_direct_shape",
            ),
            # One direct conversation per set of people: two concurrent starts cannot make two.
            models.UniqueConstraint(
                fields=["tenant", "direct_key"],
                condition=Q(kind=ChannelKind.DIRECT),
                name="channel_direct_key_unique_per_tenant",
            ),
        ]
        indexes = [
            # Lists are ordered by name within a tenant: a page is read off this index.
            models.Index(fields=["tenant", "name", "id"], name="channel_tenant_name_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.slug}"

    # What the audit log records of it (audit.services.audit_object).
    audit_target_type = "channel"

    @property
    def audit_label(self) -> str:
        return f"#{self.slug}"

    @property
    def audit_tenant(self) -> Any:
        return self.tenant

    def save(self, *args: Any, **kwargs: Any) -> None:
        # ``member_count`` belongs to the database's triggers: an update never
        # writes back the value this instance happened to load.
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "member_count"
            ]
        super().save(*args, **kwargs)

    @property
    def is_direct(self) -> bool:
        return self.kind == ChannelKind.DIRECT

    @property
    def chat_id(self) -> str:
        return channel_chat_id(self.id)

    @property
    def cid(self) -> str:
        return f"{CHAT_CHANNEL_TYPE}:{self.chat_id}"


def channel_chat_id(pk: uuid.UUID | str) -> str:
    """A channel's id in the chat service from its primary key (the row may be
    gone): immutable, globally unique, 32 characters."""
    return (uuid.UUID(pk) if isinstance(pk, str) else pk).hex


class Membership(TimestampedModel):
    """A user in a channel. Triggers on this table keep ``Channel.member_count``
    (migration 0004). SQLite drops a table's triggers when a migration rebuilds
    it: a migration that alters this table must create them again."""

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
        if self.channel_id and self.channel.is_direct:
            raise ValidationError({"channel": "A direct conversation's members are fixed."})
