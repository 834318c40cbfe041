"""Bulk import of users, channels and tenants from CSV or JSON Lines.

The contract, in full in ``docs/import-export.md``:

- Every row is checked first, against the file and against the live database
  (set-based: a query per few thousand rows, never one per row). A bad row is
  reported with its line number and every reason; it never stops the others.
- Then all the good rows are written in one transaction with one audit event.
  If the database refuses that write (a concurrent change took an email or a
  slug in between), nothing is written and the import can simply be rerun.
- Upserts on natural keys (a user's email, a tenant's slug, a channel's slug
  in its tenant): an empty value keeps what the database has, so a rerun
  changes nothing and queues nothing for the chat service.
- A dry run does all the checks and writes nothing.

Writes go in bulk (``onboarding.bulk``), so they fire no model signals: the
importers send the domain apps' bulk signals themselves, which is how the
chat service hears about created and updated rows, and only about those.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import User, normalize_email
from accounts.signals import users_bulk_changed
from accounts.tokens import refresh_tokens_revoke
from audit.services import audit_counts, audit_record
from channels_app.models import (
    CHANNEL_SLUG_MAX_LENGTH,
    Channel,
    ChannelKind,
    ChannelRole,
    ChannelVisibility,
    Membership,
)
from channels_app.signals import channel_members_changed, channels_bulk_changed
from chatplatform.errors import ApplicationError
from chatplatform.validators import validate_name
from onboarding.bulk import rows_insert, rows_update, values_in
from onboarding.invitations import set_password_links_issue
from onboarding.progress import Progress
from tenants.models import SLUG_MAX_LENGTH, Tenant, TenantStatus, slug_validator
from tenants.roles import Role
from tenants.services import tenant_reactivate, tenant_suspend

FORMATS = ("csv", "jsonl")
# Separates channel slugs in a CSV cell; a slug never contains it.
CHANNEL_SEPARATOR = "|"
# ``slug:role`` in a user's channels sets the channel role.
CHANNEL_ROLE_SEPARATOR = ":"

EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length
FULL_NAME_MAX_LENGTH = User._meta.get_field("full_name").max_length
TENANT_NAME_MAX_LENGTH = Tenant._meta.get_field("name").max_length
CHANNEL_NAME_MAX_LENGTH = Channel._meta.get_field("name").max_length
CHANNEL_DESCRIPTION_MAX_LENGTH = Channel._meta.get_field("description").max_length

# Enum ``.values`` builds a new list on every access: too slow per row.
ROLES = tuple(Role.values)
CHANNEL_ROLES = tuple(ChannelRole.values)
VISIBILITIES = tuple(ChannelVisibility.values)
TENANT_STATUSES = tuple(TenantStatus.values)

# How often (in rows) the checking phase reports progress.
_PROGRESS_EVERY = 5000

# A NUL or a lone surrogate (what undecodable bytes become): neither can be stored.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A strict subset of what Django's EmailValidator accepts, checked first because
# it is several times faster; anything else goes through the validator itself.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z"
)
RowT = TypeVar("RowT")
T = TypeVar("T")

_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f"})


class ImportFileError(ApplicationError):
    """The file as a whole cannot be imported (unreadable, unknown format, bad
    header). Nothing is written."""

    default_code = "import_file_invalid"


class ImportConflict(ApplicationError):
    """The database refused the write: something changed it between the checks
    and the write. Nothing is written; rerunning the import is safe."""

    status_code = 409
    default_code = "import_conflict"


class RowStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


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


@dataclass(slots=True)
class RowResult:
    line: int
    key: str
    status: RowStatus
    detail: str = ""
    link: str = ""
    admin_email: str = ""


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(RowStatus, 0)
        for row in self.rows:
            counts[row.status] += 1
        return {str(status): count for status, count in counts.items()}

    @property
    def failed(self) -> list[RowResult]:
        return [row for row in self.rows if row.status == RowStatus.FAILED]


class RowError(Exception):
    """A value that makes its row fail; the message says which and why."""


# ---------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------


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
    if _UNSTORABLE.search("".join(header)):
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
        if _UNSTORABLE.search(line):
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


# ---------------------------------------------------------------------------
# Checking values (no database)
# ---------------------------------------------------------------------------


def _text(values: dict[str, Any], name: str, max_length: int) -> str | None:
    """The stripped text in ``name``, or None when missing or empty."""
    raw = values.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise RowError(f"{name} must be text")
    value = raw.strip()
    if not value:
        return None
    # (Most values are ASCII, which str.isascii() tells without reading them.)
    if "\x00" in value or (not value.isascii() and _UNSTORABLE.search(value)):
        raise RowError(f"{name} contains a NUL character or bytes that are not UTF-8")
    if len(value) > max_length:
        raise RowError(f"{name} is longer than {max_length} characters")
    return value


def _name(values: dict[str, Any], name: str, max_length: int) -> str | None:
    """A display name: text without control characters (see ``validate_name``)."""
    value = _text(values, name, max_length)
    if value is not None:
        try:
            validate_name(value)
        except DjangoValidationError as exc:
            raise RowError(f"{name}: {exc.messages[0]}") from None
    return value


def _email(values: dict[str, Any], name: str) -> str | None:
    value = _text(values, name, EMAIL_MAX_LENGTH)
    if value is None:
        return None
    email = normalize_email(value)
    if not _PLAIN_EMAIL.match(email):
        try:
            validate_email(email)
        except DjangoValidationError:
            raise RowError(f"{name} {value!r} is not a valid email address") from None
    return email


def _choice(values: dict[str, Any], name: str, choices: Sequence[str]) -> str | None:
    value = _text(values, name, 64)
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in choices:
        raise RowError(f"{name} {value!r} is not one of {', '.join(choices)}")
    return lowered


def _flag(values: dict[str, Any], name: str) -> bool | None:
    raw = values.get(name)
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if not lowered:
            return None
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise RowError(f"{name} must be true or false, not {raw!r}")


def _slug(values: dict[str, Any], name: str, max_length: int) -> str | None:
    value = _text(values, name, max_length)
    if value is not None and not slug_validator.regex.match(value):
        raise RowError(f"{name} {value!r} is not a valid slug: {slug_validator.message}")
    return value


def _channel_list(values: dict[str, Any]) -> dict[str, ChannelRole | None] | None:
    """``{slug: channel role or None}`` from ``a|b:moderator`` (CSV) or a list (JSON)."""
    raw = values.get("channels")
    if raw is None:
        return None
    if isinstance(raw, str):
        tokens = raw.split(CHANNEL_SEPARATOR)
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        tokens = raw
    else:
        raise RowError("channels must be text (slugs separated by '|') or a list of slugs")
    channels: dict[str, ChannelRole | None] = {}
    for token in tokens:
        token = token.strip()
        if not token:
            continue
        if _UNSTORABLE.search(token):
            raise RowError("channels contains a NUL character or bytes that are not UTF-8")
        slug, _, role_name = token.partition(CHANNEL_ROLE_SEPARATOR)
        slug = slug.strip()
        role_name = role_name.strip().lower()
        role: ChannelRole | None = None
        if role_name:
            if role_name not in CHANNEL_ROLES:
                raise RowError(
                    f"channel role {role_name!r} in {token!r} is not one of {', '.join(CHANNEL_ROLES)}"
                )
            role = ChannelRole(role_name)
        if slug in channels and channels[slug] != role:
            raise RowError(f"channel {slug!r} is listed twice with different roles")
        channels[slug] = role
    return channels or None


def _required(value: T | None, name: str) -> T:
    if value is None:
        raise RowError(f"{name} is missing")
    return value


def _checked(values: dict[str, Any], checks: Sequence[Callable[[dict[str, Any]], Any]]) -> list[Any]:
    """Each check's value; a RowError naming every problem of the row."""
    checked: list[Any] = []
    problems: list[str] = []
    for check in checks:
        try:
            checked.append(check(values))
        except RowError as exc:
            problems.append(str(exc))
            checked.append(None)
    if problems:
        raise RowError("; ".join(problems))
    return checked


