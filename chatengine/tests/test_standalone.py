"""The engine served alone at the root of its own port, for SDKs that drop a
path prefix: the async Python SDK (which sends absolute paths) and a socket at
``/connect``. The rest of the project is not reachable there."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
import requests
from stream_chat import StreamChat
from stream_chat.async_chat import StreamChatAsync

from chatengine.tests.live import LiveEngine, fresh_database, migrate, serve
from chatengine.tests.wsclient import next_event, open_socket

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEngine]:
    tmp = tmp_path_factory.mktemp("standalone")
    with fresh_database(tmp) as database_url:
        migrate(database_url)
        with serve(database_url, tmp / "spec.log", standalone=True) as engine:
            yield engine
            violations, checked = engine.spec_violations(), engine.spec_checked()
    assert checked and violations == [], violations


def test_async_sdk_and_a_socket_work_at_the_root(standalone: LiveEngine) -> None:
    assert standalone.prefix == ""
    user = f"solo-{uuid.uuid4().hex[:6]}"
    channel_id = f"solo-{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple[list, dict]:
        async with StreamChatAsync(
            standalone.api_key, standalone.api_secret, base_url=standalone.origin + "/"
        ) as sdk:
            await sdk.upsert_user({"id": user, "name": "Solo"})
            await sdk.channel("messaging", channel_id, {"members": [user]}).create(user)
            channels = (await sdk.query_channels({"id": channel_id}))["channels"]
            ws, handshake = await open_socket(standalone, user)
            try:
                await ws.send(json.dumps([{"type": "health.check", "client_id": f"{user}--ping"}]))
                pong = await next_event(ws, "health.check")
            finally:
                await ws.close()
        assert pong["connection_id"] == handshake["connection_id"]
        return channels, handshake

    channels, handshake = asyncio.run(scenario())
    assert [c["channel"]["id"] for c in channels] == [channel_id]
    assert handshake["me"]["id"] == user and handshake["me"]["channel_mutes"] == []

    # The link of an upload works at the root too.
    sdk = StreamChat(standalone.api_key, standalone.api_secret, base_url=standalone.origin)
    uploaded = requests.post(
        f"{standalone.origin}/channels/messaging/{channel_id}/file",
        params={"api_key": standalone.api_key},
        headers={"Authorization": sdk.auth_token, "stream-auth-type": "jwt"},
        data={"user": json.dumps({"id": user})},
        files={"file": ("solo.txt", b"alone", "text/plain")},
        timeout=10,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert requests.get(uploaded.json()["file"], timeout=5).content == b"alone"


def test_only_the_engine_is_served_alone(standalone: LiveEngine) -> None:
    assert requests.get(f"{standalone.origin}/api/health", timeout=5).status_code == 404
    assert requests.get(f"{standalone.origin}/admin/", timeout=5).status_code == 404
