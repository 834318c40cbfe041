"""Content negotiation with the answer for the Accept headers clients send.

Nearly every request to the API accepts anything (``*/*``, what browsers'
``fetch`` and most clients send, or no header at all) or JSON: for those DRF's
negotiation always picks the first renderer, after parsing the header into
media types and matching each against each renderer, on every request. That
answer is known beforehand; any other header (and a ``?format=``) is
negotiated by DRF as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# Headers whose answer is the first renderer, when it speaks JSON.
_FIRST_RENDERER = frozenset({"*/*", "application/json"})


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if (
            accept in _FIRST_RENDERER
            and renderers
            and renderers[0].media_type == "application/json"
            and not format_suffix
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], "application/json"
        return super().select_renderer(request, renderers, format_suffix)
