"""JSON responses through orjson: several times faster than the standard
library encoder on the bodies the API sends, with the same output for them."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# What orjson does not know natively (lazy translations, Decimal, sets...) goes
# through DRF's own encoder, so no body renders differently than before.
_fallback = JSONEncoder().default
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


class ORJSONRenderer(JSONRenderer):
    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_fallback, option=_OPTIONS)
