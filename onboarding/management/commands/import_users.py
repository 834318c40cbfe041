"""``manage.py import_users --tenant SLUG FILE``: create or update a tenant's users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from onboarding.imports import USERS, ImportResult, Record, RowResult, users_import
from onboarding.management.base import ImportCommand
from onboarding.progress import Progress
from tenants.models import Tenant


class Command(ImportCommand):
    help = (
        "Create or update a tenant's users from CSV (email,full_name,role,channels[,is_active]; channels "
        "separated by '|', 'slug:moderator' for a channel moderator) or JSON Lines with the same fields. "
        "Upserts on email; new users get a set-password link in the report."
    )
    schema = USERS
    issues_links = True

    def run(
        self, *, tenant: Tenant | None, records: Sequence[Record], options: dict[str, Any], progress: Progress
    ) -> ImportResult:
        assert tenant is not None  # --tenant is required
        return users_import(
            tenant=tenant,
            records=records,
            dry_run=options["dry_run"],
            issue_links=options["issue_links"],
            progress=progress,
        )

    def report_header(self) -> list[str]:
        return [*super().report_header(), "set_password_link"]

    def report_row(self, row: RowResult) -> list[Any]:
        return [*super().report_row(row), row.link]
