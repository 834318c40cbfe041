"""ASGI entry point: HTTP for everything, plus the chat engine's WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatengine.asgi import EngineHTTP, HandshakeLog  # noqa: E402
from chatengine.routing import websocket_urlpatterns  # noqa: E402
from chatplatform.startup import loaded  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The engine's routes refuse an oversize body before Django reads it.
        "http": EngineHTTP(django_asgi_app),
        "websocket": HandshakeLog(URLRouter(websocket_urlpatterns)),
    }
)
loaded()
