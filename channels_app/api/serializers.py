from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import User
from channels_app.models import (
    CHANNEL_SLUG_MAX_LENGTH,
    DIRECT_MAX_OTHERS,
    Channel,
    ChannelKind,
    ChannelRole,
    ChannelVisibility,
    Membership,
)
from channels_app.selectors import MemberRow
from chatplatform.api.serializers import InputSerializer, RequestSerializer, timestamp
from chatplatform.validators import validate_name


class ChannelSerializer(serializers.ModelSerializer):
    tenant = serializers.UUIDField(source="tenant_id", read_only=True)
    created_by = serializers.UUIDField(source="created_by_id", read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True)
    is_member = serializers.BooleanField(read_only=True, help_text="Whether the caller is a member.")
    cid = serializers.CharField(read_only=True, help_text="The channel in the chat service: `<type>:<id>`.")
    kind = serializers.ChoiceField(
        choices=ChannelKind.choices,
        read_only=True,
        help_text="`direct`: a private conversation with fixed members, started with "
        "`POST /api/channels/direct`.",
    )

    class Meta:
        model = Channel
        fields = [
            "id",
            "tenant",
            "slug",
            "name",
            "description",
            "visibility",
            "kind",
            "cid",
            "created_by",
            "member_count",
            "is_member",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, channel: Channel) -> dict[str, Any]:
        return {
            "id": channel.pk,
            "tenant": channel.tenant_id,
            "slug": channel.slug,
            "name": channel.name,
            "description": channel.description,
            "visibility": channel.visibility,
            "kind": channel.kind,
            "cid": channel.cid,
            "created_by": channel.created_by_id,
            "member_count": channel.member_count,
            "is_member": channel.is_member,  # type: ignore[attr-defined]  # annotated by the selector
            "created_at": timestamp(channel.created_at),
            "updated_at": timestamp(channel.updated_at),
        }


class ChannelListFilterSerializer(RequestSerializer):
    search = serializers.CharField(required=False, max_length=200)
    visibility = serializers.ChoiceField(choices=ChannelVisibility.choices, required=False)
    kind = serializers.ChoiceField(choices=ChannelKind.choices, required=False)
    joined = serializers.BooleanField(required=False, allow_null=True, default=None)
    tenant = serializers.UUIDField(required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class ChannelCreateSerializer(InputSerializer):
    name = serializers.CharField(max_length=100, validators=[validate_name])
    slug = serializers.CharField(
        max_length=CHANNEL_SLUG_MAX_LENGTH,
        required=False,
        help_text="Unique in the tenant; derived from the name when omitted. Immutable.",
    )
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=ChannelVisibility.choices, default=ChannelVisibility.PUBLIC)
    member_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=1000,
        help_text="Users of the same tenant to add as members.",
    )
    tenant = serializers.UUIDField(required=False, help_text="Platform staff only: the tenant.")


class DirectChannelStartSerializer(InputSerializer):
    user_ids = serializers.ListField(
        child=serializers.UUIDField(),
        min_length=1,
        # The others, plus room for the caller's own id, which is ignored.
        max_length=DIRECT_MAX_OTHERS + 1,
        help_text=f"The other people: 1 to {DIRECT_MAX_OTHERS} active users of your tenant. "
        "You are always in the conversation; your own id is ignored.",
    )


class ChannelUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=100, required=False, validators=[validate_name])
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=ChannelVisibility.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Nothing to update.")
        return attrs


class MemberUserSerializer(serializers.ModelSerializer):
    chat_user_id = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "is_active", "chat_user_id"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    """A ``Membership`` with its user, or a ``MemberRow`` (what bulk adds return)."""

    user = MemberUserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "role", "created_at", "updated_at"]
        read_only_fields = fields

    def to_representation(self, membership: Membership | MemberRow) -> dict[str, Any]:
        user = membership.user
        return {
            "user": {
                "id": user.id,
                "email": user.email,
                "full_name": user.full_name,
                "role": user.role,
                "is_active": user.is_active,
                "chat_user_id": user.chat_user_id,
            },
            "role": membership.role,
            "created_at": timestamp(membership.created_at),
            "updated_at": timestamp(membership.updated_at),
        }


class MembersAddSerializer(InputSerializer):
    user_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=1000)
    role = serializers.ChoiceField(choices=ChannelRole.choices, default=ChannelRole.MEMBER)
