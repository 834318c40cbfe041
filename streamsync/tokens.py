"""Chat tokens for the frontend: signed here, never fetched from the chat service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from chatplatform.errors import ApplicationError


class NoChatAccount(ApplicationError):
    status_code = 403
    default_code = "no_chat_account"


@dataclass(frozen=True)
class ChatToken:
    token: str
    user_id: str
    expires_at: datetime


def chat_token_issue(*, user: User, now: datetime | None = None) -> ChatToken:
    """A chat token for ``user``: HS256 with the app secret, ``user_id``, ``iat``, ``exp``.

    Preconditions: ``user`` is authenticated, active, and of an active tenant
    (authentication already refuses the rest). Platform staff without a tenant
    are not chat users and get ``NoChatAccount``.
    """
    if user.tenant is None:
        raise NoChatAccount("Platform staff without a tenant have no chat account.")
    if not user.is_active or not user.tenant.is_active:
        raise NoChatAccount("This account cannot use chat.")
    now = now or timezone.now()
    issued = int(now.timestamp())
    expires = issued + settings.STREAM_TOKEN_TTL
    token = jwt.encode(
        {"user_id": user.chat_user_id, "iat": issued, "exp": expires},
        settings.STREAM_API_SECRET,
        algorithm="HS256",
    )
    expires_at = datetime.fromtimestamp(expires, tz=UTC)
    return ChatToken(token=token, user_id=user.chat_user_id, expires_at=expires_at)


def public_chat_url(request_origin: str) -> str:
    """The chat service URL for the browser: Stream's, or the built-in engine as
    configured, or as this very request reached the server."""
    return settings.STREAM_BASE_URL or settings.CHATENGINE_PUBLIC_URL or f"{request_origin}/chat-api"
