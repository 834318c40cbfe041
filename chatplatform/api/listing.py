"""List pages from statements compiled once per shape.

Building a list's queryset and compiling it cost a list request more than
running it: of the 6.9 ms of CPU a page of 50 channels took, about half went
into the ORM building and compiling its two statements (the capped count and
the page). A list's SQL depends on little: who asks (role, platform staff or
not, with a tenant or without) and which filters are given, with the choices'
values. That is its *shape*. The rest (the actor's id and tenant, a search
term, a tenant to narrow to) are parameters.

So the view's own code builds each shape's queryset once per process, for a
stand-in actor and stand-in filter values, and the ORM compiles it into one
statement that returns the page with the capped count as a column. A
request binds its values into that statement's parameters and runs it: one
round trip and no ORM work, on a cursor whose statements PostgreSQL prepares
(``chatplatform.db.sql_cursor``), so it no longer plans them either; a
statement with a search pattern is planned for it each time instead. The rows
become model instances the way the ORM makes them (``from_db``, annotations,
one level of ``select_related``).

A value only ever reaches the SQL as a parameter: a stand-in seen in the
statement's text, or a value the shape depends on declared as bound, fails
the compile rather than the request (``chatplatform/tests/test_listing.py``
holds every list's statements to the ORM's own for many actors and filters).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import IntegerField, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

from chatplatform.db import Converters, converted, sql_cursor

# Compiled shapes kept per process: a handful per list (roles times the
# combinations of choice filters); the bound is a guard, not a tuning knob.
MAX_SHAPES = 1024


@dataclass(frozen=True)
class StandInActor:
    """Who asks, as a list's shape sees it (``tenants.scoping.Actor``): its
    role and staff flag are real, its id and tenant are stand-ins."""

    pk: UUID
    tenant_id: UUID | None
    role: str
    is_platform_staff: bool


@dataclass(frozen=True)
class _Slot:
    index: int  # in the statement's parameters
    name: str  # the value bound there
    form: str  # "value", "hex" (a UUID as SQLite stores it) or "like" (inside a pattern)
    template: str = ""  # for "like": the pattern around the stand-in


@dataclass(frozen=True)
class _Related:
    """A ``select_related`` model: where its columns are and how it is attached."""

    model: type[Model]
    start: int
    end: int
    attnames: tuple[str, ...]
    pk: int  # its primary key's place among its columns
    set_on: Callable[[Model, Model | None], None]


@dataclass(frozen=True)
class PageStatement:
    """A list shape's page query: ``sql`` ends with ``LIMIT %s OFFSET %s``, and
    one of its columns counts the matches up to a bound, also a parameter."""

    sql: str
    params: tuple[Any, ...]
    slots: tuple[_Slot, ...]
    count_index: int  # the count's bound among the parameters
    count_column: int
    model: type[Model]
    start: int
    end: int
    attnames: tuple[str, ...]
    annotations: tuple[tuple[str, int], ...]
    related: tuple[_Related, ...]
    converters: Converters
    empty: bool = False  # the shape matches nothing (an actor without a tenant)

    @property
    def searches(self) -> bool:
        """Whether a pattern is bound (``search``): its best plan depends on the
        pattern, so the statement is planned for it each time, never prepared."""
        return any(slot.form == "like" for slot in self.slots)

    def run(
        self, values: Mapping[str, Any], *, bound: int, size: int, offset: int
    ) -> tuple[list[Model], int]:
        """The page's rows as model instances, and the matches counted up to
        ``bound + 1`` (0 when the page is empty: the caller knows whether that
        is the end or an empty list)."""
        if self.empty:
            return [], 0
        with sql_cursor(prepare=not self.searches) as cursor:
            cursor.execute(self.sql, self.bind(values, bound=bound, size=size, offset=offset))
            rows = cursor.fetchall()
        if not rows:
            return [], 0
        return list(self._load(rows)), rows[0][self.count_column]

    def bind(self, values: Mapping[str, Any], *, bound: int, size: int, offset: int) -> list[Any]:
        """The statement's parameters for these values and this page."""
        params = list(self.params)
        for slot in self.slots:
            params[slot.index] = _render(slot, values[slot.name])
        params[self.count_index] = bound + 1
        return [*params, size, offset]

    def _load(self, rows: Sequence[tuple[Any, ...]]) -> Iterator[Model]:
        shared: dict[tuple[type[Model], Any], Model] = {}
        db = connections[DEFAULT_DB_ALIAS]
        for raw in rows:
            row = converted(raw, self.converters, db)
            instance = self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, row[self.start : self.end])
            for name, index in self.annotations:
                setattr(instance, name, row[index])
            for related in self.related:
                values = row[related.start : related.end]
                if values[related.pk] is None:  # a nullable foreign key that is null
                    related.set_on(instance, None)
                    continue
                # Rows of a page share their tenant: one instance for all of them.
                key = (related.model, values[related.pk])
                if key not in shared:
                    shared[key] = related.model.from_db(DEFAULT_DB_ALIAS, related.attnames, values)
                related.set_on(instance, shared[key])
            yield instance


