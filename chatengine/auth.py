"""Who is calling: Stream's API key and JWT checks, shared by REST and WebSocket.

Tokens are HS256 JWTs signed with the API secret (or, during a rotation,
one of the secrets it replaced). A server token carries
``{"server": true}`` and may act as anyone; a user token carries ``user_id`` and
acts only as that user. ``exp``, ``nbf`` and ``iat`` are honoured, and so are
the app-wide and per-user ``revoke_tokens_issued_before``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jwt
from django.conf import settings

from chatengine.errors import Code, StreamError
from chatengine.models import App, ChatUser

# Clock skew tolerated between the token issuer and this server.
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class Claims:
    server: bool
    user_id: str | None
    issued_at: datetime | None


@dataclass(frozen=True)
class Caller:
    """The authenticated party of one request or connection.

    ``user`` is the token's user for user tokens, ``None`` for server tokens
    (server-side calls name their acting user in the body instead).
    """

    app: App
    server: bool
    user: ChatUser | None

    @property
    def multi_tenant(self) -> bool:
        return self.app.multi_tenant_enabled


def check_api_key(api_key: str | None) -> None:
    if not api_key or not hmac.compare_digest(api_key, settings.STREAM_API_KEY):
        raise StreamError(Code.ACCESS_KEY, "api_key not valid", status=401)


def _verified_payload(token: str) -> dict[str, Any]:
    """The token's claims, signed with the API secret or, while the secret is
    being rotated, with one it replaced (``STREAM_API_SECRET_FALLBACKS``):
    tokens handed out before the rotation keep working until they expire."""
    return _verified(token, (settings.STREAM_API_SECRET, *settings.STREAM_API_SECRET_FALLBACKS))


# A client sends the same token with every call: its signature is checked once
# (per process and secrets) and its time claims at every use. The claims are
# shared: callers read them, never change them.
@lru_cache(maxsize=4096)
def _verified(token: str, secrets: tuple[str, ...]) -> dict[str, Any]:
    for number, secret in enumerate(secrets, 1):
        try:
            return jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError as exc:
            if number == len(secrets):
                raise StreamError(
                    Code.TOKEN_SIGNATURE_INVALID, "JWTAuth error: token signature is invalid"
                ) from exc
        except jwt.PyJWTError as exc:
            raise StreamError(Code.AUTH, f"JWTAuth error: token is malformed: {exc}") from exc
    raise AssertionError("unreachable: the last secret either verifies or raises")


def decode_token(token: str | None) -> Claims:
    if not token:
        raise StreamError(Code.AUTH, "JWTAuth error: missing token (Authorization header)")
    payload = _verified_payload(token)

    now = datetime.now(tz=UTC).timestamp()
    exp, nbf, iat = (_numeric_claim(payload, name) for name in ("exp", "nbf", "iat"))
    if exp is not None and now > exp + LEEWAY_SECONDS:
        raise StreamError(Code.TOKEN_EXPIRED, "JWTAuth error: token has expired")
    if nbf is not None and now + LEEWAY_SECONDS < nbf:
        raise StreamError(Code.TOKEN_NOT_VALID_YET, "JWTAuth error: token is not valid yet")
    if iat is not None and now + LEEWAY_SECONDS < iat:
        raise StreamError(Code.TOKEN_USED_BEFORE_IAT, "JWTAuth error: token used before issue at (iat)")

    if payload.get("server") is True:
        return Claims(server=True, user_id=None, issued_at=None)
    user_id = payload.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise StreamError(Code.AUTH, "JWTAuth error: token has no user_id claim")
    issued_at = datetime.fromtimestamp(iat, tz=UTC) if iat is not None else None
    return Claims(server=False, user_id=user_id, issued_at=issued_at)


def _numeric_claim(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StreamError(Code.AUTH, f"JWTAuth error: claim {name} must be a number")
    return float(value)


def check_not_revoked(claims: Claims, *, app: App, user: ChatUser | None) -> None:
    """A user-level revoke refuses tokens issued before it, and tokens without
    ``iat``; so does an app-level one."""
    for cutoff in (app.revoke_tokens_issued_before, user.revoke_tokens_issued_before if user else None):
        if cutoff is not None and (claims.issued_at is None or claims.issued_at < cutoff):
            raise StreamError(Code.TOKEN_EXPIRED, "JWTAuth error: token has been revoked")


def check_user_may_connect(user: ChatUser) -> None:
    """Deleted (soft or pruned) and deactivated users are shut out; banned ones
    connect and read, as in Stream (their bans keep them from writing:
    ``selectors.access_for``). Hard-deleted ones have no row left to come back
    to (``services.users.user_for_client``)."""
    if user.deleted_at is not None:
        raise StreamError(
            Code.AUTH, f"user '{user.id}' was deleted: its tokens are no longer valid", status=401
        )
    if user.deactivated_at is not None:
        raise StreamError(Code.AUTH, f"user '{user.id}' is deactivated", status=401)
