"""The engine served alone, at the root of its own host or port.

Some SDKs drop a path prefix from their base URL (the async Python client
sends absolute paths), so they cannot reach ``/chat-api/``. This ASGI app
serves only the engine, at ``/``: every request path is mapped under the
engine's mount point, so nothing else of the project is reachable here.

    daphne -b 0.0.0.0 -p 8800 chatengine.standalone:application
"""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatengine.asgi import EngineHTTP, HandshakeLog  # noqa: E402
from chatengine.routing import websocket_urlpatterns  # noqa: E402
from chatplatform.startup import loaded  # noqa: E402

MOUNT = "/chat-api"

_project = ProtocolTypeRouter(
    {"http": EngineHTTP(django_asgi_app), "websocket": HandshakeLog(URLRouter(websocket_urlpatterns))}
)
loaded()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] in ("http", "websocket") and not scope["path"].startswith(MOUNT + "/"):
        # (Links the engine hands out, such as uploads', already carry the mount point.)
        path = MOUNT + scope["path"]
        scope = {**scope, "path": path, "raw_path": path.encode()}
    await _project(scope, receive, send)
