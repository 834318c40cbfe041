"""``manage.py import_tenants FILE``: create or update tenants with their first admin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from onboarding.imports import TENANTS, ImportResult, Record, RowResult, tenants_import
from onboarding.management.base import ImportCommand
from onboarding.progress import Progress
from tenants.models import Tenant


class Command(ImportCommand):
    help = (
        "Create or update tenants from CSV (slug,name,status,admin_email,admin_full_name) or JSON Lines "
        "with the same fields. Upserts on the slug; a new tenant's admin gets a set-password link in "
        "the report."
    )
    schema = TENANTS
    takes_tenant = False
    issues_links = True

    def run(
        self, *, tenant: Tenant | None, records: Sequence[Record], options: dict[str, Any], progress: Progress
    ) -> ImportResult:
        return tenants_import(
            records=records,
            dry_run=options["dry_run"],
            issue_links=options["issue_links"],
            progress=progress,
        )

    def report_header(self) -> list[str]:
        return [*super().report_header(), "admin_email", "set_password_link"]

    def report_row(self, row: RowResult) -> list[Any]:
        return [*super().report_row(row), row.admin_email, row.link]
