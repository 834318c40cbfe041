"""OpenAPI generation: every operation documents the error envelope it can answer with."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from rest_framework.permissions import AllowAny

from chatplatform.api.serializers import ErrorSerializer

_DESCRIPTIONS = {
    "400": "Invalid input; `fields` says what to fix.",
    "401": "Not authenticated, or the token is invalid or expired.",
    "403": "Authenticated but not allowed (role, suspended tenant, or CSRF check failed).",
    "404": "No such object, or it belongs to another tenant (the same answer either way); "
    "for lists, a page past the end.",
    "409": "The current state forbids the change (e.g. the tenant's last active admin).",
    "429": "Too many requests; retry after `Retry-After` seconds.",
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: openapi.Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes: list[str] = []
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path or self._is_list_view():
            codes.append("404")  # lists: a page past the end
        codes += getattr(self.view, "extra_error_codes", {}).get(self.method.lower(), [])
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = _DESCRIPTIONS[code]
        return responses


# Routes whose contract spells them without a trailing slash (both forms work).
_NO_SLASH = ("/api/auth/", "/api/health/", "/api/ready/", "/api/stream/")


def contract_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: show non-router paths as the contract spells them."""
    result["paths"] = {
        (path.rstrip("/") if path.startswith(_NO_SLASH) else path): operations
        for path, operations in result["paths"].items()
    }
    return result
