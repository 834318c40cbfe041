"""Progress of long imports and exports: a bar on a terminal, nothing elsewhere.

Services report phases and counts to a :class:`Progress`; the commands hand
them a :class:`TerminalProgress` when standard error is a terminal, so logs,
pipes and tests see only the final summary.
"""

from __future__ import annotations

import time
from typing import TextIO

from django.core.management.base import OutputWrapper

BAR_WIDTH = 30
# Redraws per second at most: drawing must not cost what it measures.
_REDRAW_INTERVAL = 0.1


class Progress:
    """Silent: what services get when nobody watches."""

    def start(self, label: str, total: int) -> None:
        """Begin a phase of ``total`` steps (0 when unknown)."""

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current phase are done."""

    def finish(self) -> None:
        """The current phase is over."""


class TerminalProgress(Progress):
    """``label [#####.....]  45%  4,500/10,000`` redrawn in place on ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.label = ""
        self.total = 0
        self.done = 0
        self._drawn_at = 0.0
        self._active = False

    def start(self, label: str, total: int) -> None:
        self.finish()
        self.label, self.total, self.done = label, total, 0
        self._active = True
        self._draw(force=True)

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        self._draw()

    def finish(self) -> None:
        if self._active:
            self.done = max(self.done, self.total)
            self._draw(force=True)
            self._write("\n")
            self._active = False

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < _REDRAW_INTERVAL:
            return
        self._drawn_at = now
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = round(share * BAR_WIDTH)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            line = f"{self.label:<10} [{bar}] {share:4.0%}  {self.done:,}/{self.total:,}"
        else:
            line = f"{self.label:<10} {self.done:,}"
        self._write(f"\r{line}")

    def _write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            # A command's stream would add a newline, and colour standard error as an error.
            self.stream.write(text, style_func=_plain, ending="")
        else:
            self.stream.write(text)
        self.stream.flush()


def _plain(text: str) -> str:
    return text


def progress_for(stream: TextIO) -> Progress:
    """A bar when ``stream`` is a terminal, else silence."""
    isatty = getattr(stream, "isatty", None)
    return TerminalProgress(stream) if isatty is not None and isatty() else Progress()
