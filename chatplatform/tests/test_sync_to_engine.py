"""The control plane, the sync worker and the built-in chat engine together,
over real HTTP: what the control plane creates appears in the engine with the
right teams and roles, changes follow, and chat tokens of two tenants stay
isolated. Every engine response is checked against Stream's spec."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
import requests
from django.core.management import call_command
from stream_chat import StreamChat

from accounts.services import user_create, user_delete, user_update
from channels_app.services import (
    channel_create,
    channel_delete,
    channel_direct_start,
    channel_member_remove,
    channel_members_add,
)
from chatengine.tests.live import LiveEngine, fresh_database, migrate, serve
from chatplatform.tests.servers import demo_database, free_port, python, running
from conftest import bearer_client
from streamsync import mapping
from streamsync.tests.conftest import drain, expected_state
from tenants.services import tenant_reactivate, tenant_suspend

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEngine]:
    tmp = tmp_path_factory.mktemp("engine")
    with fresh_database(tmp) as database_url:
        migrate(database_url)
        with serve(database_url, tmp / "spec.log") as live:
            yield live
            violations = live.spec_violations()
    assert violations == [], "\n".join(violations)


@pytest.fixture
def synced_to(engine: LiveEngine, settings) -> LiveEngine:
    settings.STREAM_BASE_URL = ""
    settings.CHATENGINE_URL = engine.base_url
    settings.STREAM_API_KEY = engine.api_key
    settings.STREAM_API_SECRET = engine.api_secret
    return engine


def _server(engine: LiveEngine) -> StreamChat:
    return StreamChat(engine.api_key, engine.api_secret, base_url=engine.base_url)


def _engine_state(engine: LiveEngine, teams: list[str]) -> dict:
    """What the engine holds for these teams, in the shape of ``expected_state``."""
    server = _server(engine)
    users, channels = {}, {}
    for team in teams:
        for user in server.query_users(
            {"teams": {"$contains": team}}, limit=100, include_deactivated_users=True
        )["users"]:
            if user["id"].startswith("system-"):
                continue
            users[user["id"]] = {
                "name": user["name"],
                "role": user["role"],
                "teams": user["teams"],
                "teams_role": user["teams_role"],
                "deactivated": bool(user.get("deactivated_at")),
            }
        found = server.query_channels({"type": "messaging", "team": team}, limit=30, member_limit=100)[
            "channels"
        ]
        for state in found:
            channel = state["channel"]
            channels[channel["cid"]] = {
                **{k: channel.get(k) for k in ("team", "name", "slug", "description", "visibility", "kind")},
                "members": {m["user_id"]: m["channel_role"] for m in state["members"]},
            }
    return {"users": users, "channels": channels}


def test_the_worker_drives_the_engine(synced_to, world):
    call_command("stream_setup")
    assert _server(synced_to).get_app_settings()["app"]["multi_tenant_enabled"] is True
    channel_create(
        tenant=world.tenant_a, name="Launch", created_by=world.moderator, member_ids=[world.member.pk]
    )
    conversation, _ = channel_direct_start(creator=world.member, user_ids=[world.other_member.pk])
    drain()
    state = _engine_state(synced_to, ["acme", "globex"])
    assert state == expected_state()
    # Unnamed, so the UI kit titles it with the other member's name for each viewer.
    assert state["channels"][conversation.cid]["name"] is None
    assert state["channels"][conversation.cid]["kind"] == "direct"
    assert state["users"][world.admin.chat_user_id]["teams_role"] == {"acme": "admin"}
    assert state["users"][world.moderator.chat_user_id]["teams_role"] == {
        "acme": mapping.TENANT_MODERATOR_ROLE
    }
    assert state["users"][world.outsider.chat_user_id]["teams"] == ["globex"]

    user_update(user=world.member, data={"role": "moderator", "full_name": "Mary Mod"})
    channel_members_add(channel=world.public_channel, user_ids=[world.other_member.pk], role="moderator")
    channel_member_remove(channel=world.public_channel, user=world.member)
    tenant_suspend(tenant=world.tenant_b)
    newcomer = user_create(tenant=world.tenant_a, email="new@acme.test", full_name="Newcomer")
    drain()
    assert _engine_state(synced_to, ["acme", "globex"]) == expected_state()

    tenant_reactivate(tenant=world.tenant_b)
    user_delete(user=newcomer)
    channel_delete(channel=world.private_channel)
    drain()
    assert _engine_state(synced_to, ["acme", "globex"]) == expected_state()
    assert "in sync" in _reconcile()


def _reconcile() -> str:
    from io import StringIO

    out = StringIO()
    call_command("stream_reconcile", stdout=out)
    return out.getvalue()


def test_chat_tokens_of_two_tenants_are_isolated(synced_to, world):
    drain()

    def token_for(user) -> dict:
        response = bearer_client(user).get("/api/stream/token")
        assert response.status_code == 200
        return response.json()

    def client_call(token: dict, method: str, path: str, body: dict | None = None) -> requests.Response:
        return requests.request(
            method,
            f"{synced_to.base_url}{path}",
            params={"api_key": token["api_key"], "user_id": token["user_id"]},
            headers={"Authorization": token["token"], "stream-auth-type": "jwt"},
            json=body,
            timeout=10,
        )

    acme, globex = token_for(world.member), token_for(world.outsider)
    found = client_call(
        acme, "POST", "/channels", {"filter_conditions": {"type": "messaging"}, "state": True}
    )
    assert found.ok  # Stream answers POSTs with 201
    assert {c["channel"]["team"] for c in found.json()["channels"]} == {"acme"}

    acme_channel = world.public_channel.chat_id
    peek = client_call(globex, "POST", f"/channels/messaging/{acme_channel}/query", {"state": True})
    assert peek.status_code in (403, 404)
    post = client_call(
        globex, "POST", f"/channels/messaging/{acme_channel}/message", {"message": {"text": "hi"}}
    )
    assert post.status_code in (403, 404)
    theirs = client_call(
        globex, "POST", "/channels", {"filter_conditions": {"type": "messaging"}, "state": True}
    )
    assert acme_channel not in {c["channel"]["id"] for c in theirs.json()["channels"]}
    users = client_call(globex, "GET", "/users", None)
    assert users.status_code in (200, 400)


def test_a_password_change_ends_the_chat_tokens_issued_before_it(synced_to, world):
    """The chat tokens a copied session holds stop working in the chat service;
    the session that changed the password gets a new one that works."""
    from datetime import timedelta

    from django.conf import settings as django_settings
    from django.utils import timezone

    from streamsync.tokens import chat_token_issue

    drain()

    def channels_seen_with(token: str) -> int:
        response = requests.post(
            f"{synced_to.base_url}/channels",
            params={"api_key": synced_to.api_key, "user_id": world.member.chat_user_id},
            headers={"Authorization": token, "stream-auth-type": "jwt"},
            json={"filter_conditions": {"type": "messaging"}},
            timeout=10,
        )
        return response.status_code

    old = chat_token_issue(user=world.member, now=timezone.now() - timedelta(seconds=5)).token
    assert channels_seen_with(old) == 201
    client = bearer_client(world.member)
    changed = client.patch(
        f"/api/users/{world.member.pk}/", {"password": "a-brand-new-long-passphrase"}, format="json"
    )
    assert changed.status_code == 200
    drain()
    assert channels_seen_with(old) == 401
    access = changed.cookies[django_settings.JWT_COOKIE["ACCESS_NAME"]].value
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    fresh = client.get("/api/stream/token")
    assert fresh.status_code == 200
    assert channels_seen_with(fresh.json()["token"]) == 201


def test_a_deleted_users_chat_token_stays_refused(synced_to, world):
    """DELETE /api/users/{id}: the chat token the user still holds neither
    works nor brings the chat user back (without its team)."""
    drain()
    token = bearer_client(world.member).get("/api/stream/token").json()

    def channels() -> requests.Response:
        return requests.post(
            f"{synced_to.base_url}/channels",
            params={"api_key": token["api_key"], "user_id": token["user_id"]},
            headers={"Authorization": token["token"], "stream-auth-type": "jwt"},
            json={"filter_conditions": {"type": "messaging"}},
            timeout=10,
        )

    assert channels().status_code == 201
    deleted = bearer_client(world.admin).delete(f"/api/users/{world.member.pk}/")
    assert deleted.status_code == 204, deleted.content
    drain()
    for _ in range(2):  # the refusal creates nothing that a second call would find
        refused = channels()
        assert refused.status_code == 401 and refused.json()["code"] == 5, refused.content
    found = _server(synced_to).query_users({"id": token["user_id"]}, include_deactivated_users=True)
    assert found["users"] == []


def test_setup_leaves_every_client_role_without_server_side_permissions(synced_to):
    from chatengine import permissions as engine_permissions

    assert set(engine_permissions.SERVER_SIDE_PERMISSIONS) == set(mapping.SERVER_SIDE_PERMISSIONS), (
        "the engine and stream_setup withhold the same permissions"
    )
    call_command("stream_setup")
    server = _server(synced_to)
    for channel_type in ("messaging", "team", "livestream", "gaming", "commerce"):
        grants = server.get_channel_type(channel_type)["grants"]
        held = {perm for perms in grants.values() for perm in perms}
        assert not {perm for perm in held if mapping.is_server_side(perm)}, channel_type
    assert "delete-message" in server.get_channel_type("messaging")["grants"][mapping.TENANT_MODERATOR_ROLE]


def test_suspending_a_tenant_closes_its_peoples_open_sockets(synced_to, world):
    """Suspension takes effect at once in the chat too: a socket opened with a
    chat token from /api/stream/token gets connection.error and closes."""
    import asyncio
    import threading

    import websockets

    from chatengine.tests.wsclient import connect_url, next_event

    drain()
    token = bearer_client(world.outsider).get("/api/stream/token").json()
    connected, received = threading.Event(), {}

    async def listen() -> None:
        async with websockets.connect(connect_url(synced_to, token["user_id"], token["token"])) as ws:
            received["handshake"] = json.loads(await asyncio.wait_for(ws.recv(), 5))
            connected.set()
            received["error"] = await next_event(ws, "connection.error", timeout=15)

    # The socket lives in its own thread: the database work stays in the test's.
    listener = threading.Thread(target=lambda: asyncio.run(listen()))
    listener.start()
    assert connected.wait(10)
    tenant_suspend(tenant=world.tenant_b)
    drain()
    listener.join(20)
    assert received["handshake"]["type"] == "health.check"
    assert received["error"]["error"]["code"] in (5, 40)


@pytest.mark.django_db(transaction=True)
def test_make_run_syncs_a_change_within_about_a_second(tmp_path):
    """`manage.py serve` (what `make run` starts) runs the worker next to the server."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STREAM_BASE_URL": "",
        "REDIS_URL": "",
    }
    demo_database(env)
    with running(
        [python(), "manage.py", "serve", f"127.0.0.1:{port}", "--noreload"], env, f"{base}/api/health"
    ) as server_process:
        login = requests.post(
            f"{base}/api/auth/login",
            json={"email": "alice@acme.test", "password": "demo-chat-2026"},
            timeout=10,
        )
        headers = {"Authorization": f"Bearer {login.json()['access']}"}
        server = StreamChat(
            os.environ["STREAM_API_KEY"], os.environ["STREAM_API_SECRET"], base_url=f"{base}/chat-api"
        )
        # The demo data made before the server started reaches the engine first.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if server.query_users({"teams": {"$contains": "acme"}}, limit=100)["users"]:
                break
            time.sleep(0.2)
        created = requests.post(
            f"{base}/api/users/",
            headers=headers,
            timeout=10,
            json={"email": "fresh@acme.test", "full_name": "Fresh Face", "role": "member"},
        )
        assert created.status_code == 201, created.text
        chat_id = created.json()["chat_user_id"]
        started = time.monotonic()
        while time.monotonic() - started < 10:
            found = server.query_users({"id": {"$in": [chat_id]}})["users"]
            if found:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        assert found and found[0]["name"] == "Fresh Face" and found[0]["teams"] == ["acme"]
        print(json.dumps({"sync_latency_seconds": round(elapsed, 3)}))
        assert elapsed < 5  # "about a second"; generous for a loaded machine
    # It says where everything is.
    output = server_process.stdout.read()
    assert f"Web client           {base}/" in output
    assert f"Chat service         {base}/chat-api/" in output
    assert "Demo sign-in         alice@acme.test (admin)" in output
    assert "password demo-chat-2026" in output
