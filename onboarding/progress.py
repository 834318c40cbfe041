"""Progress of long imports and exports: a bar on a terminal, nothing elsewhere.

Services report phases and counts to a :class:`Progress`; the commands hand
them a :class:`TerminalProgress` when standard error is a terminal, so logs,
pipes and tests see only the final summary. The bar is tqdm's.
"""

from __future__ import annotations

from typing import TextIO

from django.core.management.base import OutputWrapper
from tqdm import tqdm

BAR_WIDTH = 30
# Redraws per second at most: drawing must not cost what it measures.
_REDRAW_INTERVAL = 0.1
_BAR_FORMAT = f"{{desc:<10}} [{{bar:{BAR_WIDTH}}}] {{percentage:3.0f}}%  {{n:,}}/{{total:,}}"
_COUNT_FORMAT = "{desc:<10} {n:,}"


class Progress:
    """Silent: what services get when nobody watches."""

    def start(self, label: str, total: int) -> None:
        """Begin a phase of ``total`` steps (0 when unknown)."""

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current phase are done."""

    def finish(self) -> None:
        """The current phase is over."""


class _Bar(tqdm):
    # No monitor thread: the phases report often enough by themselves.
    monitor_interval = 0


class _Unstyled:
    """A command's stream as a plain file: its ``write`` would add a newline,
    and colour standard error as an error."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text, style_func=_plain, ending="")

    def flush(self) -> None:
        self.stream.flush()


def _plain(text: str) -> str:
    return text


class TerminalProgress(Progress):
    """``label [#####.....]  45%  4,500/10,000`` redrawn in place on ``stream``."""

    def __init__(self, stream: TextIO | OutputWrapper) -> None:
        self.stream = _Unstyled(stream) if isinstance(stream, OutputWrapper) else stream
        self._bar: tqdm | None = None

    def start(self, label: str, total: int) -> None:
        self.finish()
        self._bar = _Bar(
            desc=label,
            total=total or None,
            file=self.stream,
            bar_format=_BAR_FORMAT if total else _COUNT_FORMAT,
            ascii=".#",
            mininterval=_REDRAW_INTERVAL,
            dynamic_ncols=False,
            leave=True,
        )

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(steps)

    def finish(self) -> None:
        if self._bar is not None:
            bar, self._bar = self._bar, None
            if bar.total:
                bar.n = max(bar.n, bar.total)
            bar.close()


def progress_for(stream: TextIO | OutputWrapper) -> Progress:
    """A bar when ``stream`` is a terminal, else silence."""
    isatty = getattr(stream, "isatty", None)
    return TerminalProgress(stream) if isatty is not None and isatty() else Progress()
