"""``manage.py import_channels --tenant SLUG FILE``: create or update a tenant's channels."""

from __future__ import annotations

from onboarding.imports import CHANNELS, channels_import
from onboarding.management.base import ImportCommand


class Command(ImportCommand):
    help = (
        "Create or update a tenant's channels from CSV (slug,name,description,visibility) or JSON Lines "
        "with the same fields. Upserts on the slug; users rows join the channels."
    )
    schema = CHANNELS
    importer = staticmethod(channels_import)
