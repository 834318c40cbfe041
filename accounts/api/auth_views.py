"""Login, refresh, logout and the current user."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.middleware.csrf import rotate_token
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import (
    LoginResponseSerializer,
    LoginSerializer,
    LogoutSerializer,
    MeSerializer,
    RefreshResponseSerializer,
    RefreshSerializer,
)
from accounts.authentication import enforce_csrf, ensure_can_sign_in
from accounts.models import normalize_email
from accounts.throttling import RefreshThrottle, SignInRefused
from accounts.tokens import (
    InvalidRefreshToken,
    clear_auth_cookies,
    set_auth_cookies,
    token_pair_issue,
    token_pair_rotate,
    token_revoke,
)
from chatplatform.api.exceptions import error_body

INVALID_CREDENTIALS = error_body("Invalid email or password.", "invalid_credentials")


def _refresh_from(request: Request, body_value: str | None) -> tuple[str | None, bool]:
    """The refresh token from the body, else from its cookie; and whether it came from the cookie."""
    if body_value:
        return body_value, False
    return request.COOKIES.get(settings.JWT_COOKIE["REFRESH_NAME"]), True


class TokenEndpoint(APIView):
    """Credentials travel in the body (or a cookie), never as request authentication."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        # Without authenticators DRF would turn a 401 into a 403.
        return 'Bearer realm="api"'


class LoginView(TokenEndpoint):
    # Throttled inside authenticate() (accounts.throttling), like every sign-in.
    extra_error_codes = {"post": ["401", "403", "429"]}

    @extend_schema(
        tags=["auth"],
        request=LoginSerializer,
        responses={200: LoginResponseSerializer},
        description=(
            "Checks the credentials and sets HttpOnly `access` and `refresh` cookies plus a "
            "readable `csrftoken` cookie. Wrong email or password and inactive users all get "
            "the same 401; a user of a suspended tenant gets 403 `tenant_suspended`. Attempts "
            "are throttled per client address, and per account since its last good password "
            "(429 with `Retry-After`; a locked account refuses even the right password)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = normalize_email(serializer.validated_data["email"])
        try:
            user = authenticate(request._request, email=email, password=serializer.validated_data["password"])
        except SignInRefused as refused:
            raise Throttled(wait=refused.retry_after) from None
        if user is None:
            return Response(INVALID_CREDENTIALS, status=status.HTTP_401_UNAUTHORIZED)
        ensure_can_sign_in(user)
        refresh = token_pair_issue(user=user)
        rotate_token(request._request)  # a new CSRF secret per session; sets the cookie
        access = str(refresh.access_token)
        response = Response({"user": MeSerializer(user).data, "access": access})
        set_auth_cookies(response, refresh, access)
        return response


class RefreshView(TokenEndpoint):
    extra_error_codes = {"post": ["401", "403"]}
    throttle_classes = [RefreshThrottle]

    @extend_schema(
        tags=["auth"],
        request=RefreshSerializer,
        responses={200: RefreshResponseSerializer},
        description=(
            "Exchanges a refresh token (from the body, or from the refresh cookie with an "
            "`X-CSRFToken` header) for a new pair. Refresh tokens rotate: the one used is "
            "refused from then on. Throttled per account (429 with `Retry-After`)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw, from_cookie = _refresh_from(request, serializer.validated_data.get("refresh"))
        if not raw:
            raise InvalidRefreshToken("No refresh token: send it in the body or the cookie.")
        if from_cookie:
            enforce_csrf(request)
        refresh, _user = token_pair_rotate(raw_refresh=raw)
        access = str(refresh.access_token)
        body = {"access": access}
        if not from_cookie:
            body["refresh"] = str(refresh)
        response = Response(body)
        set_auth_cookies(response, refresh, access)
        return response


class LogoutView(TokenEndpoint):
    extra_error_codes = {"post": ["403"]}

    @extend_schema(
        tags=["auth"],
        request=LogoutSerializer,
        responses={204: OpenApiResponse(description="Logged out; cookies cleared.")},
        description="Blacklists the refresh token (body or cookie) and clears the auth cookies.",
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw, from_cookie = _refresh_from(request, serializer.validated_data.get("refresh"))
        if raw:
            if from_cookie:
                enforce_csrf(request)
            token_revoke(raw_refresh=raw)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        clear_auth_cookies(response)
        return response


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        """The signed-in user, with its tenant, role and what its organization allows (calls)."""
        return Response(MeSerializer(request.user).data)
