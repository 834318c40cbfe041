"""JSON the API's parser or the database would choke on is a 4xx in the API's
error body, never a 500, signed in or not: deep nesting, non-standard
constants, unpaired surrogates (in values and in keys, which error bodies
echo), NUL characters, bodies over the size limit."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from rest_framework.test import APIClient

from chatplatform.api.parsers import JSONParser, RequestTooLarge
from chatplatform.json_input import MAX_DEPTH
from conftest import bearer_client

pytestmark = pytest.mark.django_db

# Two public endpoints (read before anyone is authenticated) and two behind a login.
PUBLIC = ["/api/auth/login", "/api/invitations/accept"]
SIGNED_IN = ["/api/channels/", "/api/users/"]


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def client_for_path(world, path: str) -> APIClient:
    client = APIClient() if path in PUBLIC else bearer_client(world.admin)
    client.raise_request_exception = False
    return client


def post_raw(world, path: str, raw: str | bytes):
    return client_for_path(world, path).generic("POST", path, raw, content_type="application/json")


def assert_error(response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) <= {"detail", "code", "fields"} and body["code"] == code, body
    for word in words:
        assert word in body["detail"], body["detail"]


@pytest.mark.parametrize("path", PUBLIC + SIGNED_IN)
@pytest.mark.parametrize(
    "raw",
    [nested(MAX_DEPTH + 1), nested(50_000), "[" * 50_000 + "]" * 50_000],
    ids=["over-the-limit", "deep-object", "deep-list"],
)
def test_deeply_nested_json_is_a_400(world, path, raw):
    assert_error(post_raw(world, path, raw), 400, "parse_error", "nested")


@pytest.mark.parametrize("path", PUBLIC + SIGNED_IN)
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_a_400(world, path, constant):
    assert_error(
        post_raw(world, path, '{"email": ' + constant + ', "name": "x"}'), 400, "parse_error", constant
    )


@pytest.mark.parametrize("path", PUBLIC + SIGNED_IN)
@pytest.mark.parametrize(
    "raw",
    [r'{"email": "\ud800@acme.test", "name": "x"}', r'{"\ud800": 1}', r'{"name": ["\udfff"]}'],
    ids=["value", "key", "list-item"],
)
def test_unpaired_surrogates_are_a_400(world, path, raw):
    assert_error(post_raw(world, path, raw), 400, "parse_error", "surrogate")


@pytest.mark.parametrize("path", PUBLIC + SIGNED_IN)
@pytest.mark.parametrize(
    "body",
    [{"email": "a\x00@acme.test", "password": "x"}, {"name": "x", "\x00": 1}, {"name": ["a", "\x00"]}],
    ids=["value", "key", "list-item"],
)
def test_nul_characters_are_a_400(world, path, body):
    assert_error(post_raw(world, path, json.dumps(body)), 400, "parse_error", "NUL")


def test_a_body_that_is_not_utf8_is_a_400(world):
    assert_error(post_raw(world, "/api/auth/login", b'{"email": "\xff"}'), 400, "parse_error")


def test_paired_surrogates_are_text(world):
    response = bearer_client(world.admin).generic(
        "POST", "/api/channels/", r'{"name": "Party \ud83c\udf89"}', content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Party \N{PARTY POPPER}"


@pytest.mark.parametrize("path", PUBLIC + SIGNED_IN)
def test_a_body_over_the_size_limit_is_a_413(world, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = json.dumps({"name": "n", "description": "x" * 4000})
    assert_error(post_raw(world, path, big), 413, "request_too_large", "1024")


def test_a_body_without_a_declared_length_is_read_only_up_to_the_limit(settings):
    # A chunked body declares no length to refuse it by: the parser stops at the limit.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    stream = BytesIO(json.dumps({"description": "x" * 4000}).encode())
    with pytest.raises(RequestTooLarge):
        JSONParser().parse(stream, "application/json", {})
    assert stream.tell() == 1025


def test_a_body_at_the_size_limit_is_read(world, settings):
    body = json.dumps({"name": "n", "description": ""})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)
    response = bearer_client(world.admin).generic(
        "POST", "/api/channels/", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
