"""Messages (with their thread state and reaction counts kept on them) and
reactions."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from chatengine.models.base import ID_MAX_LENGTH, ROLE_MAX_LENGTH, StorableValues
from chatengine.models.channels import Channel
from chatengine.models.users import ChatUser


class MessageType(models.TextChoices):
    REGULAR = "regular"
    REPLY = "reply"
    DELETED = "deleted"
    SYSTEM = "system"


class Message(StorableValues):
    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="messages")
    type = models.CharField(max_length=16, default=MessageType.REGULAR)
    text = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    mentioned_user_ids = models.JSONField(default=list, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    show_in_channel = models.BooleanField(default=False)
    quoted_message = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    silent = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    pinned_at = models.DateTimeField(null=True, blank=True)
    pinned_by = models.ForeignKey(
        ChatUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pin_expires = models.DateTimeField(null=True, blank=True)
    # Thread state of a parent, kept current on every reply.
    reply_count = models.PositiveIntegerField(default=0)
    deleted_reply_count = models.PositiveIntegerField(default=0)
    thread_participant_ids = models.JSONField(default=list, blank=True)
    # {type: {count, sum_scores, first_reaction_at, last_reaction_at}}, kept current on every reaction.
    reaction_groups = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    message_text_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Channel history and its pagination: (created_at, id) is the page key.
            models.Index(fields=["channel", "created_at", "id"], name="chatengine_message_history"),
            models.Index(fields=["parent", "created_at", "id"], name="chatengine_message_thread"),
            models.Index(
                fields=["channel", "pinned_at"], name="chatengine_message_pinned", condition=Q(pinned=True)
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def cid(self) -> str:
        return self.channel_id

    @property
    def in_channel_list(self) -> bool:
        """Whether the message appears in the channel's history (not only in its thread)."""
        return self.parent_id is None or self.show_in_channel


class Reaction(StorableValues):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="reactions")
    type = models.CharField(max_length=ROLE_MAX_LENGTH)
    score = models.PositiveIntegerField(default=1)
    emoji_code = models.CharField(max_length=64, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "type"], name="chatengine_reaction_unique")
        ]
        indexes = [models.Index(fields=["message", "created_at"], name="chatengine_reaction_latest")]

    def __str__(self) -> str:
        return f"{self.type} by {self.user_id} on {self.message_id}"
