"""Content-Security-Policy and Permissions-Policy on every response.

The policy itself is ``CONTENT_SECURITY_POLICY`` in settings (django-csp). What
it cannot know in advance is added here per request:

- the chat service's origin, as the web client will reach it: the ``base_url``
  ``/api/stream/token`` answers (``STREAM_BASE_URL``, ``CHATENGINE_PUBLIC_URL``,
  or this server as the browser addressed it), over HTTP and over WebSocket
  (``'self'`` covers ``ws:`` only in newer browsers) in ``connect-src``, and in
  ``img-src`` and ``media-src`` for the files it serves;
- the hashes of a web client page's inline scripts (``chatplatform.webclient``
  attaches them to its response with ``csp_update``).

API answers (``/api/``, and the built-in chat engine's ``/chat-api/``) are JSON
that no browser should render or frame: they get ``default-src 'none';
frame-ancestors 'none'``, which is shorter, and the same for every answer:
built once, not per response (as the Permissions-Policy header is).
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from streamsync.tokens import public_chat_url

API_PREFIXES = ("/api/", "/chat-api/")
API_POLICY = {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}
_WEBSOCKET_SCHEME = {"http": "ws", "https": "wss"}


def chat_service_origins(request: HttpRequest) -> list[str]:
    """The chat service's origin for this request's browser: HTTP and WebSocket."""
    try:
        own = f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        # Answering a bad Host: only configured origins (and 'self') then.
        own = ""
    url = urlsplit(public_chat_url(own))
    if url.scheme not in _WEBSOCKET_SCHEME or not url.netloc:
        return []
    return [f"{url.scheme}://{url.netloc}", f"{_WEBSOCKET_SCHEME[url.scheme]}://{url.netloc}"]


@functools.cache
def permissions_policy() -> str:
    return ", ".join(
        f"{feature}=({' '.join(allowed)})" for feature, allowed in settings.PERMISSIONS_POLICY.items()
    )


# Where a response may set a policy of its own (django-csp's decorators), or opt out of one.
_OWN_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_EXEMPT = {HEADER: "_csp_exempt", HEADER_REPORT_ONLY: "_csp_exempt_ro"}


@functools.cache
def api_policy_headers() -> tuple[tuple[str, str], ...]:
    """The headers of an API answer: the closed policy, under each name the
    settings enforce or report it with."""
    return tuple(
        (header, build_policy(config=API_POLICY, report_only=header == HEADER_REPORT_ONLY))
        for header, setting in (
            (HEADER, "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        )
        if getattr(settings, setting, None)
    )


@receiver(setting_changed)
def _policies_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(("CONTENT_SECURITY_POLICY", "PERMISSIONS_POLICY")):
        api_policy_headers.cache_clear()
        permissions_policy.cache_clear()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        configured = getattr(
            settings,
            "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY",
            None,
        )
        if not configured:
            return parts
        if request.path_info.startswith(API_PREFIXES) and parts.config is None:
            parts.config = API_POLICY
            parts.update = parts.replace = None
            return parts
        origins = chat_service_origins(request)
        update = {key: list(value) for key, value in (parts.update or {}).items()}
        for directive, sources in (
            ("connect-src", origins),
            ("img-src", origins[:1]),
            ("media-src", origins[:1]),
        ):
            update[directive] = [*update.get(directive, []), *sources]
        parts.update = update
        return parts

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if request.path_info.startswith(API_PREFIXES) and not any(hasattr(response, a) for a in _OWN_POLICY):
            for header, policy in api_policy_headers():
                if header not in response and not getattr(response, _EXEMPT[header], False):
                    response[header] = policy
        else:
            response = super().process_response(request, response)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions_policy()
        return response
