"""Configuration mistakes that would only show as calls that never connect."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
def calls_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.CALLS_ICE_TRANSPORT_POLICY not in ("all", "relay"):
        errors.append(
            Error(
                f"CALLS_ICE_TRANSPORT_POLICY is {settings.CALLS_ICE_TRANSPORT_POLICY!r}.",
                hint="Use 'all' (the default) or 'relay'.",
                id="calls.E001",
            )
        )
    if settings.CALLS_TURN_URLS and not settings.CALLS_TURN_SECRET:
        errors.append(
            Error(
                "CALLS_TURN_URLS is set without CALLS_TURN_SECRET: no TURN credential can be signed.",
                hint="Set CALLS_TURN_SECRET to the TURN server's static-auth-secret.",
                id="calls.E002",
            )
        )
    if settings.CALLS_ICE_TRANSPORT_POLICY == "relay" and not settings.CALLS_TURN_URLS:
        errors.append(
            Error(
                "CALLS_ICE_TRANSPORT_POLICY is 'relay' with no TURN server: no call could connect.",
                hint="Set CALLS_TURN_URLS and CALLS_TURN_SECRET, or use 'all'.",
                id="calls.E003",
            )
        )
    if settings.CALLS_MAX_PARTICIPANTS < 2 or settings.CALLS_TURN_TTL < 60:
        errors.append(
            Error(
                "CALLS_MAX_PARTICIPANTS must be at least 2 and CALLS_TURN_TTL at least 60 seconds.",
                id="calls.E004",
            )
        )
    return errors
