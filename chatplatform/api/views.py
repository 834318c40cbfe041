"""Liveness, readiness and the JSON answers Django itself gives under ``/api/``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatplatform.api.exceptions import NOT_FOUND_BODY, error_body
from chatplatform.readiness import readiness_checks

logger = logging.getLogger(__name__)


class HealthView(APIView):
    """Liveness: the process answers. Touches nothing else."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["health"],
        responses=inline_serializer("Health", {"status": serializers.CharField()}),
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyView(APIView):
    """Readiness: the database answers, plus every check the apps registered."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["health"],
        responses={
            200: inline_serializer(
                "Readiness",
                {
                    "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
                    "checks": serializers.DictField(),
                },
            ),
            503: inline_serializer(
                "ReadinessFailed",
                {
                    "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
                    "checks": serializers.DictField(),
                },
            ),
        },
    )
    def get(self, request: Request) -> Response:
        checks: dict[str, object] = {}
        healthy = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            checks["database"] = {"status": "ok"}
        except DatabaseError as exc:
            logger.warning("readiness: database unavailable: %s", exc)
            checks["database"] = {"status": "unavailable"}
            healthy = False
        if healthy:
            for name, check in readiness_checks():
                result = check()
                checks[name] = result
                healthy = healthy and result.get("status") == "ok"
        return Response(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status=200 if healthy else 503,
        )


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(NOT_FOUND_BODY, status=404)
    return page_not_found(request, exception)


def unknown_api_path(request: HttpRequest, path: str = "") -> HttpResponse:
    """The last route under /api/: with DEBUG on Django would answer an unmatched
    path with its HTML debug page rather than ``not_found``."""
    return JsonResponse(NOT_FOUND_BODY, status=404)


def bad_request_json(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own 400s (e.g. a bad Host), and 413 for a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE read outside the API's parser (the webhook's)."""
    if _wants_json(request):
        if isinstance(exception, RequestDataTooBig):
            detail = f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            return JsonResponse(error_body(detail, "request_too_large"), status=413)
        return JsonResponse(error_body("Bad request.", "bad_request"), status=400)
    return bad_request(request, exception)


def forbidden_json(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("Forbidden.", "permission_denied"), status=403)
    return permission_denied(request, exception)


def server_failure(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("Internal server error.", "server_error"), status=500)
    return server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF middleware rejects only non-API views (DRF views are exempt)."""
    if _wants_json(request):
        return JsonResponse(error_body(f"CSRF check failed: {reason}", "csrf_failed"), status=403)
    from django.views.csrf import csrf_failure as default_csrf_failure

    return default_csrf_failure(request, reason)
