"""The API base for tenant-owned resources."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from tenants.models import Tenant
from tenants.scoping import TenantScopedQuerySet

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
