"""Presence: a user's first socket opening and its last one closing reach the
users watching a channel it belongs to, and nobody else."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import requests
from stream_chat import StreamChat

from chatengine.tests.live import LiveEngine
from chatengine.tests.wsclient import next_event, open_socket, user_token

pytestmark = pytest.mark.slow


def test_presence_reaches_the_watchers_of_a_shared_channel(live_engine: LiveEngine) -> None:
    server = StreamChat(live_engine.api_key, live_engine.api_secret, base_url=live_engine.base_url)
    ann, bob, stranger = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("ann", "bob", "stranger"))
    server.upsert_users([{"id": user_id, "teams": ["acme"]} for user_id in (ann, bob, stranger)])
    channel = server.channel("messaging", f"acme-{uuid.uuid4().hex[:8]}", {"team": "acme"})
    channel.create(ann)
    channel.add_members([ann, bob])

    async def scenario() -> tuple[dict, dict]:
        ws, handshake = await open_socket(live_engine, ann)
        try:
            watch = await asyncio.to_thread(
                requests.post,
                f"{live_engine.base_url}/channels/messaging/{channel.id}/query",
                params={"api_key": live_engine.api_key, "connection_id": handshake["connection_id"]},
                json={"state": True, "watch": True, "presence": True},
                headers={"Authorization": user_token(live_engine, ann), "stream-auth-type": "jwt"},
                timeout=10,
            )
            assert watch.status_code == 201, watch.text
            outsider, _ = await open_socket(live_engine, stranger)  # shares no channel with ann
            visitor, _ = await open_socket(live_engine, bob)
            came = await next_event(ws, "user.presence.changed")
            await visitor.close()
            went = await next_event(ws, "user.presence.changed")
            await outsider.close()
            return came, went
        finally:
            await ws.close()

    came, went = asyncio.run(scenario())
    assert (came["user"]["id"], came["user"]["online"]) == (bob, True)
    assert (went["user"]["id"], went["user"]["online"]) == (bob, False)
    assert went["user"]["last_active"] >= came["user"]["last_active"]


def test_a_renamed_user_reaches_the_watchers_of_its_channels(live_engine: LiveEngine) -> None:
    server = StreamChat(live_engine.api_key, live_engine.api_secret, base_url=live_engine.base_url)
    ann, bob = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("ann", "bob"))
    server.upsert_users([{"id": ann, "teams": ["acme"]}, {"id": bob, "name": "Bob", "teams": ["acme"]}])
    channel = server.channel("messaging", f"acme-{uuid.uuid4().hex[:8]}", {"team": "acme"})
    channel.create(ann)
    channel.add_members([ann, bob])

    async def scenario() -> dict:
        ws, handshake = await open_socket(live_engine, ann)
        try:
            watch = await asyncio.to_thread(
                requests.post,
                f"{live_engine.base_url}/channels/messaging/{channel.id}/query",
                params={"api_key": live_engine.api_key, "connection_id": handshake["connection_id"]},
                json={"state": True, "watch": True},
                headers={"Authorization": user_token(live_engine, ann), "stream-auth-type": "jwt"},
                timeout=10,
            )
            assert watch.status_code == 201, watch.text
            # The same profile again changes nothing and says nothing; a new name does.
            await asyncio.to_thread(server.upsert_user, {"id": bob, "name": "Bob", "teams": ["acme"]})
            await asyncio.to_thread(server.update_users_partial, [{"id": bob, "set": {"name": "Robert"}}])
            return await next_event(ws, "user.updated")
        finally:
            await ws.close()

    event = asyncio.run(scenario())
    assert (event["user"]["id"], event["user"]["name"]) == (bob, "Robert")
