"""JSON from clients, read one way by the API and by the chat engine.

Python's parser accepts more than JSON and more than the rest of the stack can
take: ``NaN`` and ``Infinity`` (which no database JSON column stores), unpaired
UTF-16 surrogates such as ``"\\ud800"`` (which cannot be encoded to UTF-8, so
the first write or response with one fails), NUL characters (which PostgreSQL
refuses in text and in ``jsonb``), and nesting until the interpreter's stack
runs out. :func:`loads` refuses all four with a message for the caller, and
:func:`read_body` refuses a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``,
whatever its declared length says.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from django.conf import settings

# Containers inside one another, the document itself being the first. Stream's
# payloads nest a handful of levels (a filter, a message's attachments' actions);
# the bound keeps every later recursive walk (serializers, the ORM's JSON
# encoder) far from the interpreter's recursion limit.
MAX_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JSONInputError(ValueError):
    """The input is not JSON this service accepts; the message says why."""


class BodyTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


def _refuse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON value")


def _check_text(text: str) -> None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    if found.group() == "\x00":
        raise JSONInputError("strings cannot contain NUL characters (\\u0000)")
    raise JSONInputError(f"strings cannot contain an unpaired surrogate (\\u{ord(found.group()):04x})")


def text_checked(text: str) -> str:
    """``text``, or :class:`JSONInputError` if it holds what no column can store
    (a NUL character, an unpaired surrogate): for text that is not JSON, such as
    query parameters and path segments."""
    _check_text(text)
    return text


def _check(document: Any) -> None:
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise JSONInputError(f"JSON nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key in value:
                    _check_text(key)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)


def loads(raw: str | bytes) -> Any:
    """``raw`` parsed as standard JSON, or :class:`JSONInputError`."""
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise JSONInputError(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    except JSONInputError:
        raise
    except ValueError as exc:  # includes bytes that are not UTF-8
        raise JSONInputError(f"not valid JSON: {exc}") from exc
    _check(document)
    return document


class Readable(Protocol):
    """A request body to read: a file object, or Django's request itself."""

    def read(self, n: int = -1, /) -> bytes: ...


def read_body(stream: Readable, declared_length: str | int | None = None) -> bytes:
    """The body from ``stream``, or :class:`BodyTooLarge` once it is over the limit:
    refused on its declared length before reading, and never read past the limit
    (a chunked body declares none)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    try:
        declared = int(declared_length or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge(limit)
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise BodyTooLarge(limit)
    return raw
