"""Every error under /api/ is JSON {"detail", "code", "fields"?}; bad input never gives a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from conftest import bearer_client

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404_like_a_missing_object(world):
    client = bearer_client(world.admin)
    unknown = client.get("/api/nothing-here/")
    missing_object = client.get("/api/users/00000000-0000-0000-0000-000000000000/")
    assert unknown.status_code == missing_object.status_code == 404
    assert unknown.json() == missing_object.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/users/x/y/z", "/api/", "/api/auth/"])
def test_unknown_api_path_is_json_with_debug_on_too(world, settings, path):
    # With DEBUG on, Django answers an unmatched path with its HTML debug page
    # instead of calling handler404.
    settings.DEBUG = True
    response = bearer_client(world.admin).get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_malformed_id_is_a_404(world):
    response = bearer_client(world.admin).get("/api/users/not-a-uuid/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_malformed_json_is_a_400(world):
    response = bearer_client(world.admin).generic(
        "POST", "/api/channels/", '{"name": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_wrong_types_are_400_with_fields(world):
    response = bearer_client(world.admin).post(
        "/api/channels/", {"name": ["x"], "member_ids": "nope", "visibility": 3}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"name", "member_ids", "visibility"}


def test_non_object_body_is_a_400(world):
    response = bearer_client(world.admin).post("/api/channels/", [1, 2], format="json")
    assert response.status_code == 400


def test_method_not_allowed(world):
    response = bearer_client(world.admin).delete("/api/users/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "path", ["/api/users", "/api/users/", "/api/channels", "/api/auth/me/", "/api/health/"]
)
def test_trailing_slash_is_optional(world, path):
    assert bearer_client(world.admin).get(path).status_code == 200


def test_post_without_trailing_slash_keeps_its_body(world):
    response = bearer_client(world.admin).post("/api/channels", {"name": "No slash"}, format="json")
    assert response.status_code == 201


def test_expired_token(world, settings):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken.for_user(world.admin)
    token.set_exp(lifetime=-timedelta(minutes=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert "expired" in response.json()["detail"]


def test_health_and_ready():
    client = APIClient()
    assert client.get("/api/health").json() == {"status": "ok"}
    ready = client.get("/api/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == {"status": "ok"}


def test_an_oversized_body_is_a_json_413(settings):
    # The webhook reads its raw body itself (to check the signature), not through the parser.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client = APIClient(raise_request_exception=False)
    response = client.generic("POST", "/api/stream/webhook", b"x" * 4096, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than 1024 bytes.",
        "code": "request_too_large",
    }


def test_nested_errors_say_where(world):
    response = bearer_client(world.admin).post(
        "/api/channels/", {"name": "X", "member_ids": [str(world.member.pk), "nope"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"member_ids": ["Item 1: Must be a valid UUID."]}


def test_a_missing_client_address_is_not_a_server_error(world):
    # WSGI callers other than real servers may omit REMOTE_ADDR.
    response = APIClient(REMOTE_ADDR=None).post("/api/auth/login", {}, format="json")
    assert response.status_code == 400
