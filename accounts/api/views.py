"""``/api/users/``: the tenant's directory and its management."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import UserPermission, check_can_create, check_can_update
from accounts.api.serializers import (
    UserCreateSerializer,
    UserListFilterSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from accounts.models import User, UserQuerySet
from accounts.selectors import user_list
from accounts.services import user_create, user_delete, user_update
from accounts.tokens import set_auth_cookies, token_pair_issue
from tenants.api.mixins import CompiledListMixin
from tenants.scoping import Actor

LIST_PARAMETERS = [
    OpenApiParameter("search", str, description="Substring of the email or full name."),
    OpenApiParameter("role", str, enum=["admin", "moderator", "member"]),
    OpenApiParameter("is_active", bool),
    OpenApiParameter("tenant", UUID, description="Platform staff: only this tenant's users."),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int, description="At most 200."),
]


@extend_schema_view(
    list=extend_schema(
        description="The directory of your tenant (platform staff: every tenant's), filtered and paginated.",
        parameters=LIST_PARAMETERS,
        responses=UserSerializer(many=True),
    ),
    retrieve=extend_schema(description="One user of your tenant.", responses=UserSerializer),
    create=extend_schema(
        description=(
            "Admins create users of any role, moderators create members. Without a password, the answer "
            "carries a set-password link."
        ),
        request=UserCreateSerializer,
        responses={201: UserSerializer},
    ),
    update=extend_schema(
        description=(
            "Replace a user's editable fields. Nobody changes their own role; a tenant keeps one active "
            "admin (409)."
        ),
        request=UserUpdateSerializer,
        responses=UserSerializer,
    ),
    partial_update=extend_schema(
        description=(
            "Change a user's name, role, password or activity. A new password or a deactivation ends the "
            "user's other sessions."
        ),
        request=UserUpdateSerializer,
        responses=UserSerializer,
    ),
    destroy=extend_schema(
        description="Admins: delete a user here and in the chat service (409 for the last active admin).",
        responses={204: None},
    ),
)
@extend_schema(tags=["users"])
class UserViewSet(CompiledListMixin, mixins.RetrieveModelMixin):
    permission_classes = [UserPermission]
    serializer_class = UserSerializer
    list_filters = UserListFilterSerializer
    extra_error_codes = {"patch": ["409"], "put": ["409"], "delete": ["409"]}

    def scoped_queryset_for(self, actor: Actor) -> UserQuerySet:
        return User.objects.select_related("tenant")

    def list_queryset(self, actor: Actor, filters: dict[str, Any]) -> UserQuerySet:
        return user_list(actor=actor, filters=filters).select_related("tenant")

    def create(self, request: Request) -> Response:
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = self.tenant_for_create(data.get("tenant"))
        check_can_create(self.actor, role=data["role"])
        user = user_create(
            tenant=tenant,
            email=data["email"],
            full_name=data["full_name"],
            role=data["role"],
            password=data.get("password"),
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        target = self.get_object()
        serializer = UserUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        check_can_update(self.actor, target, serializer.validated_data)
        user = user_update(user=target, data=serializer.validated_data)
        response = Response(UserSerializer(user).data)
        if user.pk == self.actor.pk and serializer.validated_data.get("password"):
            # The new password ended every session, this one too: it goes on with a
            # fresh pair in its cookies, as after a login.
            refresh = token_pair_issue(user=user)
            set_auth_cookies(response, refresh, str(refresh.access_token))
        return response

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        user_delete(user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
