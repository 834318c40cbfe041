"""GET /api/stream/token: claims, expiry, and who may have one."""

from __future__ import annotations

import time

import jwt
import pytest
from rest_framework.test import APIClient

from conftest import bearer_client
from tenants.services import tenant_suspend

pytestmark = pytest.mark.django_db

URL = "/api/stream/token"


def _decode(token: str, settings) -> dict:
    return jwt.decode(token, settings.STREAM_API_SECRET, algorithms=["HS256"])


def test_token_for_the_caller(world, settings):
    before = int(time.time())
    response = bearer_client(world.member).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "api_key", "user_id", "expires_at", "base_url"}
    assert body["user_id"] == world.member.chat_user_id
    assert body["api_key"] == settings.STREAM_API_KEY
    claims = _decode(body["token"], settings)
    assert set(claims) == {"user_id", "iat", "exp"}
    assert claims["user_id"] == world.member.chat_user_id
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 3600
    assert response["Cache-Control"] == "no-store"
    assert body["expires_at"].startswith(time.strftime("%Y-%m-%d", time.gmtime(claims["exp"])))


def test_lifetime_comes_from_settings(world, settings):
    settings.STREAM_TOKEN_TTL = 600
    claims = _decode(bearer_client(world.member).get(URL).json()["token"], settings)
    assert claims["exp"] - claims["iat"] == 600


def test_expired_token_does_not_verify(world, settings):
    settings.STREAM_TOKEN_TTL = -10
    token = bearer_client(world.member).get(URL).json()["token"]
    with pytest.raises(jwt.ExpiredSignatureError):
        _decode(token, settings)


def test_user_id_in_the_request_is_ignored(world, settings):
    response = bearer_client(world.member).get(URL, {"user_id": world.admin.chat_user_id})
    assert _decode(response.json()["token"], settings)["user_id"] == world.member.chat_user_id


def test_base_url_is_the_built_in_engine_or_stream(world, settings):
    settings.STREAM_BASE_URL = ""
    settings.CHATENGINE_PUBLIC_URL = ""
    assert bearer_client(world.member).get(URL).json()["base_url"] == "http://testserver/chat-api"
    settings.CHATENGINE_PUBLIC_URL = "https://chat.example.com/chat-api"
    assert bearer_client(world.member).get(URL).json()["base_url"] == "https://chat.example.com/chat-api"
    settings.STREAM_BASE_URL = "https://chat.stream-io-api.com"
    assert bearer_client(world.member).get(URL).json()["base_url"] == "https://chat.stream-io-api.com"


def test_suspended_tenant_is_refused(world):
    tenant_suspend(tenant=world.tenant_a)
    response = bearer_client(world.member).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "tenant_suspended"


def test_inactive_user_is_refused(world):
    client = bearer_client(world.member)
    world.member.is_active = False
    world.member.save()
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


def test_staff_without_tenant_has_no_chat_account(world):
    response = bearer_client(world.staff).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "no_chat_account"


def test_anonymous_is_refused():
    assert APIClient().get(URL).status_code == 401


def test_outsider_gets_a_token_for_itself_only(world, settings):
    body = bearer_client(world.outsider).get(URL).json()
    assert _decode(body["token"], settings)["user_id"] == world.outsider.chat_user_id


def test_signing_needs_no_network(world, settings, monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("the token endpoint opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert bearer_client(world.member).get(URL).status_code == 200
