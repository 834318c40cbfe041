"""Export one person's data as JSON (data subject access requests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User, normalize_email
from onboarding.personal_data import user_data_export


class Command(BaseCommand):
    help = "Write everything we hold about a user as JSON (standard output, or --output FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--output", type=Path, help="Write to this file instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.select_related("tenant").filter(email=normalize_email(options["email"])).first()
        if user is None:
            raise CommandError(f"No user with the email {options['email']!r}.")
        text = json.dumps(user_data_export(user=user), indent=2, ensure_ascii=False)
        if options["output"]:
            options["output"].write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']}.")
        else:
            self.stdout.write(text)
