"""``/api/stream/token`` and ``/api/stream/webhook``."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.throttling import ChatTokenThrottle
from chatplatform.api.serializers import timestamp
from streamsync.tokens import chat_token_issue, public_chat_url
from streamsync.webhooks import webhook_receive


class ChatTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="JWT for the chat client (HS256, `user_id`, `iat`, `exp`).")
    api_key = serializers.CharField()
    user_id = serializers.CharField(help_text="The caller's chat user id.")
    expires_at = serializers.DateTimeField()
    base_url = serializers.CharField(help_text="Where the chat client connects.")

    def to_representation(self, issued: dict[str, Any]) -> dict[str, Any]:
        return {**issued, "expires_at": timestamp(issued["expires_at"])}


class ChatTokenView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ChatTokenThrottle]

    @extend_schema(
        tags=["chat"],
        responses={200: ChatTokenSerializer},
        description=(
            "A chat token for the authenticated user, signed locally (no call to the chat "
            "service). Refused with 403 for a suspended tenant (`tenant_suspended`) and for "
            "platform staff without a tenant (`no_chat_account`). The user id is never taken "
            "from the request. Throttled per user (429 with `Retry-After`)."
        ),
    )
    def get(self, request: Request) -> Response:
        issued = chat_token_issue(user=cast(User, request.user))  # IsAuthenticated let only a user in
        origin = f"{request.scheme}://{request.get_host()}"
        return Response(
            ChatTokenSerializer(
                {
                    "token": issued.token,
                    "api_key": settings.STREAM_API_KEY,
                    "user_id": issued.user_id,
                    "expires_at": issued.expires_at,
                    "base_url": public_chat_url(origin),
                }
            ).data,
            headers={"Cache-Control": "no-store"},
        )


class WebhookView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    extra_error_codes = {"post": ["401"]}

    def get_authenticate_header(self, request: Request) -> str:
        return 'Signature realm="chat-webhook"'

    @extend_schema(
        tags=["chat"],
        request={"application/json": {"type": "object"}},
        parameters=[
            OpenApiParameter(
                "X-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Hex HMAC-SHA256 of the uncompressed body with the API secret.",
            ),
            OpenApiParameter(
                "X-Webhook-Id",
                str,
                OpenApiParameter.HEADER,
                description="Stable across retries; duplicates are acknowledged and dropped.",
            ),
        ],
        responses={200: inline_serializer("WebhookAck", {"status": serializers.CharField()})},
        description="Webhooks from the chat service (Stream's format; gzip bodies accepted).",
    )
    def post(self, request: Request) -> Response:
        # The signature covers the exact bytes, so the body is read raw, never parsed first.
        result = webhook_receive(
            raw=request.body,
            signature=request.headers.get("X-Signature", ""),
            webhook_id=request.headers.get("X-Webhook-Id", ""),
            content_encoding=request.headers.get("Content-Encoding", ""),
        )
        return Response({"status": result})
