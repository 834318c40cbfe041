"""Stream's filter language: what a filter may say, its bounds, and how it is
compiled to an ORM ``Q`` for the fields a query allows (``Schema``).

A filter is a MongoDB-like document: ``{field: value}`` (equality),
``{field: {"$op": value}}``, and ``$and`` / ``$or`` / ``$nor`` over lists of
filters. Anything a query does not allow is a Stream input error (code 4),
never a 500. Custom data is reachable by any other plain field name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Expression, F, Q
from django.db.models.fields.json import HasKey, KeyTransform
from django.utils.dateparse import parse_datetime

from chatengine.errors import input_error
from chatengine.models import ChatUser

COMPARISONS = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
CUSTOM_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True)
class Context:
    """What a filter may depend on: the user the query is run for (``joined``,
    ``hidden`` ...), when there is one."""

    user: ChatUser | None = None


# (operator, value, context) -> Q
Handler = Callable[[str, Any, Context], Q]


@dataclass(frozen=True)
class FieldSpec:
    path: str = ""
    kind: str = "string"  # string | date | number | bool
    ops: frozenset[str] = frozenset({"$eq", "$in"})
    handler: Handler | None = None


ORDERED = frozenset({"$eq", "$in", "$gt", "$gte", "$lt", "$lte", "$exists", "$ne", "$nin"})
TEXT = ORDERED | {"$autocomplete", "$q"}
CUSTOM_OPS = ORDERED | {"$autocomplete", "$q", "$contains"}


@dataclass(frozen=True)
class Schema:
    """The fields one query accepts, and where its custom data lives (if any)."""

    fields: dict[str, FieldSpec]
    custom_path: str | None = "custom"
    reserved: frozenset[str] = field(default_factory=frozenset)


# Bounds on one filter, checked before it is compiled: a filter costs CPU to
# compile and database work to run in proportion to its size, and SQLite fails
# outright (a 500) on expressions deeper than 1000, which a flat $or of 1000
# terms already is. Stream's SDKs and UI kits send a handful of conditions; the
# numbers leave ample room for real queries and are stated in each error.
MAX_FILTER_BYTES = 64 * 1024  # the filter as JSON: room for a full $in of long ids
MAX_FILTER_DEPTH = 4  # $and / $or / $nor inside one another
MAX_LOGICAL_TERMS = 100  # filters in one $and / $or / $nor
MAX_FILTER_CONDITIONS = 100  # field conditions in the whole filter
MAX_IN_VALUES = 1000  # values in one $in / $nin / members list (Stream caps $in too)

LOGICAL = ("$and", "$or", "$nor")


def check_in_values(name: str, values: list[Any]) -> None:
    if len(values) > MAX_IN_VALUES:
        raise input_error(f"a list for {name} holds at most {MAX_IN_VALUES} values, got {len(values)}")


def check_filter_bounds(conditions: Any, *, what: str = "filter_conditions") -> None:
    """Refuse a filter over the bounds above, with the limit in the error (code 4).

    Walks the document without recursion, stopping at the first bound broken,
    so a hostile filter costs no more than the bound to reject."""
    try:
        size = len(json.dumps(conditions, separators=(",", ":")))
    except (TypeError, ValueError, RecursionError):
        raise input_error(f"{what} must be a JSON object") from None
    if size > MAX_FILTER_BYTES:
        raise input_error(f"{what} is {size} bytes long; at most {MAX_FILTER_BYTES} are allowed")
    conditions_seen = 0
    pending: list[tuple[Any, int]] = [(conditions, 0)]
    while pending:
        node, depth = pending.pop()
        if not isinstance(node, dict):
            continue  # compile_filter says what is wrong with it
        for key, value in node.items():
            if key in LOGICAL:
                if depth + 1 > MAX_FILTER_DEPTH:
                    raise input_error(f"{what} nests $and/$or/$nor at most {MAX_FILTER_DEPTH} deep")
                if isinstance(value, list):
                    if len(value) > MAX_LOGICAL_TERMS:
                        raise input_error(
                            f"{key} holds at most {MAX_LOGICAL_TERMS} filters, got {len(value)}"
                        )
                    pending.extend((item, depth + 1) for item in value)
                continue
            conditions_seen += len(value) if isinstance(value, dict) and value else 1
            if conditions_seen > MAX_FILTER_CONDITIONS:
                raise input_error(f"{what} holds at most {MAX_FILTER_CONDITIONS} field conditions")
            operands = value.values() if isinstance(value, dict) else [value]
            for operand in operands:
                if isinstance(operand, list):
                    check_in_values(key, operand)


def compile_filter(conditions: Any, schema: Schema, context: Context) -> Q:
    """The filter as a ``Q``, within the bounds above."""
    check_filter_bounds(conditions)
    return _compile(conditions, schema, context)


def _compile(conditions: Any, schema: Schema, context: Context) -> Q:
    if conditions is None:
        return Q()
    if not isinstance(conditions, dict):
        raise input_error("filter_conditions must be an object")
    q = Q()
    for key, value in conditions.items():
        if key in LOGICAL:
            if not isinstance(value, list) or not value:
                raise input_error(f"{key} needs a non-empty list of filters")
            parts = [_compile(item, schema, context) for item in value]
            combined = parts[0]
            for part in parts[1:]:
                combined = (combined & part) if key == "$and" else (combined | part)
            q &= ~combined if key == "$nor" else combined
        elif key.startswith("$"):
            raise input_error(f"unknown operator {key} at the top level of the filter")
        else:
            q &= _compile_field(key, value, schema, context)
    return q


def _compile_field(name: str, value: Any, schema: Schema, context: Context) -> Q:
    spec = schema.fields.get(name)
    if spec is None:
        spec = _custom_spec(name, schema)
    operations = (
        value if isinstance(value, dict) and value and all(k.startswith("$") for k in value) else None
    )
    if operations is None:
        operations = {"$eq": value}
    q = Q()
    for op, operand in operations.items():
        if op not in spec.ops:
            raise input_error(f"operator {op} is not allowed for field {name}")
        if spec.handler is not None:
            q &= spec.handler(op, operand, context)
        else:
            q &= _simple(spec, name, op, operand)
    return q


def _custom_spec(name: str, schema: Schema) -> FieldSpec:
    if schema.custom_path is None or name in schema.reserved or not CUSTOM_FIELD.match(name):
        raise input_error(f"field {name} is not allowed in this filter")
    return FieldSpec(kind="custom", ops=CUSTOM_OPS, handler=custom_key(schema.custom_path, name))


class KeyLookup(Expression):
    """``<column> -> key <lookup> rhs`` as a filter expression, the key taken literally.

    Built when the query resolves it: the lookup prepares its operand for the
    database (JSON-encoding it, per backend) from the resolved column, as the
    ORM does for a lookup string.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, key: str, lookup: str, rhs: Any) -> None:
        super().__init__()
        self.column, self.key, self.lookup, self.rhs = column, key, lookup, rhs

    def resolve_expression(self, *args: Any, **kwargs: Any) -> Any:
        lhs = KeyTransform(self.key, self.column).resolve_expression(*args, **kwargs)
        lookup = lhs.get_lookup(self.lookup)
        if lookup is None:  # the filter parser names only lookups JSON keys have
            raise ValueError(f"No lookup {self.lookup!r} on a JSON key.")
        return lookup(lhs, self.rhs).resolve_expression(*args, **kwargs)


