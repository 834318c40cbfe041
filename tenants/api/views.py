"""``/api/tenants/``: onboarding and lifecycle (platform staff), renaming (tenant admin)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from chatplatform.api.permissions import STAFF, role_key
from tenants.api.mixins import TenantScopedViewSet
from tenants.api.permissions import TenantPermission
from tenants.api.serializers import TenantCreateSerializer, TenantSerializer, TenantUpdateSerializer
from tenants.models import Tenant, TenantQuerySet
from tenants.selectors import tenants_with_counts
from tenants.services import (
    tenant_create,
    tenant_delete,
    tenant_reactivate,
    tenant_suspend,
    tenant_update,
)


@extend_schema_view(
    list=extend_schema(
        description="Platform staff: every tenant. Anyone else: their own tenant only.",
        responses=TenantSerializer(many=True),
    ),
    retrieve=extend_schema(
        description="One tenant, with its user and channel counts.", responses=TenantSerializer
    ),
    create=extend_schema(
        description="Platform staff: onboard an organization. Its slug (the chat team) never changes.",
        request=TenantCreateSerializer,
        responses={201: TenantSerializer},
    ),
    update=extend_schema(
        description=(
            "Replace the editable fields. Tenant admins may rename and turn calls on or off; only "
            "platform staff change the status."
        ),
        request=TenantUpdateSerializer,
        responses=TenantSerializer,
    ),
    partial_update=extend_schema(
        description=(
            "Change some fields. Tenant admins may rename and turn calls on or off; only platform "
            "staff change the status."
        ),
        request=TenantUpdateSerializer,
        responses=TenantSerializer,
    ),
    destroy=extend_schema(
        description=(
            "Platform staff: delete the tenant with its users and channels, here and in the chat service."
        ),
        responses={204: None},
    ),
)
@extend_schema(tags=["tenants"])
class TenantViewSet(TenantScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    permission_classes = [TenantPermission]
    serializer_class = TenantSerializer

    def get_scoped_queryset(self) -> TenantQuerySet:
        return tenants_with_counts(Tenant.objects.order_by("name"))

    def _respond(self, tenant: Tenant, code: int = status.HTTP_200_OK) -> Response:
        tenant = self.get_queryset().get(pk=tenant.pk)  # re-read with its counts
        return Response(TenantSerializer(tenant).data, status=code)

    def create(self, request: Request) -> Response:
        serializer = TenantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = tenant_create(**serializer.validated_data)
        return self._respond(tenant, status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        tenant = self.get_object()
        serializer = TenantUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if "status" in serializer.validated_data and role_key(self.actor) != STAFF:
            raise PermissionDenied("Only platform staff can change a tenant's status.")
        return self._respond(tenant_update(tenant=tenant, **serializer.validated_data))

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        tenant_delete(tenant=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, pk: str | None = None) -> Response:
        """Suspend: its users are signed out on their next request and cannot sign in."""
        return self._respond(tenant_suspend(tenant=self.get_object()))

    @extend_schema(request=None, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str | None = None) -> Response:
        """Reactivate a suspended tenant: its users may sign in and chat again."""
        return self._respond(tenant_reactivate(tenant=self.get_object()))