def _duplicates(rows: Iterable[tuple[int, str]], *, what: str) -> dict[int, str]:
    """``{line: reason}`` for every row whose key appears on more than one row.

    Every occurrence fails, not just the later ones: when a file says two
    things about one key, neither can be trusted to be the intended one.
    """
    first_line: dict[str, int] = {}
    repeated: dict[str, list[int]] = {}
    for line, key in rows:
        seen = first_line.setdefault(key, line)
        if seen != line:
            repeated.setdefault(key, [seen]).append(line)
    reasons: dict[int, str] = {}
    for key, lines in repeated.items():
        for line in lines:
            others = ", ".join(str(other) for other in lines if other != line)
            reasons[line] = f"{what} {key!r} is also on line{'s' if len(lines) > 2 else ''} {others}"
    return reasons


def _parse_rows(
    records: Sequence[Record], schema: Schema, parse: Callable[[Record], RowT], result: ImportResult
) -> dict[int, RowT]:
    """Typed rows by line; unreadable and invalid rows go to ``result`` as failed."""
    parsed: dict[int, RowT] = {}
    for record in records:
        if record.error:
            result.rows.append(RowResult(record.line, record.key(schema), RowStatus.FAILED, record.error))
            continue
        try:
            parsed[record.line] = parse(record)
        except RowError as exc:
            result.rows.append(RowResult(record.line, record.key(schema), RowStatus.FAILED, str(exc)))
    return parsed


