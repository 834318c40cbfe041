"""``manage.py export_tenant SLUG [--output FILE]``: a tenant as JSON Lines."""

from __future__ import annotations

import os
from typing import Any, TextIO

from django.core.management.base import CommandError, CommandParser

from chatplatform.management.base import TenantCommand
from onboarding.exports import tenant_export
from onboarding.progress import progress_for


class Command(TenantCommand):
    tenant_positional = True

    help = (
        "Write a tenant, its channels, and its users with their channel memberships (no password "
        "hashes) as JSON Lines that import_tenants, import_channels and import_users read back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--output", metavar="FILE", help="Write to FILE instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.require_tenant(options)
        path = options["output"]
        if path:
            with self._open(path) as out:
                counts = tenant_export(tenant=tenant, out=out, progress=progress_for(self.stderr))
            summary_to = self.stdout
        else:
            counts = tenant_export(tenant=tenant, out=self.stdout, progress=progress_for(self.stderr))
            summary_to = self.stderr  # standard output carries the data
        summary_to.write(
            f"Exported {tenant.slug}: {counts.channels} channels, {counts.users} users, "
            f"{counts.memberships} memberships."
        )

    def _open(self, path: str) -> TextIO:
        """The export holds people's names and emails: only its owner may read it."""
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
        return open(descriptor, "w", encoding="utf-8")
