"""The web client: the static export of ``frontend/`` (Next.js), served at ``/``.

``next build`` writes one HTML file per route (``index.html``, ``login.html``,
``manage.html``...) and hashed assets under ``_next/static/``. WhiteNoise serves
the assets from ``WEB_CLIENT_ROOT`` at the site root (``WHITENOISE_ROOT``),
cached for good since their names change with their content; this view answers
the routes themselves, never cached, so a deploy reaches every browser at its
next page load. Paths the export does not know get its own 404 page.

Next inlines small bootstrap scripts in each page (the React Server Components
payload). The Content-Security-Policy admits no inline script but these, by
their SHA-256 hashes, computed once per built file.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

from csp.constants import SELF
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

ROUTE_PATTERN = r"^(?P<route>(?:[a-z0-9-]+/)*[a-z0-9-]*)/?$"
# The server's own trees: never answered with a page of the client.
RESERVED = re.compile(r"^(api|admin|chat-api|swagger|redoc|static|invite|media)(/|$)")

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Web client not built</title>
<p>The web client has not been built. Run <code>make run</code>, or
<code>npm ci && npm run build</code> in <code>frontend/</code>.</p>
<p>Meanwhile: <a href="/admin/">the onboarding console</a>, <a href="/swagger/">the API</a>.</p>
"""


# An inline script: a <script> without src, up to its end tag (HTML allows no nesting).
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def _inline_script_hashes(path: Path, modified_ns: int) -> tuple[str, ...]:
    hashes = (
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in INLINE_SCRIPT.findall(path.read_bytes())
        if body.strip()
    )
    return tuple(dict.fromkeys(hashes))


def _page(root: Path, route: str) -> Path | None:
    # ROUTE_PATTERN admits only letters, digits, "-" and "/": no way out of root.
    candidate = root / f"{route.strip('/') or 'index'}.html"
    return candidate if candidate.is_file() else None


def _html(path: Path, status: int = 200) -> HttpResponse:
    response = HttpResponse(path.read_bytes(), content_type="text/html; charset=utf-8", status=status)
    add_never_cache_headers(response)
    # What django-csp's csp_update decorator sets; merged by chatplatform.csp.
    response._csp_update = {  # type: ignore[attr-defined]
        "script-src": [SELF, *_inline_script_hashes(path, path.stat().st_mtime_ns)]
    }
    return response


@require_safe
def page(request: HttpRequest, route: str = "") -> HttpResponse:
    if RESERVED.match(route):
        raise Http404()
    root = Path(settings.WEB_CLIENT_ROOT)
    found = _page(root, route)
    if found is not None:
        return _html(found)
    if not (root / "index.html").is_file():
        response = HttpResponse(NOT_BUILT, status=503, content_type="text/html; charset=utf-8")
        add_never_cache_headers(response)
        return response
    not_found = root / "404.html"
    if not_found.is_file():
        return _html(not_found, status=404)
    raise Http404()
