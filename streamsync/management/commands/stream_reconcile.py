"""Compare the database with the chat service, tenant by tenant; ``--fix`` queues the repairs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from chatplatform.management.base import TenantCommand
from streamsync.client import classify, get_client
from streamsync.reconcile import reconcile_fix, reconcile_tenant
from tenants.models import Tenant


class Command(TenantCommand):
    tenant_required = False
    tenant_help = "Only this tenant."

    help = "Report drift between the database and the chat service (users, channels, members)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--fix", action="store_true", help="Queue the repairs through the outbox.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options)
        tenants = [tenant] if tenant else Tenant.objects.order_by("slug")
        client = get_client()
        total_drift = total_queued = 0
        for tenant in tenants:
            try:
                report = reconcile_tenant(client, tenant)
            except Exception as exc:
                raise CommandError(
                    f"{tenant.slug}: the chat service failed: {classify(exc).message}"
                ) from exc
            status = "in sync" if not report.drifts else f"{len(report.drifts)} differences"
            self.stdout.write(
                f"{tenant.slug}: {report.users_checked} users, {report.channels_checked} channels: {status}"
            )
            for drift in report.drifts:
                self.stdout.write(f"  {drift}")
            if report.webhook_events:
                self.stdout.write(f"  {report.webhook_events} chat-side change(s) reported by webhooks")
            total_drift += len(report.drifts)
            if options["fix"] and report.drifts:
                queued = reconcile_fix(report)
                total_queued += queued
                self.stdout.write(f"  queued {queued} repairs")
        summary = f"{total_drift} differences"
        if options["fix"]:
            summary += f", {total_queued} repairs queued (the sync worker applies them)"
        self.stdout.write(self.style.SUCCESS(summary) if not total_drift else summary)
