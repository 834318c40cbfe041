"""The outbox that carries every control-plane change to the chat service,
what was last synced per entity, and the webhooks the chat service sent us."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class EntityType(models.TextChoices):
    USER = "user", "User"
    CHANNEL = "channel", "Channel"
    CHANNEL_MEMBERS = "channel_members", "Channel members"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CLAIMED = "claimed", "In progress"
    DEAD = "dead", "Dead"


class OutboxEntry(models.Model):
    """ "Entity X changed; make the chat service match the database."

    Rows carry no payload: the worker sends the entity's *current* state, so
    any number of changes coalesce into one call and a replay is harmless. At
    most one pending row exists per entity (a partial unique index; writers
    insert with ON CONFLICT DO NOTHING). There is deliberately no foreign key:
    the row must outlive the entity so that deletions reach the chat service.
    """

    entity_type = models.CharField(max_length=32, choices=EntityType.choices)
    entity_id = models.CharField(max_length=64)
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=64, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "outbox entry"
        verbose_name_plural = "outbox entries"
        ordering = ["next_attempt_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity_type", "entity_id"],
                condition=Q(status="pending"),
                name="outbox_one_pending_per_entity",
            ),
            models.CheckConstraint(condition=Q(status__in=OutboxStatus.values), name="outbox_status_valid"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}:{self.entity_id} ({self.status})"


class SyncState(models.Model):
    """What the chat service was last told about an entity.

    ``digest`` lets the worker skip calls that would change nothing; ``data``
    keeps what a diff needs (a channel's member roles, a user's deactivation).
    """

    entity_type = models.CharField(max_length=32, choices=EntityType.choices)
    entity_id = models.CharField(max_length=64)
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    digest = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity_type", "entity_id"], name="syncstate_unique_entity"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}:{self.entity_id} synced {self.synced_at:%Y-%m-%d %H:%M:%S}"


class WebhookEvent(models.Model):
    """A webhook from the chat service, kept when it may mean drift (something
    changed or disappeared on the chat side) for reconcile or an admin to act on."""

    webhook_id = models.CharField(max_length=128, unique=True)
    # SHA-256 of the signed (uncompressed) body. X-Webhook-Id is not signed, so
    # a captured webhook resent under a new id is caught by this instead.
    # Empty for events received before it was kept.
    body_digest = models.CharField(max_length=64, null=True, blank=True, unique=True)
    event_type = models.CharField(max_length=64, db_index=True)
    team = models.CharField(max_length=100, blank=True, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} ({self.webhook_id})"
