"""Slugs generated from names: ASCII, lowercase, hyphenated, unique where asked."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.utils.text import slugify


def slug_from_name(name: str, *, max_length: int, taken: Callable[[str], bool]) -> str:
    """A slug for ``name`` that ``taken`` does not report as used.

    Names with no ASCII letters or digits (e.g. "日本支社") get a random slug.
    Collisions get ``-2``, ``-3``... appended within ``max_length``.
    """
    base = slugify(name).replace("_", "-").strip("-")
    base = "-".join(part for part in base.split("-") if part)[:max_length].strip("-")
    if not base:
        base = f"x-{secrets.token_hex(4)}"
    candidate = base
    suffix = 2
    while taken(candidate):
        tail = f"-{suffix}"
        candidate = f"{base[: max_length - len(tail)].rstrip('-')}{tail}"
        suffix += 1
    return candidate