def _new_password() -> str:
    """An unusable password (Django's ``!`` prefix): nobody can log in with it."""
    return "!" + secrets.token_urlsafe(30)


# Random values for many rows come from the system's random source a block at a
# time: a call per value costs an import of 100,000 users a third of a second.
_RANDOM_BLOCK = 1024


# The version (4) and variant (RFC 4122) bits of a random UUID.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def _new_ids() -> Iterator[UUID]:
    """Random (version 4) UUIDs, as ``uuid.uuid4()`` makes them."""
    while True:
        block = secrets.token_bytes(16 * _RANDOM_BLOCK)
        for start in range(0, len(block), 16):
            yield UUID(int=int.from_bytes(block[start : start + 16]) & _UUID4_CLEAR | _UUID4_SET)


def _new_passwords() -> Iterator[str]:
    """Passwords as ``_new_password()`` makes them: 30 random bytes, URL-safe."""
    while True:
        text = base64.urlsafe_b64encode(secrets.token_bytes(30 * _RANDOM_BLOCK)).decode()
        for start in range(0, len(text), 40):
            yield "!" + text[start : start + 40]


def _changed(detail: Iterable[str]) -> str:
    return "changed: " + ", ".join(detail)


def _fail(result: ImportResult, line: int, key: str, reason: str) -> None:
    result.rows.append(RowResult(line, key, RowStatus.FAILED, reason))


def _finish(result: ImportResult) -> ImportResult:
    result.rows.sort(key=lambda row: row.line)
    return result


def _audit_import(result: ImportResult, tenant: Tenant | None = None) -> None:
    """The one audit event of an import (``import.users`` ...), with its counts."""
    audit_record(
        action=f"import.{result.kind}",
        target_type="tenant",
        target_id=tenant.pk if tenant else "",
        target_repr=tenant.slug if tenant else "",
        tenant=tenant,
        changes=audit_counts(result.counts()),
    )


def _write_atomically(write: Callable[[], None]) -> None:
    """Run ``write`` in one transaction; a refusal of the database undoes all of it."""
    try:
        with transaction.atomic():
            write()
    except IntegrityError as exc:
        raise ImportConflict(
            "The database changed while importing (another change took one of the same emails or "
            "slugs). Nothing was written; run the import again.",
        ) from exc
    except DatabaseError as exc:
        # The checks should leave the database nothing to refuse: say what it refused, cleanly.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportConflict(f"The database refused the import ({reason}). Nothing was written.") from exc


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class UserRow:
    line: int
    email: str
    full_name: str | None
    role: Role | None
    channels: dict[str, ChannelRole | None] | None
    is_active: bool | None


_USER_CHECKS = (
    lambda values: _required(_email(values, "email"), "email"),
    lambda values: _name(values, "full_name", FULL_NAME_MAX_LENGTH),
    lambda values: _choice(values, "role", ROLES),
    _channel_list,
    lambda values: _flag(values, "is_active"),
)


def _parse_user(record: Record) -> UserRow:
    email, full_name, role, channels, is_active = _checked(record.values, _USER_CHECKS)
    return UserRow(record.line, email, full_name, Role(role) if role else None, channels, is_active)


@dataclass(slots=True)
class NewUser:
    """A user an import creates, as a set-password link needs it."""

    pk: UUID
    tenant_id: UUID
    email: str
    full_name: str
    role: str
    is_active: bool = True
    # Unusable (Django's "!" prefix): nobody logs in until a password is set.
    # Kept here because the set-password link is signed over it.
    password: str = field(default_factory=_new_password)


@dataclass(slots=True)
class _ExistingUser:
    pk: UUID
    tenant_id: UUID | None
    full_name: str
    role: str
    is_active: bool


