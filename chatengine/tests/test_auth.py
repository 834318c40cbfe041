"""Stream's authentication: API key, JWT checks with their error codes, on
REST and on the WebSocket handshake."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import jwt
import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chatengine.consumers import ChatConsumer
from chatengine.services.users import users_upsert
from chatengine.tests.factories import StreamClient, token

NOW = int(time.time())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"exp": NOW - 60}, 40),
        ({"nbf": NOW + 3600}, 41),
        ({"iat": NOW + 3600}, 42),
        ({"exp": "soon"}, 5),
    ],
)
def test_token_claims_are_honoured(claims, code):
    users_upsert(users=[{"id": "ann"}])
    response = StreamClient("ann", **claims).call("POST", "channels", {})
    assert response.status_code == 401
    assert response.json()["code"] == code


@pytest.mark.django_db
def test_a_token_within_its_lifetime_and_a_small_clock_skew_passes():
    users_upsert(users=[{"id": "ann"}])
    now = int(time.time())  # not NOW: the module may have been imported minutes ago
    response = StreamClient("ann", exp=now + 60, iat=now + 2).call("POST", "channels", {})
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, 5),
        (
            {
                "HTTP_AUTHORIZATION": jwt.encode(
                    {"user_id": "ann"}, "another-secret-of-32-bytes-or-more", "HS256"
                )
            },
            43,
        ),
        ({"HTTP_AUTHORIZATION": "not-a-jwt"}, 5),
        ({"HTTP_AUTHORIZATION": jwt.encode({"user_id": "ann"}, None, "none")}, 5),
        ({"HTTP_AUTHORIZATION": jwt.encode({"role": "admin"}, settings.STREAM_API_SECRET, "HS256")}, 5),
        ({"HTTP_AUTHORIZATION": token(), "HTTP_STREAM_AUTH_TYPE": "anonymous"}, 5),
    ],
)
def test_bad_tokens_are_refused(client, headers, code):
    response = client.post(
        f"/chat-api/channels?api_key={settings.STREAM_API_KEY}", "{}", "application/json", **headers
    )
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "StatusCode", "duration", "more_info", "details"}


@pytest.mark.django_db
def test_the_api_key_is_checked_first(client):
    response = client.post(
        "/chat-api/channels?api_key=wrong", "{}", "application/json", HTTP_AUTHORIZATION=token()
    )
    assert (response.status_code, response.json()["code"]) == (401, 2)


@pytest.mark.django_db
def test_a_client_cannot_use_server_only_endpoints():
    users_upsert(users=[{"id": "ann"}])
    ann = StreamClient("ann")
    assert ann.call("PATCH", "app", {"multi_tenant_enabled": False}).json()["code"] == 17
    assert ann.call("POST", "users/delete", {"user_ids": ["ann"]}).json()["code"] == 17
    # A client may edit its own profile, never its role or teams.
    refused = ann.call("PATCH", "users", {"users": [{"id": "ann", "set": {"teams": ["globex"]}}]})
    assert refused.status_code == 403
    renamed = ann.call("PATCH", "users", {"users": [{"id": "ann", "set": {"name": "Annie"}}]})
    assert renamed.json()["users"]["ann"]["name"] == "Annie"
    upsert = ann.call("POST", "users", {"users": {"ann": {"id": "ann", "role": "admin", "teams": ["x"]}}})
    assert upsert.json()["users"]["ann"]["role"] == "user" and upsert.json()["users"]["ann"]["teams"] == []


@pytest.mark.django_db
def test_unknown_routes_and_methods_answer_with_streams_envelope(client):
    response = StreamClient().call("DELETE", "app")
    assert response.status_code == 405 and response.json()["code"] == 4
    missing = client.post("/chat-api/no/such/endpoint", "{}", "application/json")
    assert missing.status_code == 404 and missing.json()["code"] == 16


# ---------------------------------------------------------------------------
# WebSocket handshake
# ---------------------------------------------------------------------------
def _connect_path(**overrides: str) -> str:
    query = {
        "json": json.dumps({"user_id": "ann", "user_details": {"id": "ann", "name": "Ann"}}),
        "api_key": settings.STREAM_API_KEY,
        "authorization": token("ann"),
        "stream-auth-type": "jwt",
        **overrides,
    }
    return "/chat-api/connect?" + urlencode(query)


async def _handshake(path: str) -> tuple[dict, dict | None]:
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), path)
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    closed = None
    if first["type"] == "connection.error":
        closed = await communicator.receive_output(timeout=5)
    else:
        await communicator.send_json_to([{"type": "health.check", "client_id": "ann--1"}])
        pong = await communicator.receive_json_from(timeout=5)
        assert pong["type"] == "health.check" and pong["connection_id"] == first["connection_id"]
    await communicator.disconnect()
    return first, closed


@pytest.mark.django_db(transaction=True)
def test_the_handshake_sends_health_check_with_me():
    first, _ = async_to_sync(_handshake)(_connect_path())
    assert first["type"] == "health.check" and first["connection_id"] and first["cid"] == "*"
    me = first["me"]
    assert me["id"] == "ann" and me["name"] == "Ann", "a new user is created from user_details"
    assert me["mutes"] == [] and me["channel_mutes"] == [] and me["total_unread_count"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"api_key": "wrong"}, 2),
        ({"authorization": token("ann", exp=NOW - 60)}, 40),
        ({"authorization": token("bob")}, 5),
        ({"authorization": token()}, 5),
        (
            {"authorization": jwt.encode({"user_id": "ann"}, "another-secret-of-32-bytes-or-more", "HS256")},
            43,
        ),
        ({"json": "{broken"}, 4),
    ],
)
def test_a_refused_handshake_sends_the_error_and_closes_with_1000(overrides, code):
    first, closed = async_to_sync(_handshake)(_connect_path(**overrides))
    assert first["type"] == "connection.error"
    assert first["error"]["code"] == code
    # Any other close code makes the client retry forever.
    assert closed == {"type": "websocket.close", "code": 1000}
