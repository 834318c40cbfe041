"""REST routes of the built-in chat engine (mounted at /chat-api/)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
