"""What every table of the engine shares: the length limits of Stream's ids,
names and roles, and ``StorableValues``, which refuses a value its column
cannot hold before any save."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

from chatengine.errors import input_error

ID_MAX_LENGTH = 255
CHANNEL_ID_MAX_LENGTH = 64
TEAM_MAX_LENGTH = 100
ROLE_MAX_LENGTH = 64


class StorableValues(models.Model):
    """Refuses, with Stream's input error, a value its column cannot hold: text
    longer than its ``max_length`` or with a NUL character, an integer outside
    its column's range. PostgreSQL raises on each (a 500 once it reaches the
    database), SQLite keeps the first two and overflows on big integers; the
    check runs before every save, whichever service writes, with the same limits
    on every database (PostgreSQL's, Django's portable ranges)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.check_storable(kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def check_storable(self, fields: Iterable[str] | None = None) -> None:
        names = None if fields is None else set(fields)
        for field in self._meta.concrete_fields:
            if names is not None and not {field.name, field.attname} & names:
                continue
            problem = _unstorable(field, getattr(self, field.attname))
            if problem:
                raise input_error(f"{field.name} {problem}")


def _unstorable(field: models.Field, value: Any) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "cannot contain NUL characters"
        if isinstance(field, models.CharField) and field.max_length and len(value) > field.max_length:
            return f"is too long: at most {field.max_length} characters"
    elif isinstance(value, int) and not isinstance(value, bool):
        bounds = BaseDatabaseOperations.integer_field_ranges.get(field.get_internal_type())
        if bounds and not bounds[0] <= value <= bounds[1]:
            return f"must be between {bounds[0]} and {bounds[1]}"
    return None
