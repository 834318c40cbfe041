"""The API base for tenant-owned resources."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404
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
    ``ListModelMixin``; and ``get_object`` the same way, one row by its id.

    Subclasses name the serializer that validates the query (``list_filters``)
    and implement :meth:`list_queryset` and :meth:`scoped_queryset_for`; the
    tenant filter is added for you.
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

    @abstractmethod
    def scoped_queryset_for(self, actor: Actor) -> TenantScopedQuerySet:
        """:meth:`get_scoped_queryset` for ``actor``, who may be a stand-in: it
        may branch on the role and staff flag only, as :meth:`list_queryset`."""

    def get_scoped_queryset(self) -> TenantScopedQuerySet:
        return self.scoped_queryset_for(self.actor)

    def get_object(self) -> Any:
        """The object the URL names, as DRF's ``get_object`` finds it (the
        scoped queryset, the tenant filter, the object's permissions), from a
        statement compiled once per shape: building and compiling the ORM's
        query cost a channel's lookup twice what running it did."""
        try:
            pk = UUID(str(self.kwargs[self.lookup_url_kwarg or self.lookup_field]))
        except ValueError as exc:
            raise Http404 from exc
        shape = ListShape(self.actor, {"pk": pk}, frozenset({"pk"}))
        statement = page_statement((type(self), "detail"), shape, self._scoped_detail)
        found, _ = statement.run(shape.values, bound=0, size=1, offset=0)
        if not found:
            raise Http404
        self.check_object_permissions(self.request, found[0])
        return found[0]

    def _scoped_detail(self, actor: Actor, filters: dict[str, Any]) -> QuerySet[Any]:
        return self._scoped(self.scoped_queryset_for(actor), actor).filter(pk=filters["pk"])

    def list(self, request: Request) -> Response:
        params = self.list_filters(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = {k: v for k, v in params.validated_data.items() if k not in ("page", "page_size")}
        shape = ListShape(self.actor, filters, self.list_bound_filters)
        statement = page_statement(type(self), shape, self._scoped_list)
        page = self.paginator.paginate_statement(statement, shape.values, request)  # type: ignore[union-attr]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _scoped_list(self, actor: Actor, filters: dict[str, Any]) -> QuerySet[Any]:
        return self._scoped(self.list_queryset(actor, filters), actor)

    def _scoped(self, queryset: QuerySet[Any], actor: Actor) -> QuerySet[Any]:
        if not isinstance(queryset, TenantScopedQuerySet):
            raise TypeError(f"{type(self).__name__} must list a TenantScopedQuerySet.")
        return queryset.for_actor(actor)
