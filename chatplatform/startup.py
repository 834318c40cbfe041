"""What every server entry point (WSGI and ASGI) does once its application is built."""

from __future__ import annotations

import gc

from django.urls import get_resolver


def loaded() -> None:
    """Called once an entry point has built its application: the URL
    configuration is loaded and everything so far (Django, the project's
    modules) is kept out of the garbage collector's way. It lives as long as
    the process, and a full collection walking it stalled every socket of an
    engine process, and every request thread of a WSGI worker, for tens of
    milliseconds under load."""
    get_resolver().url_patterns  # noqa: B018  (loads every view module)
    gc.freeze()
