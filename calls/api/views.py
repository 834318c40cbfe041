"""``/api/calls/``: what a browser needs to set up a call (signaling itself
travels as custom events through the chat service)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from calls.ice import ice_servers_for

ICE_SERVER_FIELDS: dict[str, serializers.Field] = {
    "urls": serializers.ListField(child=serializers.CharField()),
    "username": serializers.CharField(required=False),
    "credential": serializers.CharField(required=False),
}


class IceServersView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["calls"],
        description=(
            "STUN and TURN servers for a call, as `RTCPeerConnection`'s `iceServers` takes them. TURN "
            "entries carry credentials valid for `ttl` seconds in the TURN REST API format (username "
            "`<expiry>:<user id>`, credential the base64 HMAC-SHA1 of it with the TURN server's shared "
            "secret). With no servers configured the list is empty: host candidates only, which "
            "connects on one machine or a LAN. 403 `calls_disabled` when the organization turned calls off."
        ),
        responses={
            200: inline_serializer(
                "IceServers",
                {
                    "ice_servers": inline_serializer("IceServer", ICE_SERVER_FIELDS, many=True),
                    "ttl": serializers.IntegerField(),
                    "ice_transport_policy": serializers.ChoiceField(choices=["all", "relay"]),
                    "max_participants": serializers.IntegerField(),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        # The TURN credential is personal and short-lived: no cache keeps it.
        user = request.user
        if not isinstance(user, User):  # (IsAuthenticated lets only a signed-in user through)
            raise NotAuthenticated()
        return Response(ice_servers_for(user), headers={"Cache-Control": "no-store"})
