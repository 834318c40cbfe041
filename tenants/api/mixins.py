"""The API base for tenant-owned resources."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from django.db.models import QuerySet
from rest_framework import viewsets

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
        return queryset.for_actor(self.request.user)

    @property
    def actor(self) -> Any:
        return self.request.user
