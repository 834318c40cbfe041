from __future__ import annotations

from rest_framework import serializers

from chatplatform.api.serializers import InputSerializer
from chatplatform.validators import validate_name
from tenants.models import SLUG_MAX_LENGTH, Tenant, TenantStatus


class TenantSerializer(serializers.ModelSerializer):
    user_count = serializers.IntegerField(read_only=True)
    channel_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Tenant
        fields = [
            "id",
            "name",
            "slug",
            "status",
            "calls_enabled",
            "user_count",
            "channel_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TenantCreateSerializer(InputSerializer):
    name = serializers.CharField(max_length=200, validators=[validate_name])
    slug = serializers.CharField(
        max_length=SLUG_MAX_LENGTH,
        required=False,
        help_text="Lowercase letters, digits and hyphens. Derived from the name when omitted. Immutable.",
    )


class TenantUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=200, required=False, validators=[validate_name])
    status = serializers.ChoiceField(
        choices=TenantStatus.choices, required=False, help_text="Platform staff only."
    )
    calls_enabled = serializers.BooleanField(
        required=False, help_text="Whether its people may start and join calls (staff and its admins)."
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError("Nothing to update.")
        return attrs
