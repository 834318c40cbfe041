"""The app itself and what it configures (custom roles, channel types), and
the asynchronous tasks it reports (``GET /tasks/{id}``)."""

from __future__ import annotations

import uuid

from django.db import models

from chatengine.models.base import CHANNEL_ID_MAX_LENGTH, ROLE_MAX_LENGTH, StorableValues
from chatplatform.models import TimestampedModel


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
