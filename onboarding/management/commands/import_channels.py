"""``manage.py import_channels --tenant SLUG FILE``: create or update a tenant's channels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from onboarding.imports import CHANNELS, ImportResult, Record, channels_import
from onboarding.management.base import ImportCommand
from onboarding.progress import Progress
from tenants.models import Tenant


class Command(ImportCommand):
    help = (
        "Create or update a tenant's channels from CSV (slug,name,description,visibility) or JSON Lines "
        "with the same fields. Upserts on the slug; users rows join the channels."
    )
    schema = CHANNELS

    def run(
        self, *, tenant: Tenant | None, records: Sequence[Record], options: dict[str, Any], progress: Progress
    ) -> ImportResult:
        assert tenant is not None  # --tenant is required
        return channels_import(tenant=tenant, records=records, dry_run=options["dry_run"], progress=progress)
