"""Stream's authentication: API key, JWT checks with their error codes, on
REST and on the WebSocket handshake."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.utils import timezone

from chatengine.consumers import ChatConsumer
from chatengine.hub import Hub
from chatengine.models import CONNECTION_STALE_AFTER, Connection
from chatengine.services.connections import connections_seen
from chatengine.services.users import users_upsert
from chatengine.tests.factories import StreamClient, make_user, token

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
def test_a_token_whose_signature_was_checked_before_still_expires(monkeypatch):
    """Signatures are checked once per token; its time claims at every use."""
    from chatengine import auth

    users_upsert(users=[{"id": "ann"}])
    now = int(time.time())
    client = StreamClient("ann", exp=now + 60)
    assert client.call("POST", "channels", {}).status_code == 201

    class Later(auth.datetime):  # type: ignore[name-defined,misc]
        @classmethod
        def now(cls, tz=None):
            return auth.datetime.fromtimestamp(now + 3600, tz=tz)

    monkeypatch.setattr(auth, "datetime", Later)
    response = client.call("POST", "channels", {})
    assert response.status_code == 401 and response.json()["code"] == 40


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
def test_tokens_signed_with_a_replaced_secret_work_during_a_rotation(settings):
    """Rotating STREAM_API_SECRET with the old one in STREAM_API_SECRET_FALLBACKS:
    tokens handed out before go on; new ones use the new secret; others stay refused."""
    users_upsert(users=[{"id": "ann"}])
    before = StreamClient("ann")  # signed with the secret of the day
    old = settings.STREAM_API_SECRET
    settings.STREAM_API_SECRET = "the-new-secret-of-the-chat-service-0123456789"
    assert before.call("POST", "channels", {}).json()["code"] == 43
    settings.STREAM_API_SECRET_FALLBACKS = [old]
    assert before.call("POST", "channels", {}).status_code == 201
    assert StreamClient("ann").call("POST", "channels", {}).status_code == 201
    stranger = StreamClient("ann")
    stranger.token = jwt.encode({"user_id": "ann"}, "a-secret-never-used-here-0123456789", "HS256")
    assert stranger.call("POST", "channels", {}).json()["code"] == 43
    # The claims are checked whichever secret verified them.
    expired = jwt.encode({"user_id": "ann", "exp": NOW - 60}, old, "HS256")
    stranger.token = expired
    assert stranger.call("POST", "channels", {}).json()["code"] == 40


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


SERVER_ONLY_SETTINGS = {
    "webhook_url": "https://hooks.example/stream?secret=hook-secret",
    "moderation_webhook_url": "https://hooks.example/moderation",
    "custom_action_handler_url": "https://hooks.example/actions",
    "sqs_url": "https://sqs.example/queue",
    "sqs_key": "sqs-key",
    "sqs_secret": "sqs-secret",
    "sns_topic_arn": "arn:aws:sns:topic",
    "sns_key": "sns-key",
    "sns_secret": "sns-secret",
    "push_notifications": {"version": "v2", "firebase": {"enabled": True, "credentials_json": "fcm-secret"}},
    "event_hooks": [{"hook_type": "webhook", "webhook_url": "https://hooks.example/e"}],
    "webhook_events": ["message.new"],
    "grants": {"user": ["read-channel"]},
    "policies": {"p": [{"name": "allow all"}]},
}


@pytest.mark.django_db
def test_a_client_sees_only_the_app_settings_a_client_uses():
    users_upsert(users=[{"id": "ann"}])
    server = StreamClient()
    upload = {"size_limit": 1000, "blocked_file_extensions": [".exe"]}
    settings_update = {**SERVER_ONLY_SETTINGS, "file_upload_config": upload, "multi_tenant_enabled": True}
    assert server.call("PATCH", "app", settings_update).status_code == 200
    server.call("PATCH", "app", {"revoke_tokens_issued_before": "2020-01-01T00:00:00Z"})

    # Server-side auth sees everything it stored.
    full = server.call("GET", "app").json()["app"]
    for key, value in SERVER_ONLY_SETTINGS.items():
        assert full[key] == value, key
    assert full["revoke_tokens_issued_before"].startswith("2020-01-01")

    # A client gets what the SDKs read (upload limits, channel configs,
    # multi-tenancy), and every server-only field at its empty value.
    response = StreamClient("ann").call("GET", "app")
    assert response.status_code == 200
    app = response.json()["app"]
    # (The size limit is the engine's own, whatever was stored.)
    assert app["file_upload_config"] == {**upload, "size_limit": 100 * 1024 * 1024}
    assert app["multi_tenant_enabled"] is True and "messaging" in app["channel_configs"]
    text = response.content.decode()
    leaks = ("hook-secret", "hooks.example", "sqs.", "sqs-", "sns-", "arn:aws", "fcm-secret", "read-channel")
    for secret in leaks:
        assert secret not in text, secret
    assert app["webhook_url"] == "" and app["sqs_secret"] == "" and app["grants"] == {}
    assert app["push_notifications"]["firebase"] == {"enabled": False}
    assert "revoke_tokens_issued_before" not in app


@pytest.mark.django_db
def test_unknown_routes_and_methods_answer_with_streams_envelope(client):
    response = StreamClient().call("DELETE", "app")
    assert response.status_code == 405 and response.json()["code"] == 4
    missing = client.post("/chat-api/no/such/endpoint", "{}", "application/json")
    assert missing.status_code == 404 and missing.json()["code"] == 16


@pytest.mark.django_db
def test_the_engines_address_says_what_it_is_and_lists_its_endpoints(client):
    index = client.get("/chat-api/")
    assert index.status_code == 200
    body = index.json()
    assert body["base_url"] == "http://testserver/chat-api"
    assert body["websocket"] == "ws://testserver/chat-api/connect"
    endpoints = {e["path"]: e["methods"] for e in body["endpoints"]}
    assert endpoints["/app"] == ["GET", "PATCH"]
    assert "POST" in endpoints["/channels/{channel_type}/{channel_id}/message"]
    # Each listed endpoint is a route of the engine, not the catch-all.
    for path, methods in endpoints.items():
        concrete = path.replace("{", "").replace("}", "")
        assert client.generic(methods[0], f"/chat-api{concrete}").json().get("code") != 16, path
    # Only reading: anything else is the usual unknown-endpoint answer.
    assert client.post("/chat-api/", "{}", "application/json").json()["code"] == 16


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


# ---------------------------------------------------------------------------
# WebSocket pings
# ---------------------------------------------------------------------------
def _ping_frames(frames: int, checks_per_frame: int) -> list[str]:
    """Connect, send ``frames`` frames of ``checks_per_frame`` health checks
    each, disconnect; the updates the consumer made after the handshake."""
    statements: list[str] = []
    recording = False

    def record(execute, sql, params, many, context):
        if recording:
            statements.append(sql)
        return execute(sql, params, many, context)

    async def session() -> None:
        nonlocal recording
        communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), _connect_path())
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["type"] == "health.check"
        recording = True
        for _ in range(frames):
            frame = [{"type": "health.check", "client_id": "ann--1"}] * checks_per_frame
            await communicator.send_json_to(frame)
            assert (await communicator.receive_json_from(timeout=5))["type"] == "health.check"
        await communicator.disconnect()

    # The consumer's database calls run in the thread that called async_to_sync.
    with connection.execute_wrapper(record):
        async_to_sync(session)()
    # Closing the connection writes too (the user's last activity): not a ping's doing.
    return [sql for sql in statements if sql.startswith('UPDATE "chatengine_connection"')]


@pytest.mark.django_db(transaction=True)
def test_pings_are_answered_without_writing_to_the_database():
    # Three frames, one of them holding 200 health checks: each answered, none written.
    writes = _ping_frames(3, 1) + _ping_frames(1, 200)
    assert writes == []


@pytest.mark.django_db
def test_one_update_writes_the_last_pings_of_many_sockets(django_assert_num_queries):
    ann = make_user("ann")
    long_ago = timezone.now() - CONNECTION_STALE_AFTER + timedelta(seconds=5)
    ids = [f"conn-{i}" for i in range(50)]
    Connection.objects.bulk_create(
        [Connection(id=i, channel_name=f"chat.x!{i}", user=ann, last_seen=long_ago) for i in ids]
    )
    hub = Hub(loop=None)  # only its ping book is used here
    with django_assert_num_queries(0):
        for _ in range(3):  # every socket pings three times
            for connection_id in ids[:40]:
                hub.saw(connection_id)
    with django_assert_num_queries(1):
        connections_seen(connection_ids=hub.take_seen())
    assert hub.take_seen() == [], "a flush starts a new round"
    fresh = timezone.now() - timedelta(seconds=5)
    assert set(Connection.objects.filter(last_seen__gte=fresh).values_list("id", flat=True)) == set(ids[:40])
    # The stale rule is unchanged: the ten that did not ping are still live, until 90 s pass.
    assert Connection.objects.live().count() == 50
