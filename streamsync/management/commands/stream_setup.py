"""Configure the chat service app for the platform (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from streamsync.client import chat_base_url, classify, get_client
from streamsync.setup import stream_setup


class Command(BaseCommand):
    help = "Turn on multi-tenancy and create the roles and grants the platform relies on; print what changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--webhook-url", help="Also register this URL (…/api/stream/webhook) as a webhook."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            changes = stream_setup(
                get_client(), webhook_url=options["webhook_url"], dry_run=options["dry_run"]
            )
        except Exception as exc:
            raise CommandError(f"{chat_base_url()}: {classify(exc).message}") from exc
        prefix = "Would have " if options["dry_run"] else ""
        if not changes:
            self.stdout.write(f"{chat_base_url()}: already set up; nothing changed.")
        for change in changes:
            self.stdout.write(f"{prefix}{change}")
