"""Query helpers shared by the apps: counts for the selectors, and set-based
reads and writes for bulk jobs of any size.

The ORM's ``bulk_create`` builds a model instance per row and prepares every
field of every instance in Python, which costs more than the database work
itself at a hundred thousand rows. ``rows_insert`` and ``rows_update`` take
plain tuples of Python values instead: on PostgreSQL rows go in with ``COPY``
and updates with one ``UPDATE ... FROM unnest(...)`` per batch; elsewhere
(SQLite) with ``executemany``. Like ``bulk_create`` they send no model
signals and apply no field defaults: they are for the bulk services of the
app that owns the table (``accounts.bulk``, ``channels_app.bulk``,
``tenants.bulk``), which give every column that has no database default and
announce their changes with their app's "changed in bulk" signal.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from itertools import islice
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import (
    NOT_PROVIDED,
    BooleanField,
    Count,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.utils import timezone

T = TypeVar("T")

# Statements per batch where the database takes rows as parameters.
EXECUTEMANY_BATCH = 2000
UNNEST_BATCH = 20_000
# Values per ``IN (...)`` lookup where the backend sets no limit of its own.
LOOKUP_CHUNK = 10_000

# Python values the database drivers adapt by themselves (no Field preparation).
_NATIVE_TYPES = frozenset(
    {
        "BooleanField",
        "CharField",
        "EmailField",
        "SlugField",
        "TextField",
        "IntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
        "SmallIntegerField",
        "AutoField",
        "BigAutoField",
    }
)
# Also adapted natively by psycopg (SQLite stores them as text).
_NATIVE_ON_POSTGRESQL = frozenset({"UUIDField", "DateTimeField"})


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk job.

    A job over a hundred thousand rows allocates objects by the million and
    frees few until it ends; the collector, which runs every few hundred
    allocations, would walk the growing heap again and again, for a tenth of
    an import's time. Reference counting still frees what it can meanwhile.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _connection(model: type[Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]


def column_field(model: type[Model], name: str) -> Field:
    """The field behind one of ``model``'s columns (a reverse relation has none)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a column.")
    return field


def _array_type(field: Field, connection: BaseDatabaseWrapper) -> str:
    """The PostgreSQL array type of ``field``'s column (``uuid[]``, ``varchar[]``...)."""
    db_type = field.db_type(connection)
    if db_type is None:
        raise TypeError(f"{field} has no column type.")
    return f"{db_type.split('(')[0]}[]"


def _preparer(field: Field, connection: BaseDatabaseWrapper) -> Callable[[Any], Any] | None:
    """How to turn a Python value into what the driver takes for ``field``, or
    None when the driver takes the value as it is."""
    target = field.target_field if isinstance(field, ForeignKey) else field
    internal = target.get_internal_type()
    if internal in _NATIVE_TYPES:
        return None
    if connection.vendor == "postgresql" and internal in _NATIVE_ON_POSTGRESQL:
        return None

    def prepare(value: Any) -> Any:
        return None if value is None else target.get_db_prep_save(value, connection)

    return prepare


def _prepared_rows(
    fields: Sequence[Field], rows: Iterable[Sequence[Any]], connection: BaseDatabaseWrapper
) -> Iterator[tuple[Any, ...]]:
    preparers = [_preparer(field, connection) for field in fields]
    if not any(preparers):
        yield from (tuple(row) for row in rows)
        return
    for row in rows:
        yield tuple(
            value if prep is None else prep(value) for value, prep in zip(row, preparers, strict=True)
        )


def _defaults(model: type[Model], given: set[str]) -> dict[str, Any]:
    """Values for the fields an insert does not name, as the ORM would set them;
    a field with none (NOT NULL, no default) is a programming error."""
    now = timezone.now()
    defaults: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.name in given or field.attname in given or getattr(field, "db_returning", False):
            continue  # given, or generated by the database (identity keys)
        if field.db_default is not NOT_PROVIDED:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults[field.name] = now
        elif field.has_default() and not field.unique:
            defaults[field.name] = field.get_default()
        elif not field.null or field.unique:
            # A unique default (a uuid4 id) evaluated once would repeat on every row.
            raise ValueError(f"{model.__name__}.{field.name} has no shared default: the insert must give it.")
    return defaults


