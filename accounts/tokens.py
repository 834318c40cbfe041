"""Issuing, rotating and revoking the JWT pair, and the cookies that carry it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.authentication import ensure_can_sign_in
from accounts.jwt import RefreshToken, token_backend
from accounts.models import User
from audit.services import audit_record
from chatplatform.errors import ApplicationError

logger = logging.getLogger(__name__)

# A rotated refresh token presented again this soon after is another tab of the
# same browser refreshing with the same cookie, not a copy.
REFRESH_REUSE_GRACE = timedelta(seconds=30)


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
        if _sessions_end_on_reuse(raw_refresh):
            raise InvalidRefreshToken(
                "This refresh token was already used, so it may have been copied: every session "
                "of the account has ended. Log in again."
            ) from exc
        raise InvalidRefreshToken(str(exc)) from exc
    try:
        user = User.objects.select_related("tenant").get(pk=refresh[api_settings.USER_ID_CLAIM])
    except (User.DoesNotExist, KeyError, ValueError) as exc:
        raise InvalidRefreshToken("Token is invalid.") from exc
    # Like access tokens, refresh tokens carry a digest of the password hash: a
    # password set anywhere (the API, the console, a management command) ends them.
    if refresh.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
        raise InvalidRefreshToken("The password has been changed: log in again.", code="password_changed")
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


def _sessions_end_on_reuse(raw_refresh: str) -> bool:
    """Whether ``raw_refresh`` is a genuine refresh token used again after it
    was rotated or revoked; if so, every session of its account ends.

    Only one party can hold the successor of a rotated token, so a second
    use means two parties had the token: the owner and a thief, and either
    may be the one holding the successor. Blacklisting all the account's
    refresh tokens shuts both out until the owner logs in again (access
    tokens run out within minutes). A reuse within ``REFRESH_REUSE_GRACE``
    of the first is two tabs refreshing with one cookie at once, and is only
    refused.
    """
    try:
        payload = token_backend().decode(raw_refresh, verify=True)  # signature and expiry only
    except TokenBackendError:
        return False
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != RefreshToken.token_type:
        return False
    used = (
        BlacklistedToken.objects.select_related("token")
        .filter(token__jti=payload.get(api_settings.JTI_CLAIM))
        .first()
    )
    if used is None or used.token.user_id is None:
        return False
    if used.blacklisted_at > timezone.now() - REFRESH_REUSE_GRACE:
        return False
    user = User.objects.select_related("tenant").filter(pk=used.token.user_id).first()
    with transaction.atomic():
        ended = refresh_tokens_revoke(user_ids=[used.token.user_id])
        audit_record(
            action="auth.refresh_reused",
            target_type="user",
            target_id=used.token.user_id,
            target_repr=user.email if user else "",
            tenant=user.tenant if user else None,
            changes={"sessions_ended": [None, ended]},
        )
    logger.warning("refresh: a used token came back; %s sessions of its account ended", ended)
    return True


def refresh_tokens_revoke(*, user_ids: Iterable[UUID]) -> int:
    """Blacklist every live refresh token of these users, in the caller's
    transaction: each of their sessions ends at its next refresh (their access
    tokens run out within minutes, or at once for a password change or a
    deactivation). Returns how many sessions ended."""
    live = OutstandingToken.objects.filter(
        user_id__in=list(user_ids), expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    ended = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in live.values_list("pk", flat=True)], ignore_conflicts=True
    )
    return len(ended)


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
