"""The authentication backend: Django's password check behind the sign-in throttles."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import User, normalize_email
from accounts.throttling import sign_in_attempt_admit


class ThrottledModelBackend(ModelBackend):
    """Every ``authenticate()`` call (API login, console login, the console's
    password change) is counted and judged by ``accounts.throttling`` before any
    password is hashed. Past a limit it raises ``SignInRefused``, which
    ``authenticate()`` lets through so each caller can say "wait"."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        attempt = sign_in_attempt_admit(request=request, email=normalize_email(username))
        user = super().authenticate(request, username=username, password=password)
        attempt.settle(succeeded=user is not None)
        return user

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)
