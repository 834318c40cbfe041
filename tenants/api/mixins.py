"""The API base for tenant-owned resources."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chatplatform.api.listing import ListShape, page_statement
from tenants.models import Tenant
from tenants.scoping import Actor, TenantScopedQuerySet

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class TenantScopedViewSet(viewsets.GenericViewSet, metaclass=ABCMeta):
    """Subclasses implement :meth:`get_scoped_queryset`; the actor's tenant filter
    is applied here, so no view can forget it. Platform staff see every tenant."""

    lookup_value_regex = UUID_PATTERN

    @abstractmethod
    def get_scoped_queryset(self) -> TenantScopedQuerySet:
        """The resource's queryset with its joins; the tenant filter is added for you."""

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.get_scoped_queryset()
        if not isinstance(queryset, TenantScopedQuerySet):
            raise TypeError(f"{type(self).__name__} must return a TenantScopedQuerySet.")
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.for_actor(self.actor)

    @property
    def actor(self) -> Any:
        return self.request.user

    def tenant_for_create(self, tenant_id: UUID | None) -> Tenant:
        """The tenant a new object goes into: the actor's own, or, for platform
        staff, the one the body names. A tenant user naming another tenant is a 400."""
        actor = self.actor
        if actor.is_platform_staff:
            if tenant_id is None:
                raise ValidationError({"tenant": ["This field is required for platform staff."]})
            tenant = Tenant.objects.filter(pk=tenant_id).first()
            if tenant is None:
                raise ValidationError({"tenant": ["No such tenant."]})
            return tenant
        if tenant_id is not None and tenant_id != actor.tenant_id:
            raise ValidationError({"tenant": ["Only your own tenant can be named here."]})
        return actor.tenant


class CompiledListMixin(TenantScopedViewSet):
    """``list`` served from statements compiled once per shape
    (``chatplatform.api.listing``): the hot lists' way, in place of DRF's
    ``ListModelMixin``.

    Subclasses name the serializer that validates the query (``list_filters``)
    and implement :meth:`list_queryset`; the tenant filter is added for you.
    Filters named in ``list_bound_filters`` (free text, ids) are bound as
    parameters; the others (choices, booleans) are part of the shape, so
    ``list_queryset`` may only branch on those, and on the actor's role and
    staff flag, never on the id, the tenant or a bound value.
    """

    list_filters: type[serializers.Serializer]
    list_bound_filters: frozenset[str] = frozenset({"search", "tenant"})

    @abstractmethod
    def list_queryset(self, actor: Actor, filters: dict[str, Any]) -> TenantScopedQuerySet:
        """The list for ``actor``, filtered by ``filters`` and ordered."""

    def list(self, request: Request) -> Response:
        params = self.list_filters(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = {k: v for k, v in params.validated_data.items() if k not in ("page", "page_size")}
        shape = ListShape(self.actor, filters, self.list_bound_filters)
        statement = page_statement(type(self), shape, self._scoped_list)
        page = self.paginator.paginate_statement(statement, shape.values, request)  # type: ignore[union-attr]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _scoped_list(self, actor: Actor, filters: dict[str, Any]) -> QuerySet[Any]:
        queryset = self.list_queryset(actor, filters)
        if not isinstance(queryset, TenantScopedQuerySet):
            raise TypeError(f"{type(self).__name__} must list a TenantScopedQuerySet.")
        return queryset.for_actor(actor)
