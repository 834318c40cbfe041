"""``/api/invitations/``: invite people, revoke invitations, accept one."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.auth_views import TokenEndpoint
from accounts.api.serializers import UserSerializer
from accounts.throttling import InvitationThrottle, LoginIPThrottle, SetPasswordThrottle
from chatplatform.api.permissions import MANAGERS, MODERATOR, ActionRolePermission, may_grant, role_key
from onboarding.api.serializers import (
    InvitationAcceptedSerializer,
    InvitationAcceptSerializer,
    InvitationCreatedSerializer,
    InvitationCreateSerializer,
    InvitationListFilterSerializer,
    InvitationSerializer,
)
from onboarding.invitations import invitation_accept, invitation_create, invitation_revoke
from onboarding.models import Invitation, InvitationQuerySet, InvitationStatus
from tenants.api.mixins import TenantScopedViewSet
from tenants.roles import grantable_roles
from tenants.scoping import TenantScopedQuerySet


class InvitationPermission(ActionRolePermission):
    """Admins invite any role; moderators invite (and manage invitations of) members."""

    rules = {"list": MANAGERS, "retrieve": MANAGERS, "create": MANAGERS, "revoke": MANAGERS}

    def has_object_permission(self, request: Request, view: object, obj: Invitation) -> bool:
        if not may_grant(request.user, obj.role):  # the invitations it could not have sent
            return False
        return super().has_object_permission(request, view, obj)


@extend_schema_view(
    list=extend_schema(
        description="Invitations of your tenant (moderators: those for members), newest first.",
        parameters=[
            OpenApiParameter("status", str, enum=[s.value for s in InvitationStatus]),
            OpenApiParameter("email", str),
            OpenApiParameter("tenant", UUID, description="Platform staff: only this tenant's."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
    ),
    create=extend_schema(
        description=(
            "Invite someone by email: they get a link to set a password. The answer carries the link once."
        ),
        request=InvitationCreateSerializer,
        responses={201: InvitationCreatedSerializer},
    ),
    retrieve=extend_schema(description="One invitation of your tenant."),
)
@extend_schema(tags=["invitations"])
class InvitationViewSet(TenantScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    permission_classes = [InvitationPermission]
    serializer_class = InvitationSerializer

    def get_scoped_queryset(self) -> TenantScopedQuerySet:
        queryset = Invitation.objects.select_related("tenant")
        if role_key(self.actor) == MODERATOR:  # (members are refused by the rules)
            queryset = queryset.filter(role__in=grantable_roles(self.actor.role))
        return queryset

    def filter_queryset(self, queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
        if self.action != "list":
            return queryset
        params = InvitationListFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        if wanted := filters.get("status"):
            queryset = cast(InvitationQuerySet, queryset).with_status(wanted)  # get_scoped_queryset's
        if email := filters.get("email"):
            queryset = queryset.filter(email__icontains=email)
        if tenant := filters.get("tenant"):
            queryset = queryset.filter(tenant_id=tenant)
        return queryset.order_by("-created_at")

    def create(self, request: Request) -> Response:
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = self.tenant_for_create(data.pop("tenant", None))
        if not may_grant(self.actor, data["role"]):
            raise PermissionDenied("Moderators can only invite members.", code="role_not_allowed")
        created = invitation_create(
            tenant=tenant,
            email=data["email"],
            role=data["role"],
            full_name=data["full_name"],
            channels=data["channels"],
            invited_by=self.actor,
            days=data.get("expires_in_days"),
        )
        # The service has committed, so its mail has been tried: the answer says how it went.
        invitation = created.invitation
        # Two values of this answer only, carried on the instance for its serializer.
        invitation.url = created.url  # type: ignore[attr-defined]
        invitation.mail_sent = created.mail.sent  # type: ignore[attr-defined]
        return Response(InvitationCreatedSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke a pending invitation: its link stops working (409 if it is not pending)."""
        return Response(InvitationSerializer(invitation_revoke(invitation=self.get_object())).data)


class InvitationAcceptView(TokenEndpoint):
    """Public: whoever holds the link's token may use it once."""

    throttle_classes = [LoginIPThrottle, InvitationThrottle, SetPasswordThrottle]

    @extend_schema(
        tags=["invitations"],
        request=InvitationAcceptSerializer,
        responses={201: InvitationAcceptedSerializer},
        description=(
            "Accept an invitation (creates the user with the invited role and channels) or use a "
            "set-password link (sets the existing account's password). 400 `invalid_invitation`, "
            "`invitation_expired`, `invitation_revoked` or `invitation_accepted` when the link cannot "
            "be used; 403 `tenant_suspended`. Throttled per client address and per link (429 with "
            "`Retry-After`)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = invitation_accept(**serializer.validated_data)
        return Response({"user": UserSerializer(user).data}, status=status.HTTP_201_CREATED)
