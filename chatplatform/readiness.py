"""A small registry so apps can add their own readiness checks without the
project package importing them (e.g. the sync outbox backlog)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

ReadinessCheck = Callable[[], dict[str, object]]

_checks: dict[str, ReadinessCheck] = {}


def register_readiness_check(name: str, check: ReadinessCheck) -> None:
    _checks[name] = check


def readiness_checks() -> Iterator[tuple[str, ReadinessCheck]]:
    yield from _checks.items()
