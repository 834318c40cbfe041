from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from chatplatform.api.serializers import InputSerializer, RequestSerializer, timestamp
from chatplatform.validators import validate_name
from tenants.roles import Role


class UserSerializer(serializers.ModelSerializer):
    """A user as the API shows it. Never carries password material."""

    tenant = serializers.UUIDField(source="tenant_id", read_only=True, allow_null=True)
    tenant_slug = serializers.SerializerMethodField()
    tenant_name = serializers.SerializerMethodField()
    chat_user_id = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "tenant",
            "tenant_slug",
            "tenant_name",
            "role",
            "is_active",
            "is_staff",
            "chat_user_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, user: User) -> dict[str, Any]:
        # Callers load the user with its tenant (authentication does): no query of its own.
        tenant = user.tenant if user.tenant_id else None
        return {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "tenant": user.tenant_id if tenant else None,
            "tenant_slug": tenant.slug if tenant else None,
            "tenant_name": tenant.name if tenant else None,
            "role": user.role,
            "is_active": user.is_active,
            "is_staff": user.is_staff,
            "chat_user_id": user.chat_user_id,
            "created_at": timestamp(user.created_at),
            "updated_at": timestamp(user.updated_at),
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_tenant_slug(self, user: User) -> str | None:
        return user.tenant.slug if user.tenant else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_tenant_name(self, user: User) -> str | None:
        return user.tenant.name if user.tenant else None


class CallsSettingsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Whether the user's organization allows calls.")
    max_participants = serializers.IntegerField(help_text="Most people in one call (a mesh).")


class MeSerializer(UserSerializer):
    """The signed-in user, with what its organization allows it."""

    calls = CallsSettingsSerializer(read_only=True)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "calls"]
        read_only_fields = fields

    def to_representation(self, user: User) -> dict[str, Any]:
        calls = {
            "enabled": user.tenant is not None and user.tenant.calls_enabled,
            "max_participants": settings.CALLS_MAX_PARTICIPANTS,
        }
        return {**super().to_representation(user), "calls": calls}


class LoginSerializer(InputSerializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class LoginResponseSerializer(serializers.Serializer):
    user = MeSerializer()
    access = serializers.CharField(
        help_text="Access JWT for `Authorization: Bearer`; also set as an HttpOnly cookie. "
        "The refresh token travels only in its HttpOnly cookie."
    )


class RefreshSerializer(InputSerializer):
    refresh = serializers.CharField(
        required=False, help_text="Omit it to use the refresh cookie (then send X-CSRFToken)."
    )


class RefreshResponseSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(
        required=False,
        help_text="The rotated refresh token, returned in the body only when it was sent in the body.",
    )


class LogoutSerializer(RefreshSerializer):
    pass


class UserListFilterSerializer(RequestSerializer):
    search = serializers.CharField(required=False, max_length=200)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
    tenant = serializers.UUIDField(required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class UserCreateSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        required=False,
        max_length=4096,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Optional: without one the user cannot log in until a password is set.",
    )
    full_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", validators=[validate_name]
    )
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)
    tenant = serializers.UUIDField(
        required=False, help_text="Platform staff: required. Tenant users: omit it (own tenant)."
    )


class UserUpdateSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254, required=False)
    full_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, validators=[validate_name]
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    password = serializers.CharField(
        required=False, max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Nothing to update.")
        return attrs
