"""Each WebSocket handshake logs one access line (never its query string, where
the token travels) and counts as accepted or refused."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY

from chatengine.asgi import HandshakeLog
from chatengine.consumers import ChatConsumer
from chatengine.tests.factories import token
from chatengine.tests.test_auth import _connect_path
from chatplatform.tests.test_request_log import _access, _read, log_lines  # noqa: F401  (fixture)


def _connections(outcome: str) -> float:
    return REGISTRY.get_sample_value("chatengine_connections_total", {"outcome": outcome}) or 0.0


async def _first_frame(path: str, request_id: str) -> dict:
    app = HandshakeLog(ChatConsumer.as_asgi())
    communicator = WebsocketCommunicator(app, path, headers=[(b"x-request-id", request_id.encode())])
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    return first


@pytest.mark.django_db(transaction=True)
def test_an_accepted_and_a_refused_handshake_log_one_line_each(log_lines):  # noqa: F811
    accepted, refused = _connections("accepted"), _connections("refused")
    good = _connect_path()
    assert async_to_sync(_first_frame)(good, "ws-good")["type"] == "health.check"
    forged = _connect_path(authorization=token("ann") + "x")
    assert async_to_sync(_first_frame)(forged, "ws-forged")["type"] == "connection.error"

    lines = _access(_read(log_lines))
    assert [(line["request_id"], line["method"], line["status"]) for line in lines] == [
        ("ws-good", "WEBSOCKET", 101),
        ("ws-forged", "WEBSOCKET", 401),
    ]
    assert lines[0]["user_id"] == "ann" and "user_id" not in lines[1]
    assert all(line["path"] == "/chat-api/connect" for line in lines)
    text = "\n".join(log_lines)
    assert token("ann")[:40] not in text and "authorization" not in text
    assert (_connections("accepted") - accepted, _connections("refused") - refused) == (1, 1)
