"""What every import command shares: the file, ``--format``, ``--dry-run``,
``--report``, the progress bar, the per-row report and the summary."""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import CommandError, CommandParser

from chatplatform.db import gc_paused
from chatplatform.errors import ApplicationError
from chatplatform.management.base import TenantCommand
from onboarding.imports import (
    FORMATS,
    ImportResult,
    RowResult,
    RowStatus,
    Schema,
    detect_format,
    read_records,
)
from onboarding.progress import progress_for
from tenants.models import Tenant

# Exit statuses: 0 every row imported; 1 nothing imported (bad file, bad
# arguments, database conflict); 2 some rows failed and the others were imported.
EXIT_ROWS_FAILED = 2


class ImportCommand(TenantCommand):
    """An import of one kind of row. Subclasses name the ``schema`` of the rows
    and the service that imports them, which takes ``records``, ``dry_run``
    and ``progress``, plus ``tenant`` when ``takes_tenant`` (``--tenant SLUG``)
    and ``issue_links`` when ``issues_links`` (set-password links)."""

    schema: Schema
    importer: Callable[..., ImportResult]
    takes_tenant = True
    issues_links = False

    def add_arguments(self, parser: CommandParser) -> None:
        if self.takes_tenant:
            super().add_arguments(parser)
        parser.add_argument(
            "file",
            metavar="FILE",
            help="CSV with a header, or JSON Lines (as export_tenant writes); '-' reads standard input.",
        )
        parser.add_argument(
            "--format", choices=FORMATS, help="The file's format (default: from its extension or content)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row against the database; write nothing."
        )
        parser.add_argument(
            "--report",
            metavar="FILE",
            help="Write a CSV with one line per row: its status, what changed or why it failed"
            + (", and the set-password link of each created user." if self.issues_links else "."),
        )
        if self.issues_links:
            parser.add_argument(
                "--no-links",
                action="store_true",
                help="Issue no set-password links (the users get them later, e.g. by invitation).",
            )

    def report_header(self) -> list[str]:
        return ["line", self.schema.key, "status", "detail"]

    def report_row(self, row: RowResult) -> list[Any]:
        return [row.line, row.key, row.status, row.detail]

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options) if self.takes_tenant else None
        dry_run = options["dry_run"]
        issue_links = self.issues_links and not options.get("no_links")
        if issue_links and not dry_run and not options["report"]:
            raise CommandError(
                "Created users get set-password links, which only go to the report: "
                "pass --report FILE (or --no-links)."
            )
        data, name = self._read(options["file"])
        fmt = options["format"] or detect_format(name, data)
        with ExitStack() as stack:
            stack.enter_context(gc_paused())
            # Opened before importing so that a bad path fails before any write.
            report = stack.enter_context(self._open_report(options["report"])) if options["report"] else None
            try:
                arguments: dict[str, Any] = {
                    "records": read_records(data, schema=self.schema, fmt=fmt),
                    "dry_run": dry_run,
                    "progress": progress_for(self.stderr),
                }
                if self.takes_tenant:
                    arguments["tenant"] = tenant
                if self.issues_links:
                    arguments["issue_links"] = issue_links
                result = self.importer(**arguments)
            except ApplicationError as exc:
                if report is not None:
                    report.close()
                    Path(options["report"]).unlink(missing_ok=True)
                raise CommandError(exc.message) from exc
            if report is not None:
                self._write_report(report, result)
        self._summarize(result, tenant)

    def _read(self, path: str) -> tuple[bytes, str]:
        if path == "-":
            return sys.stdin.buffer.read(), ""
        try:
            return Path(path).read_bytes(), path
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc

    def _open_report(self, path: str) -> TextIO:
        """The report holds set-password links: only its owner may read it."""
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise CommandError(f"Cannot write the report {path}: {exc.strerror or exc}.") from exc
        return open(descriptor, "w", newline="", encoding="utf-8")

    def _write_report(self, stream: TextIO, result: ImportResult) -> None:
        writer = csv.writer(stream)
        writer.writerow(self.report_header())
        writer.writerows(self.report_row(row) for row in result.rows)

    def _summarize(self, result: ImportResult, tenant: Tenant | None) -> None:
        for row in result.failed:
            key = f"{row.key}: " if row.key else ""
            self.stderr.write(f"line {row.line}: {key}{row.detail}")
        counts = result.counts()
        target = f" into {tenant.slug}" if tenant is not None else ""
        figures = ", ".join(f"{counts[status]} {status}" for status in RowStatus)
        prefix = "Dry run, nothing written: " if result.dry_run else ""
        self.stdout.write(f"{prefix}{result.kind}{target}: {figures}.")
        if result.failed:
            total = len(result.rows)
            outcome = "nothing was written (dry run)" if result.dry_run else "the other rows were imported"
            raise CommandError(
                f"{len(result.failed)} of {total} rows failed (listed above); {outcome}.",
                returncode=EXIT_ROWS_FAILED,
            )
