"""Validators shared by models, serializers and forms."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

from chatplatform.errors import ApplicationError

# Cc: C0/C1 controls (CR, LF, tab, NUL, ESC...); Zl/Zp: the Unicode line and paragraph
# separators. Format characters (Cf) stay allowed: emoji sequences need the zero-width joiner.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
CONTROL_CHARACTERS_MESSAGE = "Names cannot contain control characters or line breaks."


def validate_name(value: str) -> None:
    """Refuse control characters in a display name (a tenant's, a person's, a channel's).

    Names travel into mail headers (a CR/LF there breaks or forges the mail), chat
    titles, CSV exports and logs, where one line must stay one line.
    """
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")


def name_checked(value: str, *, field: str = "name") -> str:
    """``value`` stripped, or an ApplicationError naming ``field``: for services, which
    keep the rule whoever calls them (imports, commands, the console)."""
    value = value.strip()
    try:
        validate_name(value)
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0], code="invalid_name", fields={field: exc.messages}) from exc
    return value
