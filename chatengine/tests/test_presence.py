"""Presence: a user's first socket opening and its last one closing reach the
users watching a channel it belongs to, and nobody else."""

from __future__ import annotations

import asyncio
import json
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


USERS = 6


def test_connecting_users_send_one_presence_event_per_subscribed_socket(live_engine: LiveEngine) -> None:
    """Users connect one after the other and watch their channels, the even
    ones with ``presence: true``. Every user is in the lobby; users of the same
    parity also share a second room (so two users may share two channels).

    The rule, per socket: one ``user.watching.start`` per channel it watches
    for itself and for each later user who starts watching that channel; one
    ``user.presence.changed`` for each later user it shares any channel with,
    only if it asked for presence, and never one per shared channel. A second
    socket of a user who is online and watching announces nothing."""
    server = StreamChat(live_engine.api_key, live_engine.api_secret, base_url=live_engine.base_url)
    tag = uuid.uuid4().hex[:6]
    users = [f"u{i}-{tag}" for i in range(USERS)]
    server.upsert_users([{"id": user_id, "teams": ["acme"]} for user_id in users])
    channels = {"lobby": users, "even": users[0::2], "odd": users[1::2]}
    for name, members in channels.items():
        channel = server.channel("messaging", f"{name}-{tag}", {"team": "acme"})
        channel.create(members[0])
        channel.add_members(members)
    member_of = {user: {name for name, members in channels.items() if user in members} for user in users}
    presence = {user: index % 2 == 0 for index, user in enumerate(users)}

    async def connect_and_watch(user: str, with_presence: bool) -> object:
        ws, handshake = await open_socket(live_engine, user)
        reply = await asyncio.to_thread(
            requests.post,
            f"{live_engine.base_url}/channels",
            params={"api_key": live_engine.api_key, "connection_id": handshake["connection_id"]},
            json={
                "filter_conditions": {"members": {"$in": [user]}},
                "state": True,
                "watch": True,
                "presence": with_presence,
            },
            headers={"Authorization": user_token(live_engine, user), "stream-auth-type": "jwt"},
            timeout=10,
        )
        assert reply.status_code == 201, reply.text
        assert len(reply.json()["channels"]) == len(member_of[user])
        return ws

    async def scenario() -> dict[str, dict[str, int]]:
        sockets = []
        try:
            for user in users:
                sockets.append(await connect_and_watch(user, presence[user]))
            # The last user's second socket: already online and watching, it
            # announces nothing to anyone.
            sockets.append(await connect_and_watch(users[-1], True))
            # Events reach a process's sockets in the order they were sent:
            # a message in the lobby, which everyone watches, closes the count.
            await asyncio.to_thread(
                server.channel("messaging", f"lobby-{tag}").send_message, {"text": "end"}, users[0]
            )
            counts = {}
            for user, ws in zip([*users, "second socket"], sockets, strict=True):
                seen = {"user.presence.changed": 0, "user.watching.start": 0}
                async with asyncio.timeout(10):
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame["type"] == "message.new":
                            break
                        if frame["type"] in seen:
                            seen[frame["type"]] += 1
                counts[user] = seen
            return counts
        finally:
            for ws in sockets:
                await ws.close()

    heard = asyncio.run(scenario())
    expected = {}
    for index, user in enumerate(users):
        later = users[index + 1 :]
        watching = sum(1 + sum(other in channels[name] for other in later) for name in member_of[user])
        sharing = sum(bool(member_of[user] & member_of[other]) for other in later)
        expected[user] = {
            "user.presence.changed": sharing if presence[user] else 0,
            "user.watching.start": watching,
        }
    expected["second socket"] = {"user.presence.changed": 0, "user.watching.start": 0}
    assert heard == expected
    total = {
        kind: sum(count[kind] for count in heard.values())
        for kind in ("user.presence.changed", "user.watching.start")
    }
    # Presence: u0, u2 and u4 hear 5, 3 and 1 later users; watching: 6 + 15 in
    # the lobby, 6 + 6 in the two rooms.
    assert total == {"user.presence.changed": 5 + 3 + 1, "user.watching.start": 21 + 12}
