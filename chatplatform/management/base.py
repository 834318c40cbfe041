"""Shared bases for management commands."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Tenant


class TenantCommand(BaseCommand):
    """A command that works inside one tenant, named with ``--tenant SLUG``."""

    tenant_required = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant", metavar="SLUG", required=self.tenant_required, help="The tenant's slug."
        )

    def get_tenant(self, options: dict[str, Any]) -> Tenant | None:
        slug = options.get("tenant")
        if not slug:
            return None
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {slug!r}.")
        return tenant
