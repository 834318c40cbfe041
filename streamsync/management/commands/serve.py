"""The development server with the chat sync worker alongside: ``make run`` uses it.

HTTP and the built-in engine's WebSocket are served by daphne (as ``runserver``
does); a background thread runs the sync worker, so a change made in the API or
the admin reaches the chat service within about a second.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from daphne.management.commands.runserver import Command as RunserverCommand
from django.conf import settings
from django.core.management.base import CommandParser
from django.db import DatabaseError

from accounts.models import User
from chatplatform.management.commands.seed_demo import DEMO_PASSWORD, STAFF_EMAIL
from streamsync.client import get_client
from streamsync.setup import stream_setup
from streamsync.worker import SyncWorker

logger = logging.getLogger("streamsync.serve")


class Command(RunserverCommand):
    help = "Run the development server and the chat sync worker."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--no-sync", action="store_true", help="Do not run the sync worker.")

    def inner_run(self, *args: Any, **options: Any) -> None:
        # inner_run runs once per server process (in the reloader's child), so the
        # worker restarts with the code it runs.
        # Links in mails follow the address served unless SITE_URL says otherwise.
        if "SITE_URL" not in os.environ:
            settings.SITE_URL = self._base()
        if not options.get("no_sync"):
            if not settings.STREAM_BASE_URL:
                settings.CHATENGINE_URL = f"{self._base()}/chat-api"
            threading.Thread(target=self._run_sync, name="chat-sync", daemon=True).start()
        self._banner()
        super().inner_run(*args, **options)

    def _base(self) -> str:
        host = "127.0.0.1" if self.addr in ("0.0.0.0", "", "::") else self.addr  # noqa: S104
        return f"http://{host}:{self.port}"

    def _banner(self) -> None:
        """Where everything is, before the server's own start-up lines."""
        base = self._base()
        chat = settings.STREAM_BASE_URL or f"{base}/chat-api/"
        for label, url in (
            ("Web client", f"{base}/"),
            ("Onboarding console", f"{base}/admin/"),
            ("API reference", f"{base}/swagger/"),
            ("Chat service", chat),
        ):
            self.stdout.write(f"  {label:<20} {url}")
        if self._has_demo_data():
            self.stdout.write(
                f"  {'Demo sign-in':<20} alice@acme.test (admin), mary@acme.test (member), "
                f"{STAFF_EMAIL} (console); password {DEMO_PASSWORD}"
            )

    def _has_demo_data(self) -> bool:
        try:
            return User.objects.filter(email=STAFF_EMAIL).exists()
        except DatabaseError:  # not migrated yet: Django's check says so next
            return False

    def _run_sync(self) -> None:
        if not settings.STREAM_BASE_URL:
            # The built-in engine is ours to configure; Stream's cloud is set up
            # deliberately with `manage.py stream_setup`.
            while True:
                try:
                    for change in stream_setup(get_client()):
                        logger.info("chat engine: %s", change)
                    break
                except Exception as exc:
                    logger.debug("chat engine not ready yet: %s", exc)
                    time.sleep(0.5)
        logger.info("sync worker started")
        SyncWorker().run_forever(threading.Event())
