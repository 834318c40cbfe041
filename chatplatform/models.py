"""Abstract bases shared by the domain apps."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Self

from django.core.exceptions import ImproperlyConfigured
from django.db import models


def max_length_of(model: type[models.Model], name: str) -> int:
    """The ``max_length`` of a model's text field, for checks written outside its form."""
    length = getattr(model._meta.get_field(name), "max_length", None)
    if length is None:
        raise ImproperlyConfigured(f"{model.__name__}.{name} has no max_length.")
    return int(length)


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ImmutableFieldsMixin(models.Model):
    """Refuses to save a change to any field named in ``immutable_fields``.

    The values are remembered when loaded (``from_db``) and after each save, so
    the check costs no query.
    Slugs and chat ids are names other systems hold on to; changing one would
    orphan the objects that carry it.
    """

    immutable_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        changed = self.changed_immutable_fields()
        if changed:
            raise ValueError(f"{type(self).__name__}: {', '.join(changed)} cannot change.")
        super().save(*args, **kwargs)
        self._loaded_values = {name: getattr(self, name) for name in self.immutable_fields}

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any]) -> Self:
        instance = super().from_db(db, field_names, values)
        instance._loaded_values = {
            name: value
            for name, value in zip(field_names, values, strict=True)
            if name in cls.immutable_fields
        }
        return instance

    def changed_immutable_fields(self) -> list[str]:
        loaded: dict[str, object] = getattr(self, "_loaded_values", {})
        return [name for name, value in loaded.items() if getattr(self, name) != value]