def _render(slot: _Slot, value: Any) -> Any:
    if slot.form == "hex":
        return value.hex
    if slot.form == "like":
        return slot.template.replace(_LIKE_MARK, connection.ops.prep_for_like_query(value))
    return value


_LIKE_MARK = "\x00value\x00"


def _stand_in(value: Any, index: int) -> Any:
    """A value no request can send: a fresh UUID, or a string holding a NUL
    (the API's text fields refuse those)."""
    if isinstance(value, UUID):
        return uuid.uuid4()
    if isinstance(value, str):
        return f"\x00stand-in-{index}\x00"
    raise TypeError(f"Only UUIDs and strings are bound into a list's statement, not {type(value).__name__}.")


def compile_page(queryset: QuerySet[Any], stand_ins: Mapping[str, Any]) -> PageStatement:
    """Compile ``queryset`` (built with ``stand_ins`` for the values) into a
    page statement whose parameters at the stand-ins' places are slots."""
    counted = queryset.order_by().values("pk")
    try:
        count_sql, count_params = counted.query.sql_with_params()
    except EmptyResultSet:
        return _empty(queryset)
    count_mark = uuid.uuid4().int >> 65  # an int no list's own parameters hold
    # The ORM's own SQL, its parameters kept apart.
    count = f"SELECT COUNT(*) FROM ({count_sql} LIMIT %s) counted"  # noqa: S608
    annotated = queryset.annotate(
        _page_count=RawSQL(  # noqa: S611
            count,
            (*count_params, count_mark),
            output_field=IntegerField(),
        )
    )
    compiler: SQLCompiler = annotated.query.get_compiler(DEFAULT_DB_ALIAS)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return _empty(queryset)
    _refuse_inlined(sql, stand_ins)
    slots = []
    count_index = -1
    for index, param in enumerate(params):
        if type(param) is int and param == count_mark:
            count_index = index
            continue
        for name, stand_in in stand_ins.items():
            if slot := _slot_for(index, name, stand_in, param):
                slots.append(slot)
    assert count_index >= 0, "the count's bound is among the parameters"
    columns = [expression for expression, _, _ in compiler.select]
    attnames = [getattr(getattr(column, "target", None), "attname", "") for column in columns]
    info = compiler.klass_info
    assert info is not None
    start, end = info["select_fields"][0], info["select_fields"][-1] + 1
    related = tuple(_related(child, attnames) for child in info.get("related_klass_infos", []))
    if any(child.get("related_klass_infos") for child in info.get("related_klass_infos", [])):
        raise ValueError("A compiled list follows one level of select_related.")
    return PageStatement(
        sql=f"{sql} LIMIT %s OFFSET %s",
        params=tuple(params),
        slots=tuple(slots),
        count_index=count_index,
        count_column=compiler.annotation_col_map["_page_count"],
        model=queryset.model,
        start=start,
        end=end,
        attnames=tuple(attnames[start:end]),
        annotations=tuple(
            (name, index) for name, index in compiler.annotation_col_map.items() if name != "_page_count"
        ),
        related=related,
        converters=tuple(
            (index, expression, tuple(functions))
            for index, (functions, expression) in compiler.get_converters(columns).items()
        ),
    )


