from __future__ import annotations

from rest_framework import serializers

from accounts.api.serializers import UserSerializer
from chatplatform.api.serializers import InputSerializer
from chatplatform.validators import validate_name
from onboarding.models import Invitation, InvitationStatus
from tenants.roles import Role


class InvitationSerializer(serializers.ModelSerializer):
    tenant = serializers.UUIDField(source="tenant_id", read_only=True)
    invited_by = serializers.UUIDField(source="invited_by_id", read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=InvitationStatus.choices, read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "tenant",
            "email",
            "full_name",
            "role",
            "channels",
            "status",
            "expires_at",
            "accepted_at",
            "revoked_at",
            "invited_by",
            "created_at",
        ]
        read_only_fields = fields


class InvitationCreatedSerializer(InvitationSerializer):
    url = serializers.CharField(
        read_only=True, help_text="The one-time link; shown only now (it is also mailed to the invitee)."
    )
    mail_sent = serializers.BooleanField(
        read_only=True,
        allow_null=True,
        help_text="false: the invitation exists but its mail could not be sent; pass the url on "
        "yourself. null: no mail was asked for.",
    )

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "url", "mail_sent"]
        read_only_fields = fields


class InvitationCreateSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", validators=[validate_name]
    )
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)
    channels = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        max_length=100,
        help_text="Slugs of channels the new user joins on acceptance.",
    )
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=90)
    tenant = serializers.UUIDField(required=False, help_text="Platform staff: required.")


class InvitationListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=InvitationStatus.choices, required=False)
    email = serializers.CharField(required=False, max_length=254)
    tenant = serializers.UUIDField(required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class InvitationAcceptSerializer(InputSerializer):
    token = serializers.CharField(max_length=200)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    full_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", validators=[validate_name]
    )


class InvitationAcceptedSerializer(serializers.Serializer):
    user = UserSerializer()
