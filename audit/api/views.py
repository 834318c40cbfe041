"""``GET /api/audit-events/``: a tenant's history for its admins; everything for staff."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins

from audit.api.serializers import AuditEventFilterSerializer, AuditEventSerializer
from audit.models import AuditEvent, AuditEventQuerySet
from chatplatform.api.permissions import ADMIN, STAFF, ActionRolePermission
from tenants.api.mixins import TenantScopedViewSet


class AuditEventPermission(ActionRolePermission):
    rules = {"list": frozenset({STAFF, ADMIN}), "retrieve": frozenset({STAFF, ADMIN})}


@extend_schema_view(
    list=extend_schema(
        description="Tenant admins: their tenant's history, newest first. Platform staff: every tenant's.",
        parameters=[
            OpenApiParameter("action", str, description="Exact action, or a prefix such as `user.`."),
            OpenApiParameter("actor", UUID),
            OpenApiParameter("target_type", str, enum=["tenant", "user", "channel", "invitation"]),
            OpenApiParameter("target_id", str),
            OpenApiParameter("since", str, description="ISO 8601 date-time."),
            OpenApiParameter("until", str, description="ISO 8601 date-time."),
            OpenApiParameter("tenant", UUID, description="Platform staff: only this tenant's events."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
    ),
    retrieve=extend_schema(description="One audit event."),
)
@extend_schema(tags=["audit"])
class AuditEventViewSet(TenantScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    permission_classes = [AuditEventPermission]
    serializer_class = AuditEventSerializer
    lookup_value_regex = r"[0-9]+"

    def get_scoped_queryset(self) -> AuditEventQuerySet:
        return AuditEvent.objects.all()

    def filter_queryset(self, queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
        if self.action != "list":
            return queryset
        params = AuditEventFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        if action := filters.get("action"):
            queryset = (
                queryset.filter(action__startswith=action)
                if action.endswith(".")
                else queryset.filter(action=action)
            )
        if actor := filters.get("actor"):
            queryset = queryset.filter(actor_id=actor)
        for name in ("target_type", "target_id"):
            if value := filters.get(name):
                queryset = queryset.filter(**{name: value})
        if since := filters.get("since"):
            queryset = queryset.filter(created_at__gte=since)
        if until := filters.get("until"):
            queryset = queryset.filter(created_at__lt=until)
        if tenant := filters.get("tenant"):
            queryset = queryset.filter(tenant_id=tenant)
        return queryset.order_by("-created_at", "-id")