def _related(info: dict[str, Any], attnames: list[str]) -> _Related:
    start, end = info["select_fields"][0], info["select_fields"][-1] + 1
    names = tuple(attnames[start:end])
    return _Related(
        model=info["model"],
        start=start,
        end=end,
        attnames=names,
        pk=names.index(info["model"]._meta.pk.attname),
        set_on=info["local_setter"],
    )


def _empty(queryset: QuerySet[Any]) -> PageStatement:
    return PageStatement("", (), (), -1, -1, queryset.model, 0, 0, (), (), (), (), empty=True)


def _slot_for(index: int, name: str, stand_in: Any, param: Any) -> _Slot | None:
    if isinstance(stand_in, UUID):
        if param == stand_in:
            return _Slot(index, name, "value")
        if param == stand_in.hex:
            return _Slot(index, name, "hex")
        return None
    if not isinstance(param, str) or stand_in not in param:
        return None
    if param == stand_in:
        return _Slot(index, name, "value")
    return _Slot(index, name, "like", param.replace(stand_in, _LIKE_MARK))


def _refuse_inlined(sql: str, stand_ins: Mapping[str, Any]) -> None:
    for name, stand_in in stand_ins.items():
        forms = [str(stand_in), stand_in.hex] if isinstance(stand_in, UUID) else [stand_in]
        if any(form in sql for form in forms):
            raise ValueError(f"The list's SQL holds {name!r} in its text: it can only be a parameter.")


class ListShape:
    """How one list is asked for: the actor and its filters, split into the
    shape (role, staff, tenantless, the choices' values) and the values bound
    as parameters (``bound``: the actor's id and tenant always)."""

    def __init__(self, actor: Any, filters: Mapping[str, Any], bound: frozenset[str]) -> None:
        self.values: dict[str, Any] = {"actor.pk": actor.pk}
        if actor.tenant_id is not None:
            self.values["actor.tenant_id"] = actor.tenant_id
        shape: list[Hashable] = [actor.role, actor.is_platform_staff, actor.tenant_id is None]
        for name, value in sorted(filters.items()):
            if name in bound and value not in (None, ""):
                self.values[name] = value
                shape.append((name, type(value)))
            else:
                shape.append((name, value))
        self.key = tuple(shape)
        self._actor = actor
        self._filters = filters

    def stand_ins(self) -> tuple[StandInActor, dict[str, Any], dict[str, Any]]:
        """A stand-in actor and filters for this shape, and the stand-in of each bound value."""
        stand_ins = {name: _stand_in(value, index) for index, (name, value) in enumerate(self.values.items())}
        actor = StandInActor(
            pk=stand_ins["actor.pk"],
            tenant_id=stand_ins.get("actor.tenant_id"),
            role=self._actor.role,
            is_platform_staff=self._actor.is_platform_staff,
        )
        filters = {name: stand_ins.get(name, value) for name, value in self._filters.items()}
        return actor, filters, stand_ins


_shapes: dict[Hashable, PageStatement] = {}
_lock = threading.Lock()


def page_statement(
    key: Hashable, shape: ListShape, build: Callable[[Any, dict[str, Any]], QuerySet[Any]]
) -> PageStatement:
    """The compiled statement of ``shape`` for the list ``key``, compiled on
    first use from ``build(actor, filters)`` called with stand-ins."""
    full_key = (key, connection.vendor, shape.key)
    statement = _shapes.get(full_key)
    if statement is None:
        actor, filters, stand_ins = shape.stand_ins()
        statement = compile_page(build(actor, filters), stand_ins)
        with _lock:
            if len(_shapes) >= MAX_SHAPES:
                _shapes.clear()
            _shapes[full_key] = statement
    return statement
