"""The access log: one JSON line per request with its ids, the request id on
every line and in ``X-Request-ID`` and the audit log, and no secret anywhere."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from django.conf import settings
from django.urls import path

from audit.models import AuditEvent
from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant
from conftest import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    """What the configured console handler writes, as a list of lines (read it
    after the requests): the handler, formatter and filter of ``LOGGING``."""
    (handler,) = [h for h in logging.getLogger().handlers if h.name == "console"]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    lines: list[str] = []
    yield lines
    handler.setStream(previous)


def _read(lines: list[str]) -> list[dict]:
    """Fill ``lines`` from the captured stream and parse each as JSON."""
    (handler,) = [h for h in logging.getLogger().handlers if h.name == "console"]
    lines[:] = handler.stream.getvalue().splitlines()
    return [json.loads(line) for line in lines]


def _access(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("logger") == "chatplatform.request"]


def test_production_logs_are_json():
    assert settings.LOG_FORMAT == "json"  # DEBUG is off in the test run


def test_a_request_logs_exactly_one_json_line_with_its_fields(world, log_lines):
    response = bearer_client(world.member).get(
        "/api/users/?search=member&token=not-for-the-log", HTTP_X_REQUEST_ID="req-42.a_b"
    )
    assert response.status_code == 200
    records = _read(log_lines)
    (line,) = _access(records)
    assert line["method"] == "GET"
    assert line["path"] == "/api/users/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == "req-42.a_b"
    assert line["user_id"] == str(world.member.pk)
    assert line["tenant_id"] == str(world.tenant_a.pk)
    assert line["level"] == "INFO" and "time" in line
    # Every line logged while the request was served carries its id.
    assert all(record.get("request_id") == "req-42.a_b" for record in records)
    assert "not-for-the-log" not in "\n".join(log_lines)


def test_an_anonymous_request_has_no_user_or_tenant(world, log_lines):
    response = bearer_client(None).get("/api/health")
    assert response.status_code == 200
    (line,) = _access(_read(log_lines))
    assert line["status"] == 200 and "user_id" not in line and "tenant_id" not in line


def test_platform_staff_has_a_user_and_no_tenant(world, log_lines):
    bearer_client(world.staff).get("/api/tenants/")
    (line,) = _access(_read(log_lines))
    assert line["user_id"] == str(world.staff.pk) and "tenant_id" not in line


def test_login_and_token_requests_log_no_password_or_token(world, api_client, log_lines):
    password = "Correct-Horse-Battery-Staple-91"
    world.member.set_password(password)
    world.member.save()
    login = api_client.post(
        "/api/auth/login", {"email": world.member.email, "password": password}, format="json"
    )
    assert login.status_code == 200
    wrong = api_client.post(
        "/api/auth/login", {"email": world.member.email, "password": password + "x"}, format="json"
    )
    assert wrong.status_code in (400, 401)
    refresh = api_client.post("/api/auth/refresh", {}, format="json")
    assert refresh.status_code == 200
    chat = api_client.get("/api/stream/token")
    assert chat.status_code == 200
    records = _read(log_lines)
    assert [r["path"] for r in _access(records)] == [
        "/api/auth/login",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/stream/token",
    ]
    text = "\n".join(log_lines)
    secrets = [password, chat.json()["token"], *(c.value for c in api_client.cookies.values())]
    secrets += [c.value for c in login.cookies.values()]
    for secret in secrets:
        assert secret and secret not in text


def test_a_message_and_the_engine_token_stay_out_of_the_log(db, log_lines):
    multi_tenant()
    alice = make_user("alice")
    make_channel("general", alice)
    client = StreamClient("alice")
    response = client.call(
        "POST", "channels/messaging/general/message", {"message": {"text": "the launch code is 0000"}}
    )
    assert response.status_code == 201, response.content
    (line,) = _access(_read(log_lines))
    assert line["path"] == "/chat-api/channels/messaging/general/message" and line["status"] == 201
    text = "\n".join(log_lines)
    assert "launch code" not in text and client.token not in text and "api_key" not in text


def test_a_capability_in_the_path_is_masked(db, log_lines):
    token = "invitation-token-that-grants-access-0123456789"
    bearer_client(None).get(f"/invite/{token}")
    (line,) = _access(_read(log_lines))
    assert line["path"] == "/invite/***"
    assert token not in "\n".join(log_lines)


def test_the_request_id_comes_back_in_x_request_id(db):
    client = bearer_client(None)
    assert client.get("/api/health", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    generated = client.get("/api/health")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    # Too long, or characters a log line should not carry: replaced, not echoed.
    for bad in ("x" * 65, "a b", "id\r\nX-Evil: 1", "<script>"):
        answered = client.get("/api/health", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert answered != bad and re.fullmatch(r"[0-9a-f]{32}", answered)


def test_what_middleware_answers_alone_is_logged_with_an_id(db, settings, log_lines):
    settings.SECURE_SSL_REDIRECT = True
    response = bearer_client(None).get("/api/users/", HTTP_X_REQUEST_ID="redirected")
    assert response.status_code == 301 and response["X-Request-ID"] == "redirected"
    (line,) = _access(_read(log_lines))
    assert (line["status"], line["request_id"]) == (301, "redirected")


def test_the_audit_event_carries_the_request_id(world):
    response = bearer_client(world.admin).post(
        "/api/users/", {"email": "new@acme.test", "full_name": "New", "role": "member"}, format="json"
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="user.created")
    assert event.request_id == response["X-Request-ID"] != ""


def _failing_view(request):
    raise RuntimeError("the view failed")


urlpatterns = [path("boom", _failing_view, name="boom")]


@pytest.mark.urls(__name__)
def test_a_failure_logs_its_traceback_with_the_request_id_and_no_query_string(db, client, log_lines):
    client.raise_request_exception = False
    response = client.get("/boom?token=secret-in-the-query", HTTP_X_REQUEST_ID="failing-1")
    assert response.status_code == 500
    records = _read(log_lines)
    (line,) = _access(records)
    assert (line["status"], line["level"], line["path"]) == (500, "ERROR", "/boom")
    (failure,) = [r for r in records if r["logger"] == "django.request"]
    assert failure["request_id"] == "failing-1" and "RuntimeError: the view failed" in failure["exc_info"]
    assert "secret-in-the-query" not in "\n".join(log_lines)
