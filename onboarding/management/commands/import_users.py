"""``manage.py import_users --tenant SLUG FILE``: create or update a tenant's users."""

from __future__ import annotations

from typing import Any

from onboarding.imports import USERS, RowResult, users_import
from onboarding.management.base import ImportCommand


class Command(ImportCommand):
    help = (
        "Create or update a tenant's users from CSV (email,full_name,role,channels[,is_active]; channels "
        "separated by '|', 'slug:moderator' for a channel moderator) or JSON Lines with the same fields. "
        "Upserts on email; new users get a set-password link in the report."
    )
    schema = USERS
    importer = staticmethod(users_import)
    issues_links = True

    def report_header(self) -> list[str]:
        return [*super().report_header(), "set_password_link"]

    def report_row(self, row: RowResult) -> list[Any]:
        return [*super().report_row(row), row.link]