def custom_key(column: str, key: str) -> Handler:
    """A filter on one key of a JSON column of custom data.

    The key is a literal JSON key, never part of a lookup string: spelled into
    ``f"{column}__{key}"`` a ``__`` in a client's field name would become an ORM
    transform or lookup (``name__regex``, nested keys). The lookups are taken
    from the key transform itself, as the ORM would for a lookup string.
    """

    def lookup(name: str, operand: Any) -> Q:
        return Q(KeyLookup(column, key, name, operand))

    def handler(op: str, operand: Any, context: Context) -> Q:
        if op == "$exists":
            if not isinstance(operand, bool):
                raise input_error(f"$exists for {key} needs true or false")
            q = Q(HasKey(F(column), key))
            return q if operand else ~q
        if op in ("$in", "$nin"):
            if not isinstance(operand, list):
                raise input_error(f"{op} for {key} needs a list")
            q = lookup("in", [coerce("custom", key, item) for item in operand])
            return q if op == "$in" else ~q
        if op in ("$autocomplete", "$q"):
            if not isinstance(operand, str):
                raise input_error(f"{op} for {key} needs a string")
            return lookup("icontains", operand)
        if op == "$contains":
            if not connection.features.supports_json_field_contains:
                raise input_error(f"$contains for custom field {key} is not supported by this server")
            return lookup("contains", operand)
        value = coerce("custom", key, operand)
        if op == "$eq":
            return lookup("exact", value)
        if op == "$ne":
            return ~lookup("exact", value)
        if value is None:
            raise input_error(f"{op} for {key} needs a string or a number")
        return lookup(COMPARISONS[op], value)

    return handler


def _simple(spec: FieldSpec, name: str, op: str, operand: Any) -> Q:
    path = spec.path or name
    if op == "$exists":
        if not isinstance(operand, bool):
            raise input_error(f"$exists for {name} needs true or false")
        q = (
            Q(**{f"{path}__isnull": False}) & ~Q(**{path: ""})
            if spec.kind == "string"
            else Q(**{f"{path}__isnull": False})
        )
        return q if operand else ~q
    if op in ("$in", "$nin"):
        if not isinstance(operand, list):
            raise input_error(f"{op} for {name} needs a list")
        values = [coerce(spec.kind, name, item) for item in operand]
        q = Q(**{f"{path}__in": values})
        return q if op == "$in" else ~q
    if op in ("$autocomplete", "$q"):
        if not isinstance(operand, str):
            raise input_error(f"{op} for {name} needs a string")
        return Q(**{f"{path}__icontains": operand})
    value = coerce(spec.kind, name, operand)
    if op == "$eq":
        return Q(**{path: value})
    if op == "$ne":
        return ~Q(**{path: value})
    return Q(**{f"{path}__{COMPARISONS[op]}": value})


# What every database compares as an integer (SQLite's and PostgreSQL's bigint).
INTEGER_RANGE = (-(2**63), 2**63 - 1)


def coerce(kind: str, name: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        low, high = INTEGER_RANGE
        if not low <= value <= high:
            raise input_error(f"field {name} needs a number between {low} and {high}")
    if kind == "date":
        return parse_date(name, value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise input_error(f"field {name} needs a number")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise input_error(f"field {name} needs true or false")
        return value
    if (kind == "string" and not isinstance(value, str | int | float)) or isinstance(value, dict | list):
        raise input_error(f"field {name} needs a string")
    return value


def parse_date(name: str, value: Any) -> datetime:
    """An RFC 3339 date from a client, in UTC (a date without offset is read as UTC).

    A well-formed but impossible date (month 13, 30 February, an offset of 99 hours)
    and one that leaves the representable range once moved to UTC (9999-12-31
    at -23:59) are refused like any other bad value: both the parser and the
    database would raise on them."""
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is not None:
            parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        raise input_error(f"field {name} needs an RFC 3339 date, got {value!r}")
    return parsed