@dataclass(slots=True)
class _UserChange:
    """What one row changes for an existing user."""

    full_name: str
    role: str
    is_active: bool
    update: tuple[UUID, str, str, bool] | None = None
    joins: list[tuple[UUID, UUID, str]] = field(default_factory=list)
    role_changes: list[tuple[int, str, UUID, UUID]] = field(default_factory=list)


@dataclass
class _UserWrites:
    """What the good rows of a users import will write."""

    created: list[NewUser] = field(default_factory=list)
    updated: list[tuple[UUID, str, str, bool]] = field(default_factory=list)
    memberships_new: list[tuple[UUID, UUID, str]] = field(default_factory=list)
    memberships_role: list[tuple[int, str]] = field(default_factory=list)
    members_changed: dict[UUID, list[UUID]] = field(default_factory=lambda: defaultdict(list))

    def join(self, channel_id: UUID, user_id: UUID, role: str) -> None:
        self.memberships_new.append((channel_id, user_id, role))
        self.members_changed[channel_id].append(user_id)

    def apply(self, change: _UserChange) -> None:
        if change.update is not None:
            self.updated.append(change.update)
        for channel_id, user_id, role in change.joins:
            self.join(channel_id, user_id, role)
        for membership_id, role, channel_id, user_id in change.role_changes:
            self.memberships_role.append((membership_id, role))
            self.members_changed[channel_id].append(user_id)

    def size(self) -> int:
        return len(self.created) + len(self.updated) + len(self.memberships_new) + len(self.memberships_role)


_USER_COLUMNS = ("id", "tenant", "email", "full_name", "role", "is_active", "password")


def _existing_users(emails: Iterable[str]) -> dict[str, _ExistingUser]:
    found = values_in(
        User.objects.all(), "email", emails, "email", "id", "tenant_id", "full_name", "role", "is_active"
    )
    return {email: _ExistingUser(*rest) for email, *rest in found}


def users_import(
    *,
    tenant: Tenant,
    records: Sequence[Record],
    dry_run: bool = False,
    issue_links: bool = True,
    progress: Progress | None = None,
) -> ImportResult:
    """Create or update ``tenant``'s users from ``records`` (see the module docstring).

    New users get an unusable password and, with ``issue_links``, a
    set-password link in their row's result. Existing users of the tenant
    keep their password; a user of another tenant is never touched. Listed
    channels are joined (``slug:moderator`` sets the channel role); channels
    not listed are left alone.
    """
    progress = progress or Progress()
    result = ImportResult(kind="users", dry_run=dry_run)
    rows = _parse_rows(records, USERS, _parse_user, result)
    for line, reason in _duplicates([(row.line, row.email) for row in rows.values()], what="email").items():
        _fail(result, line, rows.pop(line).email, reason)

    def run() -> None:
        writes = _users_plan(tenant, rows, result, progress)
        if not dry_run:
            _users_write(tenant, writes, result, issue_links=issue_links, progress=progress)

    if dry_run:
        run()  # reads only
    else:
        _write_atomically(run)
    return _finish(result)