def rows_insert(
    model: type[Model],
    field_names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    constants: dict[str, Any] | None = None,
) -> int:
    """Insert ``rows`` (tuples of Python values in ``field_names`` order) into
    ``model``'s table in bulk, inside the caller's transaction; ``constants``
    are the same on every row and prepared once. Other fields get what
    ``bulk_create`` would give them, evaluated once for all rows: their
    default, or the current time for ``auto_now`` fields. Returns the count.

    Preconditions: the rows are valid and violate no constraint; a violation
    raises ``IntegrityError`` and the caller's transaction must roll back.
    """
    connection = _connection(model)
    constants = {**_defaults(model, {*field_names, *(constants or {})}), **(constants or {})}
    fields = [column_field(model, name) for name in field_names]
    constant_fields = [column_field(model, name) for name in constants]
    tail = tuple(
        field.get_db_prep_save(value, connection)
        for field, value in zip(constant_fields, constants.values(), strict=True)
    )
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in [*fields, *constant_fields])
    prepared = _prepared_rows(fields, rows, connection)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's own cursor: its errors need Django's wrapping (IntegrityError...).
            raw = cursor.cursor
            with connection.wrap_database_errors:
                target = table
                staged = _row_security_active(connection, model._meta.db_table)
                if staged:
                    # COPY refuses a table under row-level security: the rows go
                    # into a temporary table of these columns, then into the table
                    # with one INSERT ... SELECT, which the policies check.
                    target = quote(f"rows_insert_{model._meta.db_table}")
                    raw.execute(f"DROP TABLE IF EXISTS {target}")
                    empty = f"SELECT {columns} FROM {table} WITH NO DATA"  # noqa: S608
                    raw.execute(f"CREATE TEMPORARY TABLE {target} AS {empty}")
                with raw.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
                    for row in prepared:
                        copy.write_row(row + tail)
                        count += 1
                if staged:
                    raw.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target}")  # noqa: S608
                    raw.execute(f"DROP TABLE {target}")
            return count
        placeholders = ", ".join(["%s"] * (len(fields) + len(constant_fields)))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        for batch in chunked(prepared, EXECUTEMANY_BATCH):
            cursor.executemany(sql, [row + tail for row in batch])
            count += len(batch)
    return count


def _row_security_active(connection: BaseDatabaseWrapper, table: str) -> bool:
    """Whether the policies of ``table`` apply to this connection's role (not to
    a superuser's, nor to a table without them); asked once per table."""
    known = connection.__dict__.setdefault("_row_security_active", {})
    if table not in known:
        with connection.cursor() as cursor:
            cursor.cursor.execute("SELECT row_security_active(%s::regclass)", [table])
            known[table] = cursor.cursor.fetchone()[0]
    return known[table]


def rows_update(
    model: type[Model],
    key_name: str,
    field_names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: dict[str, Any] | None = None,
) -> int:
    """Update rows in bulk: each row is ``(key, value, value, ...)`` in
    ``field_names`` order; ``constants`` are set on every row (e.g. ``updated_at``).
    Returns the number of rows given."""
    if not rows:
        return 0
    connection = _connection(model)
    constants = constants or {}
    key = column_field(model, key_name)
    fields = [column_field(model, name) for name in field_names]
    constant_fields = [column_field(model, name) for name in constants]
    constant_values = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(constant_fields, constants.values(), strict=True)
    ]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    prepared = list(_prepared_rows([key, *fields], rows, connection))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = [f"c{i}" for i in range(len(fields) + 1)]
            casts = ", ".join(f"%s::{_array_type(field, connection)}" for field in [key, *fields])
            assignments = [
                f"{quote(field.column)} = v.{name}" for field, name in zip(fields, names[1:], strict=True)
            ]
            assignments += [f"{quote(field.column)} = %s" for field in constant_fields]
            sql = (
                f"UPDATE {table} AS t SET {', '.join(assignments)} "  # noqa: S608
                f"FROM unnest({casts}) AS v({', '.join(names)}) WHERE t.{quote(key.column)} = v.c0"
            )
            for batch in chunked(prepared, UNNEST_BATCH):
                columns = [list(column) for column in zip(*batch, strict=True)]
                cursor.execute(sql, [*constant_values, *columns])  # SET comes before FROM
            return len(prepared)
        assignments = [f"{quote(field.column)} = %s" for field in [*fields, *constant_fields]]
        sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE {quote(key.column)} = %s"  # noqa: S608
        for batch in chunked(prepared, EXECUTEMANY_BATCH):
            cursor.executemany(sql, [(*row[1:], *constant_values, row[0]) for row in batch])
    return len(prepared)


def array_parameter(values: Sequence[Any], array_type: str) -> tuple[str, Any]:
    """PostgreSQL: the SQL of an array of ``values`` (``uuid[]``, ``varchar[]``...)
    and the one parameter it takes. Adapting a Python list to an array costs
    several times more than sending one newline-separated text the server
    splits, so that is how they travel, unless a value has a newline of its
    own or a lone empty value would split into nothing."""
    joined = "\n".join(map(str, values))
    if joined and joined.count("\n") == len(values) - 1:
        return f"string_to_array(%s, E'\\n')::{array_type}", joined
    return f"%s::{array_type}", list(values)


def lookup_chunk_size(model: type[Model]) -> int:
    """How many values one ``IN (...)`` lookup may carry on ``model``'s database."""
    limit = _connection(model).features.max_query_params
    return min(LOOKUP_CHUNK, limit - 10) if limit else LOOKUP_CHUNK


