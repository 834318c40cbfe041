"""Page-number pagination whose count never reads a whole tenant.

An exact ``COUNT(*)`` reads every matching row: in a tenant of 50,000 users
it costs more than the page itself, and a search term makes it read the table.
The count here stops at ``API_COUNT_LIMIT`` (or at the end of the page asked
for, if that is further), the way Sentry caps its hit counts: ``count`` is
exact below the limit and says "at least this many" at it. ``next`` is always
right, so every page stays reachable; the envelope is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from chatplatform.api.listing import PageStatement

DEFAULT_PAGE_SIZE = 50


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 200); ``{count, next, previous, results}``."""

    page_size = DEFAULT_PAGE_SIZE
    request: Request  # set by paginate_queryset before any link is asked for
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        size, offset, bound = self._page(request)
        # Unordered: which rows are counted does not matter, and the order would
        # make the database walk the list's index instead of the filter's.
        counted = queryset.order_by()[: bound + 1].count()
        self._counted(counted, size, offset, bound)
        return list(queryset[offset : offset + size])

    def paginate_statement(
        self, statement: PageStatement, values: Mapping[str, Any], request: Request
    ) -> list[Any]:
        """The page of a compiled list (``chatplatform.api.listing``): the rows
        and the same capped count in one statement."""
        size, offset, bound = self._page(request)
        page, counted = statement.run(values, bound=bound, size=size, offset=offset)
        if not page and offset:
            raise NotFound(self.invalid_page_message)
        self._counted(counted, size, offset, bound)
        return page

    def _page(self, request: Request) -> tuple[int, int, int]:
        """The page asked for: its size, its offset and how far to count."""
        self.request = request
        size = self.get_page_size(request) or DEFAULT_PAGE_SIZE
        try:
            self.number = int(request.query_params.get(self.page_query_param) or 1)
        except ValueError:
            self.number = 0
        if self.number < 1:
            raise NotFound(self.invalid_page_message)
        offset = (self.number - 1) * size
        return size, offset, max(settings.API_COUNT_LIMIT, offset + size)

    def _counted(self, counted: int, size: int, offset: int, bound: int) -> None:
        if offset and counted <= offset:
            raise NotFound(self.invalid_page_message)
        self.count = min(counted, bound)
        self.has_next = counted > offset + size

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number == 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = (
            f"How many results there are, counted up to {settings.API_COUNT_LIMIT} or to the end of "
            "this page, whichever is further: a count at that limit means at least that many."
        )
        return response

    # The browsable API's page links need a Django Page, which this paginator does not make.
    def get_html_context(self) -> dict[str, Any]:  # type: ignore[override]
        return {}
