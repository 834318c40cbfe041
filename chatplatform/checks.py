"""Deployment checks Django's ``check --deploy`` cannot know about: our JWT cookies."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def jwt_cookie_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    conf = settings.JWT_COOKIE
    messages: list[CheckMessage] = []
    if not conf["SECURE"]:
        messages.append(
            Warning(
                "JWT cookies are not Secure: tokens would travel over plain HTTP.",
                hint="Set COOKIE_SECURE=1 (the default when DEBUG is off).",
                id="chatplatform.W001",
            )
        )
    if not conf["HTTPONLY"]:
        messages.append(Warning("JWT cookies are readable by JavaScript.", id="chatplatform.W002"))
    if conf["SAMESITE"] not in ("Lax", "Strict"):
        messages.append(Warning("JWT cookies need SameSite=Lax or Strict.", id="chatplatform.W003"))
    if not conf["ACCESS_NAME"].startswith("__Host-") or not conf["REFRESH_NAME"].startswith("__Secure-"):
        messages.append(
            Warning(
                "JWT cookies lack the __Host-/__Secure- prefixes.",
                hint="They are added automatically when COOKIE_SECURE is on.",
                id="chatplatform.W004",
            )
        )
    return messages
