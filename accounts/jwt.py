"""Sign-in tokens whose signing key can be rotated without ending every session.

Tokens are always signed with ``SIMPLE_JWT["SIGNING_KEY"]``. A token whose
signature does not match it is tried against the keys it replaced
(``JWT_SIGNING_KEY_FALLBACKS``), so the access and refresh tokens people hold
keep working after a rotation; refreshing hands out a pair signed with the
new key. Everything else about a token (expiry, type, blacklist, the password
digest) is checked as before, whichever key verified it.

A process checks a token's signature once: every request of a session
presents the same access token for its lifetime, and PyJWT's checks of the
key and the token's encoding were a tenth of an authenticated request's CPU.
The payloads of the tokens that verified are remembered (the last
``VERIFIED_TOKENS``); one presented again is checked for expiry only, as PyJWT
would, and everything simplejwt and the authentication check after decoding
is still checked on each request.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import jwt
from django.conf import settings
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

VERIFIED_TOKENS = 4096


def _backend(signing_key: str, kind: type[TokenBackend] = TokenBackend) -> TokenBackend:
    # Looked up on the module each time: simplejwt rebinds it when SIMPLE_JWT changes.
    api_settings = simplejwt_settings.api_settings
    return kind(
        api_settings.ALGORITHM,
        signing_key,
        api_settings.VERIFYING_KEY,
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        api_settings.JWK_URL,
        api_settings.LEEWAY,
        api_settings.JSON_ENCODER,
    )


class RotatingKeyTokenBackend(TokenBackend):
    """simplejwt's backend, verifying with the current key and then the previous ones."""

    fallbacks: list[TokenBackend] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per backend, so a change of keys (which builds a new one) forgets them.
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS)(self._verify)

    def decode(self, token: tokens.Token | str | bytes, verify: bool = True) -> dict[str, Any]:
        if not verify or not isinstance(token, str | bytes):
            return self._verify(token, verify=verify)
        payload = self._verified(token.encode() if isinstance(token, str) else token)
        expires = payload.get("exp")
        if isinstance(expires, int | float) and expires <= time.time() - self.get_leeway().total_seconds():
            # PyJWT's test and answer, for a token that expired since it verified.
            raise TokenBackendExpiredToken("Token is expired")
        return dict(payload)  # the caller's own copy

    def _verify(self, token: tokens.Token | str | bytes, verify: bool = True) -> dict[str, Any]:
        try:
            return super().decode(token, verify=verify)
        except TokenBackendError as error:
            if not (verify and isinstance(error.__cause__, jwt.InvalidSignatureError)):
                raise
            for fallback in self.fallbacks:
                try:
                    return fallback.decode(token, verify=True)
                except TokenBackendError as other:
                    if not isinstance(other.__cause__, jwt.InvalidSignatureError):
                        raise  # the right key, and something else is wrong (it expired)
            raise


_cached: tuple[tuple[str, tuple[str, ...]], TokenBackend] | None = None


def token_backend() -> TokenBackend:
    """The backend for the keys configured now (rebuilt when settings change, as in tests)."""
    global _cached
    key = (simplejwt_settings.api_settings.SIGNING_KEY, tuple(settings.JWT_SIGNING_KEY_FALLBACKS))
    if _cached is None or _cached[0] != key:
        backend = _backend(key[0], RotatingKeyTokenBackend)
        backend.fallbacks = [_backend(fallback) for fallback in key[1]]
        _cached = (key, backend)
    return _cached[1]


class AccessToken(tokens.AccessToken):
    def get_token_backend(self) -> TokenBackend:
        return token_backend()


class RefreshToken(tokens.RefreshToken):
    access_token_class = AccessToken

    def get_token_backend(self) -> TokenBackend:
        return token_backend()
