"""One exception handler for the whole API: every error is ``{"detail", "code", "fields"?}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from chatplatform.errors import ApplicationError

NOT_FOUND_BODY = {"detail": "Not found.", "code": "not_found"}


def error_body(detail: str, code: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if fields:
        body["fields"] = fields
    return body


def _first_code(codes: Any) -> str:
    """The first error code in DRF's nested ``get_codes()`` structure."""
    while isinstance(codes, (list, dict)) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) and codes else "invalid"


def _messages(detail: Any, path: str = "") -> list[str]:
    """Flatten DRF's nested errors (list items, nested objects) into messages that
    say where: ``{"member_ids": {0: ["Must be a valid UUID."]}}`` becomes
    ``["Item 0: Must be a valid UUID."]`` under ``member_ids``."""
    if isinstance(detail, dict):
        found: list[str] = []
        for key, value in detail.items():
            where = f"Item {key}" if isinstance(key, int) or str(key).isdigit() else str(key)
            found += _messages(value, f"{path}{where}: " if not path else f"{path.rstrip(': ')}.{key}: ")
        return found
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item, path)]
    return [f"{path}{detail}"]


def _fields(detail: Any) -> dict[str, list[str]]:
    if not isinstance(detail, dict):
        return {"non_field_errors": _messages(detail)}
    return {str(name): _messages(value) for name, value in detail.items()}


def _validation_error_from_django(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        fields = {
            ("non_field_errors" if name == "__all__" else name): [
                message for error in errors for message in error.messages
            ]
            for name, errors in exc.error_dict.items()
        }
        return exceptions.ValidationError(fields)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.code, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = _validation_error_from_django(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handler answers in JSON under /api/

    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        detail = "Invalid input."
        non_field = fields.get("non_field_errors")
        if list(fields) == ["non_field_errors"] and isinstance(non_field, list) and len(non_field) == 1:
            detail = str(non_field[0])
        response.data = error_body(detail, _first_code(exc.get_codes()), fields)
    elif isinstance(exc, exceptions.APIException):
        raw = exc.detail
        if isinstance(raw, dict):  # simplejwt's {"detail", "code", "messages"}
            message = str(raw.get("detail", exc.default_detail))
            code = str(raw.get("code", exc.default_code))
        else:
            message = str(raw)
            code = str(getattr(raw, "code", None) or exc.default_code)
        response.data = error_body(message, code)
    return response