def _users_plan(
    tenant: Tenant, rows: dict[int, UserRow], result: ImportResult, progress: Progress
) -> _UserWrites:
    """Check every row against the database and decide what it changes."""
    if not result.dry_run:
        # One import into a tenant at a time, so their checks cannot race.
        list(Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))
    progress.start("checking", len(rows))
    existing = _existing_users(row.email for row in rows.values())
    # Direct conversations have fixed members: their slugs are unknown channels here.
    channel_ids: dict[str, UUID] = dict(
        Channel.objects.ordinary().filter(tenant=tenant).values_list("slug", "id")
    )
    ours = [user.pk for user in existing.values() if user.tenant_id == tenant.pk]
    memberships: dict[tuple[UUID, UUID], tuple[int, str]] = {
        (user_id, channel_id): (pk, role)
        for pk, user_id, channel_id, role in values_in(
            Membership.objects.filter(channel__tenant=tenant),
            "user_id",
            ours,
            "id",
            "user_id",
            "channel_id",
            "role",
        )
    }
    active_admins = set(User.objects.for_tenant(tenant).active_admins().values_list("pk", flat=True))

    writes = _UserWrites()
    admins_after = set(active_admins)
    # Rows that demote or deactivate an active admin wait until it is known
    # whether the tenant keeps one.
    demotions: list[tuple[RowResult, _UserChange]] = []
    # The loop runs once per row: names it uses are bound locally.
    tenant_id, created, report = tenant.pk, RowStatus.CREATED, result.rows.append
    new_id, new_password = _new_ids().__next__, _new_passwords().__next__
    for count, row in enumerate(rows.values(), start=1):
        if count % _PROGRESS_EVERY == 0:
            progress.advance(_PROGRESS_EVERY)
        user = existing.get(row.email)
        wanted = row.channels or {}
        unknown = [slug for slug in wanted if slug not in channel_ids] if wanted else None
        if unknown or (user is not None and user.tenant_id != tenant_id):
            problems = []
            if user is not None and user.tenant_id != tenant_id:
                problems.append("the email belongs to an account outside this tenant")
            if unknown:
                listed = ", ".join(repr(slug) for slug in unknown)
                problems.append(f"unknown channel{'s' if len(unknown) > 1 else ''} {listed}")
            _fail(result, row.line, row.email, "; ".join(problems))
            continue
        if user is None:
            is_active = True if row.is_active is None else row.is_active
            new_user = NewUser(
                new_id(),
                tenant_id,
                row.email,
                row.full_name or "",
                row.role or Role.MEMBER,
                is_active,
                new_password(),
            )
            writes.created.append(new_user)
            for slug, channel_role in wanted.items():
                writes.join(channel_ids[slug], new_user.pk, channel_role or ChannelRole.MEMBER)
            if new_user.role == Role.ADMIN and is_active:
                admins_after.add(new_user.pk)
            report(RowResult(row.line, row.email, created))
            continue

        change = _UserChange(
            full_name=user.full_name if row.full_name is None else row.full_name,
            role=user.role if row.role is None else row.role,
            is_active=user.is_active if row.is_active is None else row.is_active,
        )
        changed = [
            name
            for name, old, new in (
                ("full_name", user.full_name, change.full_name),
                ("role", user.role, change.role),
                ("is_active", user.is_active, change.is_active),
            )
            if old != new
        ]
        if changed:
            change.update = (user.pk, change.full_name, change.role, change.is_active)
        for slug, channel_role in wanted.items():
            membership = memberships.get((user.pk, channel_ids[slug]))
            if membership is None:
                change.joins.append((channel_ids[slug], user.pk, channel_role or ChannelRole.MEMBER))
            elif channel_role is not None and membership[1] != channel_role:
                change.role_changes.append((membership[0], channel_role, channel_ids[slug], user.pk))
        if change.joins or change.role_changes:
            changed.append("channels")
        if changed:
            outcome = RowResult(row.line, row.email, RowStatus.UPDATED, _changed(changed))
        else:
            outcome = RowResult(row.line, row.email, RowStatus.UNCHANGED)
        is_admin_after = change.role == Role.ADMIN and change.is_active
        if user.pk in active_admins and not is_admin_after:
            admins_after.discard(user.pk)
            demotions.append((outcome, change))
            continue
        if is_admin_after:
            admins_after.add(user.pk)
        result.rows.append(outcome)
        writes.apply(change)

    keeps_an_admin = bool(admins_after) or not active_admins
    for outcome, change in demotions:
        if keeps_an_admin:
            result.rows.append(outcome)
            writes.apply(change)
        else:  # the admins stay, and the rows that would remove them all fail
            _fail(result, outcome.line, outcome.key, "it would leave the tenant without an active admin")
    progress.finish()
    return writes


def users_insert(users: Sequence[NewUser], *, now: datetime) -> None:
    """Write new users in bulk with unusable passwords. Sends no signal.

    In email order: the email indexes then grow in order, which on PostgreSQL
    makes the load a quarter faster than in the file's order.
    """
    rows_insert(
        User,
        _USER_COLUMNS,
        (
            (user.pk, user.tenant_id, user.email, user.full_name, user.role, user.is_active, user.password)
            for user in sorted(users, key=attrgetter("email"))
        ),
        constants={"is_staff": False, "is_superuser": False, "created_at": now, "updated_at": now},
    )


@contextmanager
def _links_meanwhile(users: Sequence[NewUser]) -> Iterator[Callable[[], dict[UUID, str]]]:
    """Sign set-password links for ``users`` in a thread while the caller writes.

    Signing is pure Python (about 5 microseconds a link), and the bulk writes
    mostly wait for the database, which works in its own process: side by
    side, a hundred thousand links cost the import next to nothing. Yields a
    function that returns ``{user id: link}`` once they are all signed (and
    raises what the signing raised). The thread touches no database connection.
    """
    if not users:
        yield dict
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-links") as pool:
        future = pool.submit(set_password_links_issue, users=users)
        yield future.result


