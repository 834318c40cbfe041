"""Checking one row's values, without the database: each ``*_value`` reads
one column and returns its clean value (None when missing or empty) or raises
``RowError`` saying which value is wrong and why."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from accounts.models import User, normalize_email
from channels_app.models import ChannelRole
from chatplatform.models import max_length_of
from chatplatform.validators import validate_name
from onboarding.imports.records import CHANNEL_ROLE_SEPARATOR, CHANNEL_SEPARATOR, UNSTORABLE
from tenants.models import SLUG_PATTERN, slug_validator

T = TypeVar("T")

# Enum ``.values`` builds a new list on every access: too slow per row.
CHANNEL_ROLES = tuple(ChannelRole.values)

# A strict subset of what Django's EmailValidator accepts, checked first because
# it is several times faster; anything else goes through the validator itself.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z"
)
EMAIL_MAX_LENGTH = max_length_of(User, "email")

_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f"})


class RowError(Exception):
    """A value that makes its row fail; the message says which and why."""


def text_value(values: dict[str, Any], name: str, max_length: int) -> str | None:
    """The stripped text in ``name``, or None when missing or empty."""
    raw = values.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise RowError(f"{name} must be text")
    value = raw.strip()
    if not value:
        return None
    # (Most values are ASCII, which str.isascii() tells without reading them.)
    if "\x00" in value or (not value.isascii() and UNSTORABLE.search(value)):
        raise RowError(f"{name} contains a NUL character or bytes that are not UTF-8")
    if len(value) > max_length:
        raise RowError(f"{name} is longer than {max_length} characters")
    return value


def name_value(values: dict[str, Any], name: str, max_length: int) -> str | None:
    """A display name: text without control characters (see ``validate_name``)."""
    value = text_value(values, name, max_length)
    if value is not None:
        try:
            validate_name(value)
        except DjangoValidationError as exc:
            raise RowError(f"{name}: {exc.messages[0]}") from None
    return value


def email_value(values: dict[str, Any], name: str) -> str | None:
    value = text_value(values, name, EMAIL_MAX_LENGTH)
    if value is None:
        return None
    email = normalize_email(value)
    if not _PLAIN_EMAIL.match(email):
        try:
            validate_email(email)
        except DjangoValidationError:
            raise RowError(f"{name} {value!r} is not a valid email address") from None
    return email


def choice_value(values: dict[str, Any], name: str, choices: Sequence[str]) -> str | None:
    value = text_value(values, name, 64)
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in choices:
        raise RowError(f"{name} {value!r} is not one of {', '.join(choices)}")
    return lowered


def flag_value(values: dict[str, Any], name: str) -> bool | None:
    raw = values.get(name)
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if not lowered:
            return None
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise RowError(f"{name} must be true or false, not {raw!r}")


def slug_value(values: dict[str, Any], name: str, max_length: int) -> str | None:
    value = text_value(values, name, max_length)
    if value is not None and not SLUG_PATTERN.match(value):
        raise RowError(f"{name} {value!r} is not a valid slug: {slug_validator.message}")
    return value


def channels_value(values: dict[str, Any]) -> dict[str, ChannelRole | None] | None:
    """``{slug: channel role or None}`` from ``a|b:moderator`` (CSV) or a list (JSON)."""
    raw = values.get("channels")
    if raw is None:
        return None
    if isinstance(raw, str):
        tokens = raw.split(CHANNEL_SEPARATOR)
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        tokens = raw
    else:
        raise RowError("channels must be text (slugs separated by '|') or a list of slugs")
    channels: dict[str, ChannelRole | None] = {}
    for token in tokens:
        token = token.strip()
        if not token:
            continue
        if UNSTORABLE.search(token):
            raise RowError("channels contains a NUL character or bytes that are not UTF-8")
        slug, _, role_name = token.partition(CHANNEL_ROLE_SEPARATOR)
        slug = slug.strip()
        role_name = role_name.strip().lower()
        role: ChannelRole | None = None
        if role_name:
            if role_name not in CHANNEL_ROLES:
                raise RowError(
                    f"channel role {role_name!r} in {token!r} is not one of {', '.join(CHANNEL_ROLES)}"
                )
            role = ChannelRole(role_name)
        if slug in channels and channels[slug] != role:
            raise RowError(f"channel {slug!r} is listed twice with different roles")
        channels[slug] = role
    return channels or None


def required(value: T | None, name: str) -> T:
    if value is None:
        raise RowError(f"{name} is missing")
    return value


def checked(values: dict[str, Any], checks: Sequence[Callable[[dict[str, Any]], Any]]) -> list[Any]:
    """Each check's value; a RowError naming every problem of the row."""
    checked: list[Any] = []
    problems: list[str] = []
    for check in checks:
        try:
            checked.append(check(values))
        except RowError as exc:
            problems.append(str(exc))
            checked.append(None)
    if problems:
        raise RowError("; ".join(problems))
    return checked
