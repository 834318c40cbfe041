"""Shared bases for management commands."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Tenant


class TenantCommand(BaseCommand):
    """A command that works inside one tenant, named with ``--tenant SLUG`` (or,
    with ``tenant_positional``, as its first argument ``SLUG``)."""

    tenant_required = True
    tenant_positional = False
    tenant_help = "The tenant's slug."

    def add_arguments(self, parser: CommandParser) -> None:
        if self.tenant_positional:
            parser.add_argument("tenant", metavar="SLUG", help=self.tenant_help)
        else:
            parser.add_argument(
                "--tenant", metavar="SLUG", required=self.tenant_required, help=self.tenant_help
            )

    def get_tenant(self, options: dict[str, Any]) -> Tenant | None:
        slug = options.get("tenant")
        if not slug:
            return None
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {slug!r}.")
        return tenant

    def require_tenant(self, options: dict[str, Any]) -> Tenant:
        """The tenant of a command that cannot run without one."""
        tenant = self.get_tenant(options)
        if tenant is None:
            raise CommandError("Name the tenant: --tenant SLUG.")
        return tenant