def _users_write(
    tenant: Tenant, writes: _UserWrites, result: ImportResult, *, issue_links: bool, progress: Progress
) -> None:
    progress.start("writing", writes.size())
    now = timezone.now()
    # The users' rows go first: writing them keeps this process busy, while
    # what follows mostly waits on the database and leaves time to sign links.
    users_insert(writes.created, now=now)
    progress.advance(len(writes.created))
    with _links_meanwhile(writes.created if issue_links else []) as signed:
        rows_update(
            User, "id", ["full_name", "role", "is_active"], writes.updated, constants={"updated_at": now}
        )
        # A deactivation ends the account's sessions, as one through the API does
        # (the sync worker revokes its chat tokens).
        refresh_tokens_revoke(
            user_ids=[pk for pk, _name, _role, is_active in writes.updated if not is_active]
        )
        progress.advance(len(writes.updated))
        rows_insert(
            Membership,
            ("channel", "user", "role", "created_at", "updated_at"),
            ((channel_id, user_id, role, now, now) for channel_id, user_id, role in writes.memberships_new),
        )
        progress.advance(len(writes.memberships_new))
        rows_update(Membership, "id", ["role"], writes.memberships_role, constants={"updated_at": now})
        progress.advance(len(writes.memberships_role))

        changed_users = [user.pk for user in writes.created] + [update[0] for update in writes.updated]
        if changed_users:
            users_bulk_changed.send(sender=User, tenant_id=tenant.pk, user_ids=changed_users)
        for channel in Channel.objects.filter(pk__in=list(writes.members_changed)):
            channel_members_changed.send(
                sender=Channel, channel=channel, user_ids=writes.members_changed[channel.pk]
            )
        links = signed()
    if links:
        by_email = {user.email: links[user.pk] for user in writes.created}
        for row in result.rows:
            if row.status == RowStatus.CREATED:
                row.link = by_email[row.key]
    _audit_import(result, tenant)
    progress.finish()


# ---------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class ChannelRow:
    line: int
    slug: str
    name: str | None
    description: str | None
    visibility: str | None


_CHANNEL_CHECKS = (
    lambda values: _required(_slug(values, "slug", CHANNEL_SLUG_MAX_LENGTH), "slug"),
    lambda values: _name(values, "name", CHANNEL_NAME_MAX_LENGTH),
    lambda values: _text(values, "description", CHANNEL_DESCRIPTION_MAX_LENGTH),
    lambda values: _choice(values, "visibility", VISIBILITIES),
)


def _parse_channel(record: Record) -> ChannelRow:
    return ChannelRow(record.line, *_checked(record.values, _CHANNEL_CHECKS))


