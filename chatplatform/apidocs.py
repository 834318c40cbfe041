"""The API's documentation pages, inside the Content-Security-Policy.

Swagger UI is drf-spectacular's split view (its start-up script at ``?script``,
not inline). ReDoc's bundle shows a logo it loads from its maker's site; the
page gets the bundle from ``/redoc/redoc.standalone.<digest>.js`` instead, the sidecar's
file with that address removed (the logo hides itself when it has no image), so
the docs make no request to a third party and need nothing beyond ``'self'``.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework.request import Request
from rest_framework.response import Response

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
THIRD_PARTY_IMAGES = (b'"https://cdn.redoc.ly/redoc/logo-mini.svg"',)


@functools.cache
def _redoc_bundle() -> tuple[bytes, str]:
    path = finders.find(REDOC_BUNDLE)
    if not path:
        raise FileNotFoundError(REDOC_BUNDLE)
    with open(path, "rb") as file:
        body = file.read()
    for url in THIRD_PARTY_IMAGES:
        body = body.replace(url, b'""')
    return body, hashlib.sha256(body).hexdigest()[:16]


@require_safe
def redoc_bundle(request: HttpRequest, version: str) -> HttpResponse:
    body, current = _redoc_bundle()
    if version != current:
        raise Http404("No such version of the ReDoc bundle.")
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = f'"{current}"'
    # Its address names its digest: a new bundle gets a new address.
    patch_cache_control(response, public=True, max_age=31536000, immutable=True)
    return response


class RedocView(SpectacularRedocView):
    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        response.data["redoc_standalone"] = reverse("redoc-bundle", kwargs={"version": _redoc_bundle()[1]})
        return response
