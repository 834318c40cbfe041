"""``GET /chat-api/``: what the engine is, how to reach it, and its endpoints,
for a person who opens the address the README gives."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chatengine.api.http import unknown_endpoint

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _readable(pattern: str) -> str:
    """``^channels/(?P<channel_type>[^/]+)/?$`` → ``/channels/{channel_type}``."""
    return "/" + _GROUP.sub(r"{\1}", pattern).removeprefix("^").removesuffix("$").removesuffix("/?")


@csrf_exempt
def index(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return unknown_endpoint(request)
    from chatengine.urls import urlpatterns  # the routes import this view

    base = request.build_absolute_uri(request.path).rstrip("/")
    endpoints = [
        {"path": _readable(str(route.pattern)), "methods": route.callback.methods}
        for route in urlpatterns
        if hasattr(route.callback, "methods")
    ]
    return JsonResponse(
        {
            "service": "the built-in chat engine",
            "protocol": "Stream Chat: use Stream's SDKs with this base URL",
            "base_url": base,
            "websocket": re.sub(r"^http", "ws", base) + "/connect",
            "authentication": (
                "api_key query parameter, Authorization: a JWT signed with the API secret, "
                "Stream-Auth-Type: jwt"
            ),
            "endpoints": endpoints,
        }
    )
