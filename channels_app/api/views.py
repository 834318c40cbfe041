"""``/api/channels/`` and their members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.api.permissions import ChannelPermission
from channels_app.api.serializers import (
    ChannelCreateSerializer,
    ChannelListFilterSerializer,
    ChannelSerializer,
    ChannelUpdateSerializer,
    DirectChannelStartSerializer,
    MembersAddSerializer,
    MembershipSerializer,
)
from channels_app.models import Channel, ChannelQuerySet
from channels_app.selectors import channel_list, channel_member_get, channel_members, channels_visible_to
from channels_app.services import (
    channel_create,
    channel_delete,
    channel_direct_start,
    channel_join,
    channel_member_remove,
    channel_members_add,
    channel_update,
    creator_joins,
)
from chatplatform.api.permissions import MANAGERS, role_key
from tenants.api.mixins import UUID_PATTERN, CompiledListMixin
from tenants.scoping import Actor

LIST_PARAMETERS = [
    OpenApiParameter("search", str, description="Substring of the name or slug."),
    OpenApiParameter("visibility", str, enum=["public", "private"]),
    OpenApiParameter(
        "kind",
        str,
        enum=["channel", "direct"],
        description="`channel`: ordinary channels only; `direct`: only your direct conversations.",
    ),
    OpenApiParameter("joined", bool, description="Only channels the caller is (or is not) a member of."),
    OpenApiParameter("tenant", UUID, description="Platform staff: only this tenant's channels."),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int, description="At most 200."),
]


@extend_schema_view(
    list=extend_schema(
        description=(
            "The channels you may see: public ones of your tenant and those you belong to (admins and "
            "moderators: all but others' conversations)."
        ),
        parameters=LIST_PARAMETERS,
        responses=ChannelSerializer(many=True),
    ),
    retrieve=extend_schema(description="One channel you may see.", responses=ChannelSerializer),
    create=extend_schema(
        description="Admins and moderators: create a channel of your tenant, optionally with members.",
        request=ChannelCreateSerializer,
        responses={201: ChannelSerializer},
    ),
    update=extend_schema(
        description="Admins and moderators: replace the channel's name, description and visibility.",
        request=ChannelUpdateSerializer,
        responses=ChannelSerializer,
    ),
    partial_update=extend_schema(
        description="Admins and moderators: change some of the channel's fields.",
        request=ChannelUpdateSerializer,
        responses=ChannelSerializer,
    ),
    destroy=extend_schema(
        description="Admins and moderators: delete the channel and its history in the chat service.",
        responses={204: None},
    ),
)
@extend_schema(tags=["channels"])
class ChannelViewSet(CompiledListMixin, mixins.RetrieveModelMixin):
    permission_classes = [ChannelPermission]
    serializer_class = ChannelSerializer
    list_filters = ChannelListFilterSerializer

    @property
    def extra_error_codes(self) -> dict[str, list[str]]:
        """For the schema: a direct conversation refuses renames and member changes (409)."""
        if self.action in ("update", "partial_update", "members", "member_remove", "join"):
            return {"put": ["409"], "patch": ["409"], "post": ["409"], "delete": ["409"]}
        return {}

    def scoped_queryset_for(self, actor: Actor) -> ChannelQuerySet:
        # One channel, about to be written or audited under its tenant: joined, not fetched later.
        return channels_visible_to(actor=actor).select_related("tenant")

    def list_queryset(self, actor: Actor, filters: dict[str, Any]) -> ChannelQuerySet:
        return channel_list(actor=actor, filters=filters)

    def _respond(self, channel: Channel, code: int = status.HTTP_200_OK) -> Response:
        channel = self.get_queryset().get(pk=channel.pk)  # re-read with its annotations
        return Response(ChannelSerializer(channel).data, status=code)

    def create(self, request: Request) -> Response:
        serializer = ChannelCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = self.tenant_for_create(data.pop("tenant", None))
        channel = channel_create(tenant=tenant, created_by=self.actor, **data)
        # Shown as written, not read back: only the caller's membership is not on the row.
        channel.is_member = creator_joins(self.actor, tenant)  # type: ignore[attr-defined]
        return Response(ChannelSerializer(channel).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DirectChannelStartSerializer,
        responses={200: ChannelSerializer, 201: ChannelSerializer},
        description="Start a direct conversation with colleagues of your tenant (201), or get the "
        "one you already have with exactly these people (200). It is private and its members "
        "never change.",
    )
    @action(detail=False, methods=["post"])
    def direct(self, request: Request) -> Response:
        serializer = DirectChannelStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel, created = channel_direct_start(
            creator=self.actor, user_ids=serializer.validated_data["user_ids"]
        )
        return self._respond(channel, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        channel = self.get_object()
        serializer = ChannelUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return self._respond(channel_update(channel=channel, data=serializer.validated_data))

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        channel_delete(channel=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        description="The channel's members and their channel roles, paginated.",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses=MembershipSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        description=(
            "Admins and moderators: add users of the tenant with a channel role, all or none; members "
            "already in the channel take the new role."
        ),
        request=MembersAddSerializer,
        responses={201: MembershipSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"])
    def members(self, request: Request, pk: str | None = None) -> Response:
        """GET: the channel's members. POST: add users of the tenant (all or none)."""
        channel = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(channel_members(channel=channel))
            return self.get_paginated_response(MembershipSerializer(page, many=True).data)
        serializer = MembersAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        memberships = channel_members_add(channel=channel, **serializer.validated_data)
        return Response(MembershipSerializer(memberships, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("user_id", UUID, OpenApiParameter.PATH)],
        responses={204: None},
    )
    @action(detail=True, methods=["delete"], url_path=rf"members/(?P<user_id>{UUID_PATTERN})")
    def member_remove(self, request: Request, pk: str | None = None, user_id: str | None = None) -> Response:
        """Remove a member: admins and moderators remove anyone, members only themselves."""
        channel = self.get_object()
        user = channel_member_get(channel=channel, user_id=user_id)
        if user is None:
            raise NotFound()
        if role_key(self.actor) not in MANAGERS and user.pk != self.actor.pk:
            raise PermissionDenied("You can only remove yourself from a channel.")
        channel_member_remove(channel=channel, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: MembershipSerializer, 201: MembershipSerializer})
    @action(detail=True, methods=["post"])
    def join(self, request: Request, pk: str | None = None) -> Response:
        """Join a public channel of your tenant (201; 200 when already a member)."""
        membership, created = channel_join(channel=self.get_object(), user=self.actor)
        return Response(
            MembershipSerializer(membership).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
