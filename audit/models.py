"""The audit log: an append-only record of who changed what, when, from where.

Rows name tenants and actors by id and by their human names at the time, with
no foreign keys: the record outlives what it describes (a deleted tenant's
history stays). The database refuses UPDATE and DELETE on the table (see the
migration's triggers); the model refuses them too.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from tenants.scoping import TenantScopedQuerySet


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(TenantScopedQuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    tenant_id = models.UUIDField(null=True, blank=True)
    tenant_slug = models.CharField(max_length=40, blank=True)
    actor_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_email = models.CharField(
        max_length=254, blank=True, help_text="Empty for the system (commands, workers)."
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [old, new]}")
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant_id", "-created_at"], name="audit_tenant_time_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")
