"""Serializers shared by every app's API."""

from __future__ import annotations

import copy
import zoneinfo
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    detail = serializers.CharField(help_text="What went wrong, for a human.")
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. `not_found`.")
    # The body's ``fields`` key; this serializer only describes the schema, so
    # shadowing Serializer.fields is harmless.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field name (only on 400 validation errors).",
    )


class RequestSerializer(serializers.Serializer):
    """A serializer of what a request sends: its body or its query.

    DRF gives every serializer instance a deep copy of the declared fields,
    and deep-copying a field builds it again from deep copies of its
    arguments: for a list's seven query filters, most of the time it spent
    validating them. A plain field needs only a copy of itself, which binding
    then sets up for this instance; a field holding others (a list's child, a
    nested serializer) still gets the deep copy.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: copy.deepcopy(field)
            if hasattr(field, "child") or isinstance(field, serializers.BaseSerializer)
            else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


class InputSerializer(RequestSerializer):
    """Input serializer that refuses fields it does not know.

    DRF silently drops unknown keys; for a write API that hides typos and
    attempts to set read-only fields (``role``, ``tenant``, ``is_staff``), so
    the caller gets a 400 naming them instead.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field cannot be set here."] for name in unknown}
                )
        return super().to_internal_value(data)


_UTC_ZONE = zoneinfo.ZoneInfo("UTC")


def timestamp(value: datetime | None) -> datetime | str | None:
    """A datetime exactly as DRF's ``DateTimeField`` writes it: ISO 8601 in the
    current time zone, UTC as ``Z``.

    Output serializers on the hot paths (every page load, every list) build
    their dict in ``to_representation`` directly: DRF's field-by-field path
    costs more per row than the query that read it. Their declared fields stay
    the schema; ``chatplatform/tests/test_lean_output.py`` holds each to it.
    Ids go into those dicts as UUIDs and times, in the usual case, as the
    datetimes themselves: the JSON renderers write both exactly as DRF's fields
    would (orjson in C, ``OPT_UTC_Z``; DRF's encoder the same), and formatting
    them here was a third of the time a page of rows took to serialize.
    """
    if value is None:
        return None
    if value.tzinfo is UTC and timezone.get_default_timezone() is _UTC_ZONE:
        # The usual case: UTC rows under a UTC server, written as they are
        # (the zone compared by identity: ZoneInfo keeps one instance per key).
        return value
    text = timezone.localtime(value).isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text
