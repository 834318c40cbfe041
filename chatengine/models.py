"""The chat engine's own tables: the Stream data model (app, users, channel
types, channels, members with their read state, messages, reactions) plus the
registry of live WebSocket connections and what each one watches.

Ids are Stream's: user ids and message ids are chosen by the caller, a channel
is named by its ``cid`` (``type:id``). Nothing here refers to the control plane.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Q
from django.utils import timezone

from chatengine.errors import input_error
from chatplatform.models import TimestampedModel

ID_MAX_LENGTH = 255
CHANNEL_ID_MAX_LENGTH = 64
TEAM_MAX_LENGTH = 100
ROLE_MAX_LENGTH = 64


class StorableValues(models.Model):
    """Refuses, with Stream's input error, a value its column cannot hold: text
    longer than its ``max_length`` or with a NUL character, an integer outside
    its column's range. PostgreSQL raises on each (a 500 once it reaches the
    database), SQLite keeps the first two and overflows on big integers; the
    check runs before every save, whichever service writes, with the same limits
    on every database (PostgreSQL's, Django's portable ranges)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.check_storable(kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def check_storable(self, fields: Iterable[str] | None = None) -> None:
        names = None if fields is None else set(fields)
        for field in self._meta.concrete_fields:
            if names is not None and not {field.name, field.attname} & names:
                continue
            problem = _unstorable(field, getattr(self, field.attname))
            if problem:
                raise input_error(f"{field.name} {problem}")


def _unstorable(field: models.Field, value: Any) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "cannot contain NUL characters"
        if isinstance(field, models.CharField) and field.max_length and len(value) > field.max_length:
            return f"is too long: at most {field.max_length} characters"
    elif isinstance(value, int) and not isinstance(value, bool):
        bounds = BaseDatabaseOperations.integer_field_ranges.get(field.get_internal_type())
        if bounds and not bounds[0] <= value <= bounds[1]:
            return f"must be between {bounds[0]} and {bounds[1]}"
    return None


class App(StorableValues):
    """The one app this engine serves (Stream's ``GET/PATCH /app``)."""

    multi_tenant_enabled = models.BooleanField(default=False)
    # Tokens issued before this instant are refused, for every user.
    revoke_tokens_issued_before = models.DateTimeField(null=True, blank=True)
    # Everything else PATCH /app accepts, stored as sent and echoed by GET /app.
    settings = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "app"


class Role(TimestampedModel, StorableValues):
    """A custom role (``POST /roles``); the built-in ones are not stored."""

    name = models.CharField(primary_key=True, max_length=ROLE_MAX_LENGTH)

    def __str__(self) -> str:
        return self.name


class ChannelType(TimestampedModel, StorableValues):
    """A channel type: its feature flags (``config``) and permission grants."""

    name = models.CharField(primary_key=True, max_length=CHANNEL_ID_MAX_LENGTH)
    config = models.JSONField(default=dict, blank=True)
    grants = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name


class ChatUser(TimestampedModel, StorableValues):
    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    role = models.CharField(max_length=ROLE_MAX_LENGTH, default="user")
    # Ordered as given; ``UserTeam`` rows index them for filtering.
    teams = models.JSONField(default=list, blank=True)
    teams_role = models.JSONField(default=dict, blank=True)
    name = models.CharField(max_length=ID_MAX_LENGTH, blank=True)
    image = models.TextField(blank=True)
    language = models.CharField(max_length=16, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    banned = models.BooleanField(default=False)
    invisible = models.BooleanField(default=False)
    last_active = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    revoke_tokens_issued_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["name"], name="chatengine_user_name")]

    def __str__(self) -> str:
        return self.id

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None

    def role_in_team(self, team: str, *, multi_tenant: bool) -> str:
        """The user's role on a channel of ``team``: its team role when
        multi-tenancy is on and it has one there, else its global role."""
        if multi_tenant and team and team in (self.teams_role or {}):
            return str(self.teams_role[team])
        return self.role


class DeletedUser(StorableValues):
    """The id of a hard-deleted user, and when it went: its tokens stay refused
    (a client connecting with one would otherwise bring the user back, without
    its teams). A server that creates the id again carries the time over as the
    new user's ``revoke_tokens_issued_before``."""

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    deleted_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.id


class UserTeam(StorableValues):
    """Index of ``ChatUser.teams`` so team filters are plain joins on every database."""

    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="team_links")
    team = models.CharField(max_length=TEAM_MAX_LENGTH)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="chatengine_userteam_unique")]
        indexes = [models.Index(fields=["team", "user"], name="chatengine_userteam_team")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team}"


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


class TaskStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Task(TimestampedModel, StorableValues):
    """An asynchronous operation as Stream reports it (``GET /tasks/{id}``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    result = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


# A connection not heard from for this long is dead (the client pings every
# 25 s and gives up on a silent server after 35 s).
CONNECTION_STALE_AFTER = timedelta(seconds=90)


class ConnectionQuerySet(models.QuerySet):
    def live(self) -> ConnectionQuerySet:
        return self.filter(last_seen__gte=timezone.now() - CONNECTION_STALE_AFTER)

    def stale(self) -> ConnectionQuerySet:
        return self.filter(last_seen__lt=timezone.now() - CONNECTION_STALE_AFTER)


class Connection(StorableValues):
    """A live WebSocket connection. Kept in the database so a REST request served
    by any process can subscribe the caller's socket to a channel."""

    id = models.CharField(primary_key=True, max_length=64)
    # The consumer's channel-layer address.
    channel_name = models.CharField(max_length=255)
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="connections")
    created_at = models.DateTimeField(auto_now_add=True)
    # Refreshed by the client's pings (every 25 s). A process that dies cannot
    # clean up after its sockets; rows it leaves behind go stale and are ignored.
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ConnectionQuerySet.as_manager()

    def __str__(self) -> str:
        return self.id


class Watch(StorableValues):
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="watches")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="watches")
    # The socket asked for its members' presence (``presence: true`` on the
    # query or watch): only such sockets hear ``user.presence.changed``.
    presence = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "channel"], name="chatengine_watch_unique")
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} watches {self.channel_id}"


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


class UploadKind(models.TextChoices):
    FILE = "file"
    IMAGE = "image"


def _upload_path(upload: Upload, filename: str) -> str:
    return f"chat-uploads/{upload.id}/{filename}"


class Upload(StorableValues):
    """A file or image a user sent to a channel (``POST .../file|image``).

    Served at a URL holding its ``id``, 256 random bits: like Stream's CDN
    links, whoever has the link (every reader of the message) can open it.
    Goes with its channel.
    """

    id = models.CharField(primary_key=True, max_length=64)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="uploads")
    user = models.ForeignKey(ChatUser, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=8, choices=UploadKind.choices)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    data = models.FileField(upload_to=_upload_path, max_length=400)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} in {self.channel_id}"
