"""Rotating the key that signs sign-in tokens (JWT_SIGNING_KEY, or SECRET_KEY
when it has none of its own) ends nobody's session while the old key is among
the fallbacks: the tokens people hold keep working, and a refresh hands out a
pair signed with the new key."""

from __future__ import annotations

import jwt
import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

OLD_KEY = "the-signing-key-before-the-rotation-0123456789"
NEW_KEY = "the-signing-key-after-the-rotation-9876543210"


def _signed_in(settings, user) -> APIClient:
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": OLD_KEY}
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return client


def _rotate(settings, *, fallbacks: list[str]) -> None:
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": NEW_KEY}
    settings.JWT_SIGNING_KEY_FALLBACKS = fallbacks


def _refresh(client: APIClient):
    return client.post(
        "/api/auth/refresh", {}, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )


def test_a_session_of_the_old_key_goes_on_and_refreshes_onto_the_new_one(settings, world):
    client = _signed_in(settings, world.member)
    bearer = client.cookies[settings.JWT_COOKIE["ACCESS_NAME"]].value
    _rotate(settings, fallbacks=[OLD_KEY])
    assert client.get("/api/auth/me").status_code == 200
    assert APIClient().get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {bearer}").status_code == 200
    refreshed = _refresh(client)
    assert refreshed.status_code == 200, refreshed.content
    access = refreshed.cookies[settings.JWT_COOKIE["ACCESS_NAME"]].value
    refresh = refreshed.cookies[settings.JWT_COOKIE["REFRESH_NAME"]].value
    for token in (access, refresh):
        jwt.decode(token, NEW_KEY, algorithms=["HS256"])  # signed with the new key alone
    # Once the old key is dropped, the refreshed session still stands on its own.
    settings.JWT_SIGNING_KEY_FALLBACKS = []
    assert client.get("/api/auth/me").status_code == 200


def test_without_the_old_key_among_the_fallbacks_its_sessions_end(settings, world):
    client = _signed_in(settings, world.member)
    _rotate(settings, fallbacks=[])
    assert client.get("/api/auth/me").status_code == 401
    assert _refresh(client).status_code == 401


def test_a_token_of_a_key_never_configured_is_refused(settings, world):
    _rotate(settings, fallbacks=[OLD_KEY])
    forged = jwt.encode(
        {"token_type": "access", "user_id": str(world.member.pk), "exp": 4102444800, "jti": "x"},
        "a-key-nobody-configured-0123456789abcdef",
        algorithm="HS256",
    )
    assert APIClient().get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401
