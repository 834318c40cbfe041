"""JWT authentication from the ``Authorization: Bearer`` header or the access cookie.

simplejwt knows only the header. Browsers get the access token in an HttpOnly
cookie instead, which makes every cookie-authenticated unsafe request a CSRF
target; DRF exempts its views from Django's CSRF middleware, so the check is
done here, with the same machinery ``SessionAuthentication`` uses. Bearer
requests carry no ambient credentials and need no CSRF token.

The user is loaded on every request (with its tenant, in one query) so that
deactivation and suspension take effect on the next request, not at token expiry.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed,
    ExpiredTokenError,
    InvalidToken,
    TokenError,
)
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User
from accounts.selectors import user_with_tenant
from tenants import rls

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class CSRFFailed(exceptions.PermissionDenied):
    default_code = "csrf_failed"


class TenantSuspended(exceptions.PermissionDenied):
    default_detail = "Your organization is suspended."
    default_code = "tenant_suspended"


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request: Any, reason: str) -> str:
        return reason


def _no_view(request: HttpRequest) -> HttpResponse:
    """The view a CSRF check is given: the check only answers, it never calls it."""
    return HttpResponse()


def enforce_csrf(request: Request) -> None:
    """Raise CSRFFailed unless the request carries a valid ``X-CSRFToken``."""
    check = _CSRFCheck(_no_view)
    check.process_request(request)
    reason = check.process_view(request, _no_view, (), {})
    if reason:
        raise CSRFFailed(f"CSRF check failed: {reason}")


def ensure_can_sign_in(user: User) -> None:
    """The rules for holding a session: an active user of an active tenant."""
    if not user.is_active:
        raise AuthenticationFailed("User is inactive.", code="user_inactive")
    tenant = user.tenant  # no query for staff, who have no tenant
    if tenant is not None and not tenant.is_active:
        raise TenantSuspended()


class CookieJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[User, Token] | None:
        header = self.get_header(request)
        if header is not None:
            raw_token = self.get_raw_token(header)
            from_cookie = False
        else:
            raw_token = request.COOKIES.get(settings.JWT_COOKIE["ACCESS_NAME"])
            from_cookie = True
        if not raw_token:
            return None
        validated = self.get_validated_token(raw_token)
        try:
            # From here on the database shows this request its tenant's rows
            # only: the lookup of the user scopes the connection in the same
            # statement.
            user = self.get_user(validated)
            if from_cookie and request.method not in SAFE_METHODS:
                enforce_csrf(request)
        except exceptions.APIException:
            # A refused request runs unscoped, like an anonymous one.
            rls.unscope()
            raise
        rls.scope_for_actor(user, request)  # the rule the lookup followed: no round trip
        return user, validated

    def get_validated_token(self, raw_token: bytes) -> Token:
        """simplejwt's, with an answer that says what to do rather than "Given
        token not valid for any token type"."""
        expired = False
        for token_class in api_settings.AUTH_TOKEN_CLASSES:
            try:
                return token_class(raw_token)
            except ExpiredTokenError:
                expired = True
            except TokenError:
                pass
        if expired:  # the same code as simplejwt's, which clients watch for to refresh
            raise InvalidToken(
                "The access token has expired: refresh it with POST /api/auth/refresh.",
                code="token_not_valid",
            )
        raise InvalidToken("The access token is not valid: sign in again.", code="token_not_valid")

    def get_user(self, validated_token: Token) -> User:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification.") from exc
        try:
            user = user_with_tenant(user_id=UUID(str(user_id)), scope=True)
        except ValueError as exc:
            raise AuthenticationFailed("User not found.", code="user_not_found") from exc
        if user is None:
            raise AuthenticationFailed("User not found.", code="user_not_found")
        if validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise AuthenticationFailed("The password has been changed.", code="password_changed")
        ensure_can_sign_in(user)
        return user
