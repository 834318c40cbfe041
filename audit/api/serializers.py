from __future__ import annotations

from typing import Any

from rest_framework import serializers

from audit.models import AuditEvent
from audit.services import as_change_pairs


class ChangesField(serializers.DictField):
    def to_representation(self, value: dict[str, Any] | None) -> dict[str, Any]:
        return super().to_representation(as_change_pairs(value or {}))


class AuditEventSerializer(serializers.ModelSerializer):
    tenant = serializers.UUIDField(source="tenant_id", read_only=True, allow_null=True)
    actor = serializers.UUIDField(source="actor_id", read_only=True, allow_null=True)
    changes = ChangesField(
        child=serializers.ListField(),
        read_only=True,
        help_text="`{field: [old, new]}`; secrets show as `***`.",
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "tenant",
            "tenant_slug",
            "actor",
            "actor_email",
            "action",
            "target_type",
            "target_id",
            "target_repr",
            "changes",
            "ip",
            "request_id",
        ]
        read_only_fields = fields


class AuditEventFilterSerializer(serializers.Serializer):
    action = serializers.CharField(
        required=False, max_length=64, help_text="Exact, or a prefix ending in '.'."
    )
    actor = serializers.UUIDField(required=False)
    target_type = serializers.CharField(required=False, max_length=32)
    target_id = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    tenant = serializers.UUIDField(required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)
