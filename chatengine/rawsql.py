"""What the engine's hand-written SQL (``sendpath``, ``watchpath``) is built
from: the tables' quoted names, a model's columns and its instances built from
them as the ORM builds them, and values adapted as the ORM adapts them."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

from chatengine.models import (
    Ban,
    Channel,
    ChannelMute,
    ChatUser,
    Connection,
    Member,
    Message,
    StorableValues,
    UserBlock,
    UserMute,
    Watch,
)
from chatplatform.db import converted


@cache
def tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    names = {
        "member": Member,
        "watch": Watch,
        "conn": Connection,
        "cmute": ChannelMute,
        "umute": UserMute,
        "ban": Ban,
        "block": UserBlock,
        "channel": Channel,
        "user": ChatUser,
        "message": Message,
    }
    return {key: quote(model._meta.db_table) for key, model in names.items()}


class Rows:
    """A model's columns in a SELECT under ``alias``, and its instances built
    from them as the ORM builds them (each field's database converters first)."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
        self.names = [field.attname for field in fields]
        self.width = len(fields)
        # Only the columns that have converters (most have none on PostgreSQL).
        self._converters = []
        for index, field in enumerate(fields):
            field = cast(Any, field)  # (the stubs lack Field.get_db_converters)
            column = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                self._converters.append((index, column, found))

    def load(self, values: tuple[Any, ...] | list[Any]) -> Any:
        if len(values) != self.width:
            raise ValueError(f"{self.model.__name__} has {self.width} columns, not {len(values)}.")
        db = connections[DEFAULT_DB_ALIAS]  # once, not through the proxy per value
        return self.model.from_db(DEFAULT_DB_ALIAS, self.names, converted(values, self._converters, db))


def placeholders(values: list[Any]) -> str:
    """``%s`` for each of ``values``, comma-separated."""
    return ", ".join(["%s"] * len(values))


def db_time(value: datetime) -> Any:
    """A datetime as the ORM sends it to this database."""
    return connection.ops.adapt_datetimefield_value(value)


def insert_statement(instance: StorableValues) -> tuple[str, list[Any]]:
    """The INSERT of ``instance`` and its parameters, as ``save(force_insert=True)``
    builds them: its values checked as storable, each field's ``pre_save`` and
    database preparation applied (its primary key already set)."""
    instance.check_storable()
    meta = instance._meta
    fields = meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders(values)})", values  # noqa: S608


def inserted(instance: Model) -> None:
    """``instance`` is now a row of the database, as after ``save()``."""
    instance._state.adding = False
    instance._state.db = connection.alias


def unread_totals(user_column: str, *, except_channel: str | None = None) -> str:
    """Two columns for the user of ``user_column``: its unread messages over all
    its memberships (but the one in the channel of ``except_channel``, when
    given), and how many of those channels have some."""
    member = tables()["member"]
    where = f"o.user_id = {user_column}"
    if except_channel is not None:
        where += f" AND o.channel_id <> {except_channel}"
    return (  # (names from the models and the caller's SQL, never a value)
        f"COALESCE((SELECT SUM(o.unread_messages) FROM {member} o WHERE {where}), 0),"  # noqa: S608
        f" (SELECT COUNT(*) FROM {member} o WHERE {where} AND o.unread_messages > 0)"
    )
