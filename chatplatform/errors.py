"""The application's one error type.

Services raise :class:`ApplicationError` for a rule the caller broke; the API
turns it into ``{"detail", "code", "fields"?}`` with its HTTP status, and
management commands print its message.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields
        if status_code is not None:
            self.status_code = status_code


class ConflictError(ApplicationError):
    """The request is valid but the current state forbids it (HTTP 409)."""

    status_code = 409
    default_code = "conflict"
