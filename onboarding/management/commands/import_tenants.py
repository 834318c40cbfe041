"""``manage.py import_tenants FILE``: create or update tenants with their first admin."""

from __future__ import annotations

from typing import Any

from onboarding.imports import TENANTS, RowResult, tenants_import
from onboarding.management.base import ImportCommand


class Command(ImportCommand):
    help = (
        "Create or update tenants from CSV (slug,name,status,admin_email,admin_full_name) or JSON Lines "
        "with the same fields. Upserts on the slug; a new tenant's admin gets a set-password link in "
        "the report."
    )
    schema = TENANTS
    importer = staticmethod(tenants_import)
    takes_tenant = False
    issues_links = True

    def report_header(self) -> list[str]:
        return [*super().report_header(), "admin_email", "set_password_link"]

    def report_row(self, row: RowResult) -> list[Any]:
        return [*super().report_row(row), row.admin_email, row.link]
