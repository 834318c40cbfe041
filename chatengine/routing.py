"""WebSocket routes of the built-in chat engine."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from chatengine.consumers import ChatConsumer

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^chat-api/connect/?$", ChatConsumer.as_asgi()),
]
