"""Reading import files: CSV with a header or JSON Lines, into records that
keep their first line number. A bad row becomes a record with its reason;
only a file that cannot be read at all (or a bad header) stops the import."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chatplatform.errors import ApplicationError

FORMATS = ("csv", "jsonl")
# Separates channel slugs in a CSV cell; a slug never contains it.
CHANNEL_SEPARATOR = "|"
# ``slug:role`` in a user's channels sets the channel role.
CHANNEL_ROLE_SEPARATOR = ":"

# A NUL or a lone surrogate (what undecodable bytes become): neither can be stored.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class ImportFileError(ApplicationError):
    """The file as a whole cannot be imported (unreadable, unknown format, bad
    header). Nothing is written."""

    default_code = "import_file_invalid"


@dataclass(frozen=True)
class Schema:
    """One kind of row: its record type in JSON Lines, natural key and columns."""

    kind: str
    key: str
    columns: tuple[str, ...]


USERS = Schema("user", "email", ("email", "full_name", "role", "channels", "is_active"))
CHANNELS = Schema("channel", "slug", ("slug", "name", "description", "visibility"))
TENANTS = Schema("tenant", "slug", ("slug", "name", "status", "admin_email", "admin_full_name"))
RECORD_TYPES = frozenset({USERS.kind, CHANNELS.kind, TENANTS.kind})


@dataclass(slots=True)
class Record:
    """A row as read from the file: its first line, its values, or why it could not be read."""

    line: int
    values: dict[str, Any]
    error: str = ""

    def key(self, schema: Schema) -> str:
        value = self.values.get(schema.key)
        return value.strip() if isinstance(value, str) else ""


def detect_format(name: str, data: bytes) -> str:
    """``csv`` or ``jsonl``: from the file name's extension, else from the first
    character (JSON Lines start with ``{``)."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "jsonl" if head == b"{" else "csv"


def read_records(data: bytes, *, schema: Schema, fmt: str) -> list[Record]:
    """Split a file into records, keeping each one's first line number.

    The file is UTF-8 (a byte order mark is dropped); a row with bytes that are
    not UTF-8 fails alone. CSV needs a header naming ``schema``'s columns;
    JSON Lines records may carry ``"type"``: records of the other kinds an
    export holds are skipped, so one export file feeds every import.
    """
    text = data.decode("utf-8-sig", errors="surrogateescape")
    if fmt == "csv":
        return _read_csv(text, schema)
    if fmt == "jsonl":
        return _read_jsonl(text, schema)
    raise ImportFileError(f"Unknown format {fmt!r}: use {' or '.join(FORMATS)}.")


def _check_columns(names: Iterable[str], schema: Schema, *, where: str) -> str:
    """Why these column (or field) names are not acceptable, or ``""``."""
    names = list(names)
    if "password" in names:
        return f"the {where} 'password' is not accepted: imports carry no passwords"
    unknown = [name for name in names if name not in schema.columns and name != "type"]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        plural = "s" if len(unknown) > 1 else ""
        return f"unknown {where}{plural} {listed} (known: {', '.join(schema.columns)})"
    return ""


def _read_csv(text: str, schema: Schema) -> list[Record]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    records: list[Record] = []
    previous_line = 0
    while True:
        first_line = previous_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            previous_line = reader.line_num
            if header is None:
                raise ImportFileError(f"line {first_line}: the header is not valid CSV: {exc}") from exc
            records.append(Record(first_line, {}, f"not valid CSV: {exc}"))
            continue
        previous_line = reader.line_num
        if not "".join(row).strip():
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            _check_header(header, schema)
            continue
        if len(row) != len(header):
            hint = "a value with a comma or a quote must be in double quotes"
            if reader.line_num > first_line:
                hint = f"the row runs to line {reader.line_num}: is a double quote left open?"
            reason = f"expected {len(header)} fields, found {len(row)} ({hint})"
            records.append(Record(first_line, dict(zip(header, row, strict=False)), reason))
            continue
        records.append(Record(first_line, dict(zip(header, row, strict=True))))
    if header is None:
        raise ImportFileError(
            f"The file is empty: a CSV file starts with a header ({', '.join(schema.columns)})."
        )
    return records


def _check_header(header: list[str], schema: Schema) -> None:
    if UNSTORABLE.search("".join(header)):
        raise ImportFileError("The header is not valid UTF-8.")
    unnamed = [str(number) for number, name in enumerate(header, start=1) if not name]
    if unnamed:
        raise ImportFileError(f"Bad header: column {', '.join(unnamed)} has no name.")
    problem = _check_columns(header, schema, where="column")
    if problem:
        raise ImportFileError(f"Bad header: {problem}.")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ImportFileError(f"The header names {', '.join(map(repr, duplicated))} more than once.")
    if schema.key not in header:
        raise ImportFileError(
            f"The header has no {schema.key!r} column (columns: {', '.join(schema.columns)})."
        )


def _read_jsonl(text: str, schema: Schema) -> list[Record]:
    records: list[Record] = []
    # Split on newlines only: str.splitlines() would also split inside JSON
    # strings at characters such as U+2028.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        if UNSTORABLE.search(line):
            records.append(Record(number, {}, "not valid UTF-8"))
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            records.append(Record(number, {}, f"not valid JSON: {exc}"))
            continue
        except RecursionError:
            records.append(Record(number, {}, "not valid JSON: nested too deeply"))
            continue
        if not isinstance(value, dict):
            records.append(Record(number, {}, "not a JSON object"))
            continue
        kind = value.get("type", schema.kind)
        if kind != schema.kind:
            if isinstance(kind, str) and kind in RECORD_TYPES:
                continue  # another kind of record of the same export
            records.append(Record(number, {}, f"unknown record type {kind!r}"))
            continue
        problem = _check_columns(value, schema, where="field")
        values = {name: item for name, item in value.items() if name in schema.columns}
        records.append(Record(number, values, problem))
    return records
