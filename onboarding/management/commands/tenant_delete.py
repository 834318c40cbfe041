"""Delete a tenant with everything in it (the chat service follows through the sync)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db.models import Count

from chatplatform.management.base import TenantCommand
from tenants.services import tenant_delete


class Command(TenantCommand):
    tenant_positional = True

    help = "Delete a tenant, its users, channels and chat data. Without --yes, only says what would go."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="Really delete.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.require_tenant(options)
        users = tenant.users.count()
        channels = tenant.channels.count()
        memberships = tenant.channels.aggregate(n=Count("memberships"))["n"]
        summary = (
            f"{tenant.name} ({tenant.slug}): {users} users, {channels} channels, {memberships} memberships"
        )
        if not options["yes"]:
            self.stdout.write(f"Would delete {summary}.")
            self.stdout.write(
                "Nothing was deleted. Run again with --yes to delete; consider suspending instead."
            )
            return
        tenant_delete(tenant=tenant)
        self.stdout.write(self.style.SUCCESS(f"Deleted {summary}."))
        self.stdout.write(
            "Its chat data is being removed by the sync worker; the audit log keeps the record."
        )