def channels_import(
    *,
    tenant: Tenant,
    records: Sequence[Record],
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Create or update ``tenant``'s channels from ``records``, keyed by slug.

    A new channel needs a name; it starts with no members (users rows join
    them). Changed name, description or visibility are written and synced.
    """
    progress = progress or Progress()
    result = ImportResult(kind="channels", dry_run=dry_run)
    rows = _parse_rows(records, CHANNELS, _parse_channel, result)
    for line, reason in _duplicates([(row.line, row.slug) for row in rows.values()], what="slug").items():
        _fail(result, line, rows.pop(line).slug, reason)

    def run() -> None:
        if not dry_run:
            list(Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))
        progress.start("checking", len(rows))
        existing = {
            slug: rest
            for slug, *rest in values_in(
                Channel.objects.filter(tenant=tenant),
                "slug",
                (row.slug for row in rows.values()),
                "slug",
                "id",
                "name",
                "description",
                "visibility",
                "kind",
            )
        }
        created: list[tuple[UUID, str, str, str, str]] = []
        updated: list[tuple[UUID, str, str, str]] = []
        for row in rows.values():
            current = existing.get(row.slug)
            if current is not None and current[-1] == ChannelKind.DIRECT:
                _fail(result, row.line, row.slug, "this slug is a direct conversation's, not a channel's")
                continue
            if current is None:
                if row.name is None:
                    _fail(result, row.line, row.slug, "a new channel needs a name")
                    continue
                created.append(
                    (uuid.uuid4(), row.slug, row.name, row.description or "", row.visibility or "public")
                )
                result.rows.append(RowResult(row.line, row.slug, RowStatus.CREATED))
                continue
            channel_id, name, description, visibility, _kind = current
            wanted = (
                row.name or name,
                description if row.description is None else row.description,
                row.visibility or visibility,
            )
            changed = [
                label
                for label, old, new in zip(
                    ("name", "description", "visibility"),
                    (name, description, visibility),
                    wanted,
                    strict=True,
                )
                if old != new
            ]
            if changed:
                updated.append((channel_id, *wanted))
                result.rows.append(RowResult(row.line, row.slug, RowStatus.UPDATED, _changed(changed)))
            else:
                result.rows.append(RowResult(row.line, row.slug, RowStatus.UNCHANGED))
        progress.finish()
        if dry_run:
            return
        progress.start("writing", len(created) + len(updated))
        now = timezone.now()
        rows_insert(
            Channel,
            ("id", "tenant", "slug", "name", "description", "visibility", "created_at", "updated_at"),
            ((pk, tenant.pk, slug, name, desc, vis, now, now) for pk, slug, name, desc, vis in created),
        )
        rows_update(
            Channel, "id", ["name", "description", "visibility"], updated, constants={"updated_at": now}
        )
        changed_ids = [row[0] for row in created] + [row[0] for row in updated]
        if changed_ids:
            channels_bulk_changed.send(sender=Channel, tenant_id=tenant.pk, channel_ids=changed_ids)
        _audit_import(result, tenant)
        progress.finish()

    if dry_run:
        run()  # reads only
    else:
        _write_atomically(run)
    return _finish(result)


# ---------------------------------------------------------------------------
# Tenants
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class TenantRow:
    line: int
    slug: str
    name: str | None
    status: str | None
    admin_email: str | None
    admin_full_name: str | None


_TENANT_CHECKS = (
    lambda values: _required(_slug(values, "slug", SLUG_MAX_LENGTH), "slug"),
    lambda values: _name(values, "name", TENANT_NAME_MAX_LENGTH),
    lambda values: _choice(values, "status", TENANT_STATUSES),
    lambda values: _email(values, "admin_email"),
    lambda values: _name(values, "admin_full_name", FULL_NAME_MAX_LENGTH),
)


def _parse_tenant(record: Record) -> TenantRow:
    return TenantRow(record.line, *_checked(record.values, _TENANT_CHECKS))


@dataclass
class _TenantWrites:
    created: list[tuple[UUID, str, str, str]] = field(default_factory=list)
    renamed: list[tuple[UUID, str]] = field(default_factory=list)
    status_changes: list[tuple[UUID, str]] = field(default_factory=list)
    admins_created: list[NewUser] = field(default_factory=list)
    admins_updated: list[tuple[UUID, UUID, str, str]] = field(default_factory=list)


def tenants_import(
    *,
    records: Sequence[Record],
    dry_run: bool = False,
    issue_links: bool = True,
    progress: Progress | None = None,
) -> ImportResult:
    """Create or update tenants with their first admin from ``records``, keyed by slug.

    A new tenant needs a name and ``admin_email``: that admin is created with
    the ``admin`` role (and, with ``issue_links``, a set-password link). For
    an existing tenant, ``admin_email`` names someone who must be an admin of
    it: created if missing, promoted if a member or moderator. A status change
    suspends or reactivates the tenant as the API would.
    """
    progress = progress or Progress()
    result = ImportResult(kind="tenants", dry_run=dry_run)
    rows = _parse_rows(records, TENANTS, _parse_tenant, result)
    for line, reason in _duplicates([(row.line, row.slug) for row in rows.values()], what="slug").items():
        _fail(result, line, rows.pop(line).slug, reason)
    admin_rows = [(row.line, row.admin_email) for row in rows.values() if row.admin_email]
    for line, reason in _duplicates(admin_rows, what="admin_email").items():
        _fail(result, line, rows.pop(line).slug, reason)

    def run() -> None:
        writes = _tenants_plan(rows, result, progress)
        if not dry_run:
            _tenants_write(writes, result, issue_links=issue_links, progress=progress)

    if dry_run:
        run()  # reads only
    else:
        _write_atomically(run)
    return _finish(result)


def _tenants_plan(rows: dict[int, TenantRow], result: ImportResult, progress: Progress) -> _TenantWrites:
    progress.start("checking", len(rows))
    tenants = {
        slug: rest
        for slug, *rest in values_in(
            Tenant.objects.all(), "slug", (row.slug for row in rows.values()), "slug", "id", "name", "status"
        )
    }
    users = _existing_users(row.admin_email for row in rows.values() if row.admin_email)
    writes = _TenantWrites()
    for row in rows.values():
        current = tenants.get(row.slug)
        admin = users.get(row.admin_email) if row.admin_email else None
        if current is None:
            problems = []
            if row.name is None:
                problems.append("a new tenant needs a name")
            if row.admin_email is None:
                problems.append("a new tenant needs admin_email (its first admin)")
            elif admin is not None:
                problems.append("admin_email belongs to an existing account")
            if problems:
                _fail(result, row.line, row.slug, "; ".join(problems))
                continue
            tenant_id = uuid.uuid4()
            writes.created.append((tenant_id, row.slug, row.name or "", row.status or TenantStatus.ACTIVE))
            writes.admins_created.append(
                NewUser(uuid.uuid4(), tenant_id, row.admin_email or "", row.admin_full_name or "", Role.ADMIN)
            )
            result.rows.append(
                RowResult(row.line, row.slug, RowStatus.CREATED, admin_email=row.admin_email or "")
            )
            continue

        tenant_id, name, status = current
        changed = []
        if row.admin_email is not None:
            if admin is None:
                writes.admins_created.append(
                    NewUser(uuid.uuid4(), tenant_id, row.admin_email, row.admin_full_name or "", Role.ADMIN)
                )
                changed.append("admin created")
            elif admin.tenant_id != tenant_id:
                _fail(result, row.line, row.slug, "admin_email belongs to an account outside this tenant")
                continue
            else:
                full_name = admin.full_name if row.admin_full_name is None else row.admin_full_name
                if admin.role != Role.ADMIN:
                    changed.append("admin role")
                if full_name != admin.full_name:
                    changed.append("admin_full_name")
                if admin.role != Role.ADMIN or full_name != admin.full_name:
                    writes.admins_updated.append((admin.pk, tenant_id, full_name, Role.ADMIN))
        if row.name is not None and row.name != name:
            writes.renamed.append((tenant_id, row.name))
            changed.insert(0, "name")
        if row.status is not None and row.status != status:
            writes.status_changes.append((tenant_id, row.status))
            changed.insert(0, "status")
        status_now = RowStatus.UPDATED if changed else RowStatus.UNCHANGED
        detail = _changed(changed) if changed else ""
        result.rows.append(
            RowResult(row.line, row.slug, status_now, detail, admin_email=row.admin_email or "")
        )
    progress.finish()
    return writes


def _tenants_write(
    writes: _TenantWrites, result: ImportResult, *, issue_links: bool, progress: Progress
) -> None:
    progress.start("writing", len(result.rows))
    now = timezone.now()
    rows_insert(
        Tenant,
        ("id", "slug", "name", "status", "created_at", "updated_at"),
        ((pk, slug, name, status, now, now) for pk, slug, name, status in writes.created),
    )
    rows_update(Tenant, "id", ["name"], writes.renamed, constants={"updated_at": now})
    users_insert(writes.admins_created, now=now)
    rows_update(
        User,
        "id",
        ["full_name", "role"],
        [(pk, full_name, role) for pk, _, full_name, role in writes.admins_updated],
        constants={"updated_at": now},
    )
    changed_by_tenant: dict[UUID, list[UUID]] = defaultdict(list)
    for user in writes.admins_created:
        changed_by_tenant[user.tenant_id].append(user.pk)
    for pk, tenant_id, _, _ in writes.admins_updated:
        changed_by_tenant[tenant_id].append(pk)
    for tenant_id, user_ids in changed_by_tenant.items():
        users_bulk_changed.send(sender=User, tenant_id=tenant_id, user_ids=user_ids)
    # Status changes go through the services: they tell the chat service to
    # deactivate or restore every user of the tenant.
    for tenant in Tenant.objects.filter(pk__in=[pk for pk, _ in writes.status_changes]):
        status = dict(writes.status_changes)[tenant.pk]
        if status == TenantStatus.SUSPENDED:
            tenant_suspend(tenant=tenant)
        else:
            tenant_reactivate(tenant=tenant)
    if issue_links and writes.admins_created:
        links = set_password_links_issue(users=writes.admins_created)
        by_email = {user.email: links[user.pk] for user in writes.admins_created}
        for row in result.rows:
            if row.admin_email in by_email and row.status != RowStatus.FAILED:
                row.link = by_email[row.admin_email]
    _audit_import(result)
    progress.finish()
