"""What users and moderators decide about others: user and channel mutes,
user blocks, bans and flags."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from chatengine.models.base import StorableValues
from chatengine.models.channels import Channel
from chatengine.models.messages import Message
from chatengine.models.users import ChatUser


class ExpiringQuerySet(models.QuerySet):
    def active(self) -> ExpiringQuerySet:
        """Rows in force: without an end, or ending later (mutes, bans)."""
        return self.filter(Q(expires__isnull=True) | Q(expires__gt=timezone.now()))


class UserMute(StorableValues):
    """``user`` muted ``target``: its messages do not count as unread for ``user``."""

    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="mutes")
    target = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="+")
    expires = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = ExpiringQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "target"], name="chatengine_user_mute_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} muted {self.target_id}"


class ChannelMute(StorableValues):
    """``user`` muted ``channel``: new messages there do not count as unread for it."""

    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="channel_mutes")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="mutes")
    expires = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = ExpiringQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="chatengine_channel_mute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} muted {self.channel_id}"


# A block acts in conversations of just two members: the blocker and the one it blocked.
CONVERSATION_MEMBERS = 2


class UserBlock(StorableValues):
    """``user`` blocked ``target``: in the conversations of just the two of
    them, ``user`` stops hearing from ``target`` (see ``services.blocks``)."""

    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="blocks")
    target = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="blocked_by")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "target"], name="chatengine_user_block_unique"),
            models.CheckConstraint(
                condition=~Q(user=models.F("target")), name="chatengine_user_block_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} blocked {self.target_id}"


class Ban(StorableValues):
    """``user`` may read but not write in ``channel`` (everywhere, without one),
    until ``expires`` or until unbanned."""

    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="bans")
    channel = models.ForeignKey(Channel, null=True, on_delete=models.CASCADE, related_name="bans")
    banned_by = models.ForeignKey(ChatUser, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=255, blank=True)
    expires = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = ExpiringQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "channel"], condition=Q(channel__isnull=False), name="chatengine_ban_channel"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(channel__isnull=True), name="chatengine_ban_global"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} banned from {self.channel_id or 'everywhere'}"


class Flag(StorableValues):
    """``user`` reported a message or a user to the moderators (``reason`` optional)."""

    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="flags")
    message = models.ForeignKey(Message, null=True, on_delete=models.CASCADE, related_name="flags")
    target_user = models.ForeignKey(ChatUser, null=True, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=255, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "message"], condition=Q(message__isnull=False), name="chatengine_flag_message"
            ),
            models.UniqueConstraint(
                fields=["user", "target_user"],
                condition=Q(target_user__isnull=False),
                name="chatengine_flag_user",
            ),
            models.CheckConstraint(
                condition=Q(message__isnull=False) ^ Q(target_user__isnull=False),
                name="chatengine_flag_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} flagged {self.message_id or self.target_user_id}"
