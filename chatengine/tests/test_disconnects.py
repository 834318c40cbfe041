"""Open sockets stop hearing what their user may no longer see: a user who is
deactivated or deleted, or whose tokens are revoked, gets ``connection.error``
and is closed (a suspended tenant's people must not keep reading along); a
member removed from a channel hears nothing more from it."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests
import websockets
from stream_chat import StreamChat

from chatengine.tests.live import LiveEngine
from chatengine.tests.wsclient import next_event, open_socket, user_token

pytestmark = pytest.mark.slow


def _closed_after(live_engine: LiveEngine, act: Callable[[StreamChat, str], object]) -> tuple[dict, int]:
    server = StreamChat(live_engine.api_key, live_engine.api_secret, base_url=live_engine.base_url)
    user_id = f"leaver-{uuid.uuid4().hex[:6]}"
    server.upsert_user({"id": user_id, "teams": ["acme"]})

    async def scenario() -> tuple[dict, int]:
        ws, handshake = await open_socket(live_engine, user_id)
        assert handshake["type"] == "health.check"
        try:
            await asyncio.to_thread(act, server, user_id)
            error = await next_event(ws, "connection.error")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            return error, closed.value.rcvd.code if closed.value.rcvd else -1
        finally:
            await ws.close()

    return asyncio.run(scenario())


def test_deactivation_closes_the_users_sockets(live_engine: LiveEngine) -> None:
    error, code = _closed_after(live_engine, lambda server, user_id: server.deactivate_user(user_id))
    assert (error["error"]["code"], code) == (5, 1000)
    assert "deactivated" in error["error"]["message"]


def test_deletion_closes_the_users_sockets(live_engine: LiveEngine) -> None:
    error, _ = _closed_after(live_engine, lambda server, user_id: server.delete_users([user_id], "hard"))
    assert "deleted" in error["error"]["message"]


def test_revoking_a_users_tokens_closes_its_sockets(live_engine: LiveEngine) -> None:
    def revoke(server: StreamChat, user_id: str) -> None:
        time.sleep(1.1)  # the cutoff must come after the token's iat (whole seconds)
        server.revoke_user_token(user_id, datetime.now(UTC))

    error, _ = _closed_after(live_engine, revoke)
    assert error["error"]["code"] == 40


def test_a_removed_member_stops_hearing_the_channel(live_engine: LiveEngine) -> None:
    server = StreamChat(live_engine.api_key, live_engine.api_secret, base_url=live_engine.base_url)
    ann, bob = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("ann", "bob"))
    server.upsert_users([{"id": ann, "teams": ["acme"]}, {"id": bob, "teams": ["acme"]}])
    channel = server.channel("messaging", f"acme-{uuid.uuid4().hex[:8]}", {"team": "acme"})
    channel.create(ann)
    channel.add_members([ann, bob])

    async def watch(user_id: str):
        ws, handshake = await open_socket(live_engine, user_id)
        response = await asyncio.to_thread(
            requests.post,
            f"{live_engine.base_url}/channels/messaging/{channel.id}/query",
            params={"api_key": live_engine.api_key, "connection_id": handshake["connection_id"]},
            json={"state": True, "watch": True},
            headers={"Authorization": user_token(live_engine, user_id), "stream-auth-type": "jwt"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return ws

    async def scenario() -> tuple[dict, list[str]]:
        ann_ws, bob_ws = await watch(ann), await watch(bob)
        try:
            await asyncio.to_thread(channel.remove_members, [bob])
            removed = await next_event(bob_ws, "notification.removed_from_channel")
            await asyncio.to_thread(channel.send_message, {"text": "after bob left"}, ann)
            await next_event(ann_ws, "message.new")  # ann hears it ...
            heard = []
            with contextlib.suppress(TimeoutError):  # ... bob does not
                heard.append((await next_event(bob_ws, "message.new", timeout=1.5))["message"]["text"])
            return removed, heard
        finally:
            await ann_ws.close()
            await bob_ws.close()

    removed, heard = asyncio.run(scenario())
    assert removed["member"]["user_id"] == bob
    assert heard == []


# A team role that may read its team's channels without being a member (as
# the control plane's tenant moderators may), and what each case takes away.
WATCHER_ROLE = "team_watcher"


def _demote(server: StreamChat, user_id: str) -> None:
    server.upsert_user({"id": user_id, "teams": ["acme"], "teams_role": {"acme": "user"}})


def _demote_partially(server: StreamChat, user_id: str) -> None:
    server.update_user_partial({"id": user_id, "set": {"teams_role": {"acme": "user"}}})


def _move_to_another_team(server: StreamChat, user_id: str) -> None:
    server.upsert_user({"id": user_id, "teams": ["globex"], "teams_role": {"globex": WATCHER_ROLE}})


def _withdraw_the_grant(server: StreamChat, user_id: str) -> None:
    server.update_channel_type("messaging", grants={WATCHER_ROLE: ["read-channel-members"]})


@pytest.mark.parametrize(
    "lose_access", [_demote, _demote_partially, _move_to_another_team, _withdraw_the_grant]
)
def test_a_watcher_that_may_no_longer_read_a_channel_stops_hearing_it(
    live_engine: LiveEngine, lose_access: Callable[[StreamChat, str], None]
) -> None:
    server = StreamChat(live_engine.api_key, live_engine.api_secret, base_url=live_engine.base_url)
    server.update_app_settings(multi_tenant_enabled=True)
    if WATCHER_ROLE not in {role["name"] for role in server.list_roles()["roles"]}:
        server.create_role(WATCHER_ROLE)
    server.update_channel_type("messaging", grants={WATCHER_ROLE: ["read-channel", "read-channel-members"]})
    mod, cat, dan = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("mod", "cat", "dan"))
    server.upsert_users(
        [
            {"id": mod, "teams": ["acme"], "teams_role": {"acme": WATCHER_ROLE}},
            {"id": cat, "teams": ["acme"], "teams_role": {"acme": "user"}},
            {"id": dan, "teams": ["acme"], "teams_role": {"acme": "user"}},
        ]
    )
    channel = server.channel("messaging", f"acme-private-{uuid.uuid4().hex[:8]}", {"team": "acme"})
    channel.create(cat)
    channel.add_members([cat, dan])  # the watcher is no member: its role let it read

    async def watch(user_id: str):
        ws, handshake = await open_socket(live_engine, user_id)
        response = await asyncio.to_thread(
            requests.post,
            f"{live_engine.base_url}/channels/messaging/{channel.id}/query",
            params={"api_key": live_engine.api_key, "connection_id": handshake["connection_id"]},
            json={"state": True, "watch": True},
            headers={"Authorization": user_token(live_engine, user_id), "stream-auth-type": "jwt"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return ws

    async def scenario() -> tuple[list[str], list[str]]:
        mod_ws, cat_ws = await watch(mod), await watch(cat)
        try:
            await asyncio.to_thread(channel.send_message, {"text": "before"}, dan)
            before = [(await next_event(mod_ws, "message.new"))["message"]["text"]]
            await next_event(cat_ws, "message.new")
            await asyncio.to_thread(lose_access, server, mod)
            await asyncio.to_thread(channel.send_message, {"text": "after"}, dan)
            assert (await next_event(cat_ws, "message.new"))["message"]["text"] == "after"
            after = []
            with contextlib.suppress(TimeoutError):
                after.append((await next_event(mod_ws, "message.new", timeout=1.5))["message"]["text"])
            return before, after
        finally:
            await mod_ws.close()
            await cat_ws.close()

    before, after = asyncio.run(scenario())
    assert before == ["before"], "the watcher heard the channel while it could read it"
    assert after == []
