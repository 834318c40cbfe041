"""Run the sync worker: ``--once`` drains what is due and exits; otherwise it loops
until SIGTERM/SIGINT, letting the current batch finish."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from streamsync.worker import SyncWorker


class Command(BaseCommand):
    help = "Send pending control-plane changes to the chat service."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Drain what is due now, then exit.")
        parser.add_argument("--batch-size", type=int, default=None, help="Rows claimed per batch.")
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="With --once: stop after this long."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = SyncWorker(batch_size=options["batch_size"])
        if options["once"]:
            handled = worker.drain(max_seconds=options["max_seconds"])
            self.stdout.write(f"Processed {handled} outbox rows.")
            return
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            self.stdout.write("Stopping after the current batch...")
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write(f"Sync worker {worker.worker_id} running (Ctrl-C to stop).")
        worker.run_forever(stop)
        self.stdout.write("Sync worker stopped.")
