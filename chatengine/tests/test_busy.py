"""A saturated database is a reason to come back later, not a server error:
Stream's 429 (code 9) with ``Retry-After``, nothing written."""

from __future__ import annotations

import psycopg
import pytest
from asgiref.sync import async_to_sync
from django.db import OperationalError
from psycopg_pool import PoolTimeout

from chatengine import consumers
from chatengine.api import messages as message_views
from chatengine.errors import Code, database_busy
from chatengine.models import Message
from chatengine.tests.factories import StreamClient, make_channel, make_user
from chatengine.tests.test_auth import _connect_path, _handshake

pytestmark = pytest.mark.django_db


def _pool_exhausted(*args, **kwargs):
    # What Django's PostgreSQL backend raises when no pooled connection came free in time.
    try:
        raise PoolTimeout("couldn't get a connection after 10.00 sec")
    except PoolTimeout as exc:
        raise OperationalError(str(exc)) from exc


def _locked(*args, **kwargs):
    raise OperationalError("database is locked")


def _deadlock(*args, **kwargs):
    # What Django raises when PostgreSQL broke a lock cycle by aborting this
    # statement (or found a serialization conflict): nothing of it was written.
    try:
        raise psycopg.errors.DeadlockDetected("deadlock detected")
    except psycopg.Error as exc:
        raise OperationalError(str(exc)) from exc


@pytest.mark.parametrize(
    "failure", [_pool_exhausted, _locked, _deadlock], ids=["pool-timeout", "sqlite-lock", "deadlock"]
)
def test_a_send_the_database_has_no_room_for_is_refused_with_429(monkeypatch, failure):
    ana = make_user("ana")
    channel = make_channel("general", ana)
    monkeypatch.setattr(message_views.message_services, "message_send", failure)
    response = StreamClient().call(
        "POST",
        f"channels/messaging/{channel.channel_id}/message",
        {"message": {"text": "hi", "user_id": "ana"}},
    )
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    body = response.json()
    assert body["code"] == Code.RATE_LIMITED and body["StatusCode"] == 429
    assert "Too many requests" in body["message"]
    assert not Message.objects.exists()


def test_other_database_errors_stay_server_errors():
    assert database_busy(OperationalError("server closed the connection unexpectedly")) is None
    assert database_busy(ValueError("database is locked")) is None
    try:
        try:
            raise psycopg.errors.UndefinedTable("relation does not exist")
        except psycopg.Error as exc:
            raise OperationalError(str(exc)) from exc
    except OperationalError as wrapped:
        assert database_busy(wrapped) is None


@pytest.mark.django_db(transaction=True)
def test_a_handshake_the_database_has_no_room_for_is_refused_with_429(monkeypatch):
    monkeypatch.setattr(consumers, "_open", _pool_exhausted)
    first, closed = async_to_sync(_handshake)(_connect_path())
    assert first["type"] == "connection.error"
    assert first["error"]["code"] == Code.RATE_LIMITED and first["error"]["StatusCode"] == 429
    # Closed with 1000 after the error, as Stream does: the SDK decides to retry from the code.
    assert closed == {"type": "websocket.close", "code": 1000}
