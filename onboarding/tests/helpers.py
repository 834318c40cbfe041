"""Running the import and export commands as an operator would, and reading what they left."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from audit.models import AuditEvent
from channels_app.models import Membership
from onboarding.models import Invitation
from streamsync.models import OutboxEntry


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


class TerminalStream(io.StringIO):
    """Standard error as a terminal sees it."""

    def isatty(self) -> bool:
        return True


def run_command(name: str, *args: str, stderr: io.StringIO | None = None) -> Run:
    """The command's exit status and output; a CommandError is how a command exits non-zero."""
    out, err = io.StringIO(), stderr if stderr is not None else io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        return Run(exc.returncode, out.getvalue(), err.getvalue())
    return Run(0, out.getvalue(), err.getvalue())


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def snapshot() -> dict[str, object]:
    """Everything an import may write, to compare before and after."""
    return {
        "users": sorted(User.objects.values_list("email", "full_name", "role", "is_active", "tenant_id")),
        "memberships": sorted(Membership.objects.values_list("channel__slug", "user__email", "role")),
        "invitations": Invitation.objects.count(),
        "outbox": sorted(OutboxEntry.objects.values_list("entity_type", "entity_id")),
        "audit": AuditEvent.objects.count(),
    }


def outbox() -> list[tuple[str, str]]:
    return sorted(OutboxEntry.objects.values_list("entity_type", "entity_id"))


def accept_link(url: str, password: str = "a-fine-long-passphrase"):  # noqa: S107
    """Use a set-password or invitation link the way its page does."""
    from rest_framework.test import APIClient

    token = url.rsplit("/", 1)[1]
    return APIClient().post("/api/invitations/accept", {"token": token, "password": password}, format="json")
