"""ICE servers for a call: STUN entries as configured, TURN entries with
short-lived credentials in the TURN REST API format that coturn checks with
``use-auth-secret`` / ``static-auth-secret``:

    username   = "<expiry, unix seconds>:<user id>"
    credential = base64(HMAC-SHA1(shared secret, username))

The control plane never relays media; it only says where the relays are and
signs who may use them until when.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from accounts.models import User
from chatplatform.errors import ApplicationError


@dataclass(frozen=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: int


def turn_credential(*, user_id: str, secret: str, ttl: int, now: float | None = None) -> TurnCredential:
    expires_at = int(now if now is not None else time.time()) + ttl
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires_at)


def calls_allowed_check(user: User) -> None:
    """Refuse a user who may not be in a call: no organization, or one that turned calls off."""
    tenant = user.tenant
    if tenant is None:
        raise ApplicationError(
            "Calls are between people of one organization; platform staff have none.",
            code="no_tenant",
            status_code=403,
        )
    if not tenant.calls_enabled:
        raise ApplicationError(
            "Your organization has turned calls off; an admin can turn them on again.",
            code="calls_disabled",
            status_code=403,
        )


def ice_servers_for(user: User) -> dict[str, Any]:
    """The answer of ``GET /api/calls/ice-servers`` for ``user``."""
    calls_allowed_check(user)
    servers: list[dict[str, Any]] = []
    if settings.CALLS_STUN_URLS:
        servers.append({"urls": list(settings.CALLS_STUN_URLS)})
    ttl = settings.CALLS_TURN_TTL
    if settings.CALLS_TURN_URLS and settings.CALLS_TURN_SECRET:
        credential = turn_credential(user_id=user.chat_user_id, secret=settings.CALLS_TURN_SECRET, ttl=ttl)
        servers.append(
            {
                "urls": list(settings.CALLS_TURN_URLS),
                "username": credential.username,
                "credential": credential.credential,
            }
        )
    return {
        "ice_servers": servers,
        "ttl": ttl,
        "ice_transport_policy": settings.CALLS_ICE_TRANSPORT_POLICY,
        "max_participants": settings.CALLS_MAX_PARTICIPANTS,
    }
