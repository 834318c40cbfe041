"""The API's one JSON parser: the shared rules of :mod:`chatplatform.json_input`
(standard JSON only, bounded nesting and size, no NUL characters or unpaired
surrogates) behind DRF's parser interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, parsers, status

from chatplatform import json_input


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            return {}
        context = parser_context or {}
        request = context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        encoding = context.get("encoding") or settings.DEFAULT_CHARSET
        try:
            raw = json_input.read_body(stream, declared)
            text = raw.decode(encoding)
        except json_input.BodyTooLarge as exc:
            raise RequestTooLarge(f"The request body is larger than {exc.limit} bytes.") from exc
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - the body is not valid {encoding}.") from exc
        try:
            return json_input.loads(text)
        except json_input.JSONInputError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
