"""What every importer shares: the per-row results and their report, the
checks across rows (duplicates), and how the plan and the write run (one
transaction, one audit event, a clean refusal when the database says no)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from django.db import DatabaseError, IntegrityError, transaction

from audit.services import audit_counts, audit_record
from chatplatform.errors import ApplicationError
from onboarding.imports.records import Record, Schema
from onboarding.imports.values import RowError
from tenants.models import Tenant

RowT = TypeVar("RowT")
PlanT = TypeVar("PlanT")

# How often (in rows) the checking phase reports progress.
PROGRESS_EVERY = 5000


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


def duplicates(rows: Iterable[tuple[int, str]], *, what: str) -> dict[int, str]:
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


def parse_rows(
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


def changed_detail(detail: Iterable[str]) -> str:
    return "changed: " + ", ".join(detail)


def fail(result: ImportResult, line: int, key: str, reason: str) -> None:
    result.rows.append(RowResult(line, key, RowStatus.FAILED, reason))


def finish(result: ImportResult) -> ImportResult:
    result.rows.sort(key=lambda row: row.line)
    return result


def audit_import(result: ImportResult, tenant: Tenant | None = None) -> None:
    """The one audit event of an import (``import.users`` ...), with its counts."""
    audit_record(
        action=f"import.{result.kind}",
        target_type="tenant",
        target_id=tenant.pk if tenant else "",
        target_repr=tenant.slug if tenant else "",
        tenant=tenant,
        changes=audit_counts(result.counts()),
    )


def write_atomically(write: Callable[[], None]) -> None:
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


def lock_tenant(tenant: Tenant) -> None:
    """One import into a tenant at a time, so that their checks cannot race."""
    list(Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))


def plan_and_write(plan: Callable[[], PlanT], write: Callable[[PlanT], None], *, dry_run: bool) -> None:
    """Check every row against the database (``plan``), then ``write`` what it
    decided, in one transaction; a dry run only reads."""
    if dry_run:
        plan()
    else:
        write_atomically(lambda: write(plan()))