def values_in(queryset: QuerySet, field_name: str, values: Iterable[Any], *fields: str) -> Iterator[tuple]:
    """``queryset.filter(<field>__in=values).values_list(*fields)`` for any
    number of values: on PostgreSQL a batch of values travels as one array
    (``= ANY(%s)``), elsewhere as a chunk of parameters within the backend's limit."""
    model = queryset.model
    connection = _connection(model)
    unique = list(dict.fromkeys(values))
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        field = column_field(model, field_name)
        column = f"{quote(model._meta.db_table)}.{quote(field.column)}"
        array = _array_type(field, connection)
        for batch in chunked(unique, UNNEST_BATCH):
            # Quoted identifiers; the values travel as one parameter.
            values_sql, parameter = array_parameter(batch, array)
            matches = RawSQL(f"{column} = ANY({values_sql})", (parameter,), output_field=BooleanField())  # noqa: S611
            yield from queryset.filter(matches).values_list(*fields)
        return
    for batch in chunked(unique, lookup_chunk_size(model)):
        yield from queryset.filter(**{f"{field_name}__in": batch}).values_list(*fields)


def count_of(model: type[Model], field: str) -> Coalesce:
    """Rows of ``model`` whose ``field`` points at the outer row, as a correlated
    subquery: an annotation that never multiplies rows the way a join would."""
    counts = (
        model._default_manager.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def sql_cursor(*, prepare: bool = True) -> Any:
    """A cursor for SQL the ORM does not run itself: hand-written statements,
    and statements the ORM compiled once to be run many times.

    On PostgreSQL its values travel apart from the statement (server-side
    binding), so a statement run again is the same text: psycopg prepares it
    after a few runs (``prepare_threshold``) and PostgreSQL no longer parses
    and plans it on every call, which was a large part of its CPU per chat
    engine send under load. Django's own cursors inline the values
    (client-side binding, the default: not every statement the ORM builds is
    valid with parameters); these statements are. While queries are logged (``DEBUG``,
    a test counting them) they run on Django's cursor, whose log shows each
    with its values: the driver keeps no text of a prepared statement's run.

    ``prepare=False`` is for a statement whose best plan depends on its values,
    which a prepared statement's generic plan cannot know: PostgreSQL's plan for
    a user search prepared with ``LIKE $1`` read and sorted all 5,900 matches
    of ``%son%`` instead of walking the index to the first 50, 36 ms instead of
    2. It still binds on the server, and is planned for its values every time."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each attribute through the proxy is a lookup
    if db.vendor != "postgresql" or db.queries_logged:
        return db.cursor()
    db.ensure_connection()
    db.validate_thread_sharing()
    return db.make_cursor(_server_binding_cursor(prepare)(db.connection))


@functools.cache
def _server_binding_cursor(prepare: bool) -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

    if prepare:
        return ServerBindingCursor

    class PlannedEachTime(ServerBindingCursor):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, **{**kwargs, "prepare": False})

    return PlannedEachTime


Converters = Sequence[tuple[int, Any, Sequence[Callable[..., Any]]]]


def converted(row: Sequence[Any], converters: Converters, db: BaseDatabaseWrapper) -> list[Any]:
    """``row`` with its columns' database converters applied as the ORM applies
    them: ``converters`` lists, for each column that has any, its index, its
    expression and its converters."""
    values = list(row)
    for index, expression, functions in converters:
        value = values[index]
        for function in functions:
            value = function(value, expression, db)
        values[index] = value
    return values


@receiver(connection_created)
def _fast_timestamps(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Load a PostgreSQL session's timestamps in C.

    Django registers a loader that parses them in Python to attach its time
    zone: ten times slower than the driver's own (C, with psycopg's binary
    package), and a tenth of the engine's CPU while clients connect. The
    driver's gives the session's zone, so a session in UTC (Django's zone for
    it under ``USE_TZ``) takes it, behind the ``timezone`` attribute Django
    reads of it: the values come out the same, ``datetime.UTC`` and all."""
    if connection.vendor != "postgresql" or connection.timezone_name != "UTC":
        return
    raw = connection.connection
    if raw.adapters.get_loader(_TIMESTAMPTZ_OID, _TEXT) is not UTCTimestamptzLoader:
        raw.adapters.register_loader("timestamptz", UTCTimestamptzLoader)


try:
    import psycopg
except ImportError:  # SQLite only
    pass
else:
    _TEXT = psycopg.pq.Format.TEXT
    _TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
    _DRIVER_LOADER = cast(type[Any], psycopg.adapters.get_loader(_TIMESTAMPTZ_OID, _TEXT))

    class UTCTimestamptzLoader(psycopg.adapt.Loader):
        """The driver's timestamptz loader, for a session in UTC."""

        timezone = UTC  # what Django compares with its own zone before each cursor

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._driver = _DRIVER_LOADER(oid, context)

        def load(self, data: Any) -> Any:
            return self._driver.load(data)
