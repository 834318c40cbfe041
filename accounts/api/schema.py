"""OpenAPI description of the cookie-or-Bearer JWT authentication."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CookieJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CookieJWTAuthentication"
    name = ["jwtBearer", "jwtCookie"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "The `access` token from `POST /api/auth/login`.",
            },
            {
                "type": "apiKey",
                "in": "cookie",
                "name": settings.JWT_COOKIE["ACCESS_NAME"],
                "description": "Set by `POST /api/auth/login`. Unsafe methods also need an "
                "`X-CSRFToken` header carrying the `csrftoken` cookie's value.",
            },
        ]
