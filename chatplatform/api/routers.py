from __future__ import annotations

from rest_framework.routers import DefaultRouter


class OptionalSlashRouter(DefaultRouter):
    """Routes answer with or without the trailing slash (no redirects, so a POST
    body is never lost to one)."""

    include_root_view = False
    include_format_suffixes = False

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
