"""Issuing, rotating and revoking the JWT pair, and the cookies that carry it."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import ensure_can_sign_in
from accounts.models import User
from chatplatform.errors import ApplicationError


class InvalidRefreshToken(ApplicationError):
    status_code = 401
    default_code = "token_not_valid"


def token_pair_issue(*, user: User) -> RefreshToken:
    """A fresh refresh token (recorded as outstanding) with its access token."""
    return RefreshToken.for_user(user)


def token_pair_rotate(*, raw_refresh: str) -> tuple[RefreshToken, User]:
    """Exchange a refresh token for a new pair; the old one is blacklisted.

    The blacklist entry is created under a row lock, so a token replayed
    concurrently is refused as surely as one replayed later.
    """
    try:
        refresh = RefreshToken(raw_refresh)  # signature, expiry, type, blacklist
    except TokenError as exc:
        raise InvalidRefreshToken(str(exc)) from exc
    try:
        user = User.objects.select_related("tenant").get(pk=refresh[api_settings.USER_ID_CLAIM])
    except (User.DoesNotExist, KeyError, ValueError) as exc:
        raise InvalidRefreshToken("Token is invalid.") from exc
    ensure_can_sign_in(user)
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .filter(jti=refresh[api_settings.JTI_CLAIM])
            .order_by()
            .first()
        )
        if outstanding is None:
            raise InvalidRefreshToken("Token is invalid.")
        _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not created:
            raise InvalidRefreshToken("Token is blacklisted.")
    return token_pair_issue(user=user), user


def token_revoke(*, raw_refresh: str) -> None:
    """Blacklist a refresh token; an invalid or expired one is simply ignored."""
    with contextlib.suppress(TokenError):
        RefreshToken(raw_refresh).blacklist()


def set_auth_cookies(response: HttpResponse, refresh: RefreshToken, access: str) -> None:
    conf = settings.JWT_COOKIE
    access_lifetime = int(api_settings.ACCESS_TOKEN_LIFETIME.total_seconds())
    refresh_lifetime = int(api_settings.REFRESH_TOKEN_LIFETIME.total_seconds())
    common = {"secure": conf["SECURE"], "httponly": conf["HTTPONLY"], "samesite": conf["SAMESITE"]}
    response.set_cookie(conf["ACCESS_NAME"], access, max_age=access_lifetime, path="/", **common)
    response.set_cookie(
        conf["REFRESH_NAME"], str(refresh), max_age=refresh_lifetime, path=conf["REFRESH_PATH"], **common
    )


def clear_auth_cookies(response: HttpResponse) -> None:
    conf = settings.JWT_COOKIE
    response.delete_cookie(conf["ACCESS_NAME"], path="/", samesite=conf["SAMESITE"])
    response.delete_cookie(conf["REFRESH_NAME"], path=conf["REFRESH_PATH"], samesite=conf["SAMESITE"])
