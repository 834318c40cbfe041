"""Channels and their members, each member with its channel role and its
read state."""

from __future__ import annotations

from django.db import models

from chatengine.models.base import (
    CHANNEL_ID_MAX_LENGTH,
    ID_MAX_LENGTH,
    ROLE_MAX_LENGTH,
    TEAM_MAX_LENGTH,
    StorableValues,
)
from chatengine.models.users import ChatUser


class Channel(StorableValues):
    cid = models.CharField(primary_key=True, max_length=2 * CHANNEL_ID_MAX_LENGTH + 1)
    type = models.CharField(max_length=CHANNEL_ID_MAX_LENGTH)
    channel_id = models.CharField(max_length=CHANNEL_ID_MAX_LENGTH)
    team = models.CharField(max_length=TEAM_MAX_LENGTH, blank=True, default="")
    created_by = models.ForeignKey(
        ChatUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Custom data (``name``, ``image``, anything else the caller sends), flattened in responses.
    custom = models.JSONField(default=dict, blank=True)
    frozen = models.BooleanField(default=False)
    disabled = models.BooleanField(default=False)
    config_overrides = models.JSONField(default=dict, blank=True)
    # Denormalised so lists sort and page on a column.
    member_count = models.PositiveIntegerField(default=0)
    message_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    truncated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["type", "channel_id"], name="chatengine_channel_type_id"),
        ]
        indexes = [
            models.Index(fields=["team", "last_message_at"], name="chatengine_channel_team_lma"),
            models.Index(fields=["last_message_at"], name="chatengine_channel_lma"),
            models.Index(fields=["updated_at"], name="chatengine_channel_updated"),
        ]

    def __str__(self) -> str:
        return self.cid


class ChannelRole(models.TextChoices):
    MEMBER = "channel_member"
    MODERATOR = "channel_moderator"


class Member(StorableValues):
    """A channel member, with its read state (Stream keeps both per member)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="memberships")
    channel_role = models.CharField(max_length=ROLE_MAX_LENGTH, default=ChannelRole.MEMBER)
    custom = models.JSONField(default=dict, blank=True)
    banned = models.BooleanField(default=False)
    shadow_banned = models.BooleanField(default=False)
    notifications_muted = models.BooleanField(default=False)
    invited = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    pinned_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    last_read = models.DateTimeField()
    last_read_message_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    unread_messages = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "user"], name="chatengine_member_unique")]
        indexes = [models.Index(fields=["user", "channel"], name="chatengine_member_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.channel_id}"

    @property
    def is_moderator(self) -> bool:
        return self.channel_role == ChannelRole.MODERATOR
