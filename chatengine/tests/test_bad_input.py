"""Input that the JSON parser, a date parser or the database would choke on is
refused with Stream's error envelope and a 4xx, on SQLite and on PostgreSQL:
deep nesting, non-standard constants, unpaired surrogates, NUL characters,
impossible dates and offsets, text longer than its column, integers out of
range, bodies over the size limit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from chatengine.models import ChatUser, Message, Reaction
from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant, post
from chatplatform.json_input import MAX_DEPTH

pytestmark = pytest.mark.django_db

ENVELOPE = {"code", "message", "StatusCode", "duration", "more_info", "details"}
ROOM = "channels/messaging/acme-room"


@pytest.fixture(autouse=True)
def world():
    multi_tenant()
    ann = make_user("ann")
    post(make_channel("acme-room", ann), ann, "hi", id="m1")


def send(method: str, path: str, raw: str, *, user_id: str | None = None, query: str = "") -> Any:
    client = StreamClient(user_id)
    return client.client.generic(
        method,
        f"/chat-api/{path}?api_key={settings.STREAM_API_KEY}{query}",
        raw,
        "application/json",
        HTTP_AUTHORIZATION=client.token,
    )


def get(path: str, query: str, *, user_id: str | None = None) -> Any:
    client = StreamClient(user_id)
    return client.client.get(
        f"/chat-api/{path}?api_key={settings.STREAM_API_KEY}{query}", HTTP_AUTHORIZATION=client.token
    )


def assert_refused(response: Any, status: int = 400, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == ENVELOPE and body["StatusCode"] == status
    assert body["code"] == 4
    for word in words:
        assert word in body["message"], body["message"]
    return body


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# ---------------------------------------------------------------------------
# JSON: one parser for bodies, ?payload= and the WebSocket's json parameter
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deeply_nested_bodies_are_refused(depth):
    assert_refused(send("POST", "channels", '{"filter_conditions": ' + nested(depth) + "}"), 400, "nested")
    assert_refused(send("POST", "channels", "[" * depth + "]" * depth), 400, "nested")


def test_nesting_up_to_the_limit_is_read():
    # The body itself is the first level.
    custom = nested(MAX_DEPTH - 3)
    response = send(
        "POST", f"{ROOM}/message", '{"message": {"text": "x", "deep": ' + custom + "}}", user_id="ann"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 20_000])
def test_deeply_nested_payload_parameters_are_refused(depth):
    assert_refused(get("users", "&payload=" + "[" * depth + "]" * depth), 400, "nested")


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_non_standard_constants_are_refused(constant):
    body = '{"message": {"text": "x", "score": ' + constant + "}}"
    assert_refused(send("POST", f"{ROOM}/message", body, user_id="ann"), 400, constant)
    payload = '{"filter_conditions": {"id": {"$gt": ' + constant + "}}}"
    assert_refused(get("users", "&payload=" + payload), 400, constant)
    assert not Message.objects.exclude(id="m1").exists()


@pytest.mark.parametrize(
    "body",
    [
        r'{"message": {"text": "\ud800"}}',
        r'{"message": {"text": "x\udfffy"}}',
        r'{"message": {"text": "x", "\ud83d": 1}}',
        r'{"message": {"text": "x", "list": ["\udc00"]}}',
    ],
)
def test_unpaired_surrogates_are_refused(body):
    assert_refused(send("POST", f"{ROOM}/message", body, user_id="ann"), 400, "surrogate")
    assert not Message.objects.exclude(id="m1").exists()


def test_paired_surrogates_are_text():
    response = send("POST", f"{ROOM}/message", r'{"message": {"text": "\ud83d\ude00"}}', user_id="ann")
    assert response.status_code == 201, response.content
    assert response.json()["message"]["text"] == "\N{GRINNING FACE}"


@pytest.mark.parametrize(
    "body",
    [
        {"message": {"text": "a\x00b"}},
        {"message": {"text": "ab", "custom": "\x00"}},
        {"message": {"text": "ab", "k\x00": 1}},
    ],
)
def test_nul_characters_in_bodies_are_refused(body):
    assert_refused(send("POST", f"{ROOM}/message", json.dumps(body), user_id="ann"), 400, "NUL")
    assert not Message.objects.exclude(id="m1").exists()


def test_nul_characters_in_user_fields_are_refused():
    body = {"users": {"ann": {"id": "ann", "teams": ["acme"], "name": "a\x00"}}}
    assert_refused(send("POST", "users", json.dumps(body)), 400, "NUL")
    assert ChatUser.objects.get(id="ann").name == ""


def test_nul_characters_in_payload_parameters_are_refused():
    payload = json.dumps({"filter_conditions": {"id": "a\x00"}})
    assert_refused(get("users", "&payload=" + payload), 400, "NUL")


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "messages/m%00", ""),
        ("POST", f"{ROOM}/query", "&user_id=a%00"),
        ("POST", "channels/messaging/room%00/query", ""),
        ("DELETE", f"{ROOM}/file", "&url=%00"),
    ],
)
def test_nul_characters_in_paths_and_query_parameters_are_refused(method, path, query):
    assert_refused(send(method, path, "{}", query=query), 400, "NUL")


def test_json_parameter_of_the_websocket_uses_the_same_parser():
    from chatengine.consumers import _open
    from chatengine.errors import StreamError
    from chatengine.tests.factories import token

    query = {"api_key": settings.STREAM_API_KEY, "authorization": token("ann"), "json": nested(MAX_DEPTH + 1)}
    with pytest.raises(StreamError) as refused:
        _open.func(query, "channel-name")
    assert refused.value.status == 400 and "nested" in refused.value.message


# ---------------------------------------------------------------------------
# Dates: filters, pin_expires, revoke_tokens_issued_before
# ---------------------------------------------------------------------------
IMPOSSIBLE_DATES = [
    "2026-13-45",
    "2026-13-45T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-01-01T25:00:00Z",
    "2026-01-01T00:00:00+99:00",
    "2026-01-01T00:00:00-24:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
]


@pytest.mark.parametrize("date", IMPOSSIBLE_DATES)
def test_impossible_dates_in_filters_are_refused(date):
    body = {"filter_conditions": {"created_at": {"$gt": date}}}
    assert_refused(send("POST", "channels", json.dumps(body)), 400, "created_at")
    payload = json.dumps({"filter_conditions": {"last_active": {"$lte": date}}})
    assert_refused(get("users", "&payload=" + payload), 400, "last_active")


@pytest.mark.parametrize("date", ["9999-12-31T23:59:59+01:00", "0001-01-01T00:30:00-01:00"])
def test_dates_at_the_ends_of_the_range_filter(date):
    body = {"filter_conditions": {"created_at": {"$gt": date}}}
    assert send("POST", "channels", json.dumps(body)).status_code == 201


def test_a_date_without_offset_is_utc():
    body = {"filter_conditions": {"created_at": {"$gt": "2000-01-01T00:00:00"}}}
    response = send("POST", "channels", json.dumps(body))
    assert response.status_code == 201
    assert [c["channel"]["id"] for c in response.json()["channels"]] == ["acme-room"]


@pytest.mark.parametrize("date", IMPOSSIBLE_DATES)
def test_impossible_pin_expiries_are_refused(date):
    message = {"text": "x", "user_id": "ann", "pinned": True, "pin_expires": date}
    assert_refused(send("POST", f"{ROOM}/message", json.dumps({"message": message})), 400, "pin_expires")
    partial = {"user_id": "ann", "set": {"pinned": True, "pin_expires": date}}
    assert_refused(send("PUT", "messages/m1", json.dumps(partial)), 400, "pin_expires")
    assert Message.objects.get(id="m1").pin_expires is None


@pytest.mark.parametrize("date", IMPOSSIBLE_DATES)
def test_impossible_token_cutoffs_are_refused(date):
    body = {"users": [{"id": "ann", "set": {"revoke_tokens_issued_before": date}}]}
    assert_refused(send("PATCH", "users", json.dumps(body)), 400, "revoke_tokens_issued_before")


# ---------------------------------------------------------------------------
# Values the columns cannot hold
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "limit"), [("name", 255), ("language", 16)])
def test_over_long_user_fields_are_refused(field, limit):
    fits = {"users": {"ann": {"id": "ann", "teams": ["acme"], field: "a" * limit}}}
    assert send("POST", "users", json.dumps(fits)).status_code == 201
    too_long = {"users": {"ann": {"id": "ann", "teams": ["acme"], field: "a" * (limit + 1)}}}
    assert_refused(send("POST", "users", json.dumps(too_long)), 400, field, str(limit))
    partial = {"users": [{"id": "ann", "set": {field: "b" * (limit + 1)}}]}
    assert_refused(send("PATCH", "users", json.dumps(partial)), 400, field, str(limit))
    own = {"users": [{"id": "ann", "set": {field: "c" * (limit + 1)}}]}
    assert_refused(send("PATCH", "users", json.dumps(own), user_id="ann"), 400, field)
    assert getattr(ChatUser.objects.get(id="ann"), field) == "a" * limit


@pytest.mark.parametrize("score", [2**31, 2**63, 10**40])
def test_huge_reaction_scores_are_refused(score):
    body = {"reaction": {"type": "like", "score": score}}
    assert_refused(send("POST", "messages/m1/reaction", json.dumps(body), user_id="ann"), 400, "score")
    assert not Reaction.objects.exists()


def test_the_largest_reaction_score_is_kept():
    body = {"reaction": {"type": "like", "score": 2**31 - 1}}
    response = send("POST", "messages/m1/reaction", json.dumps(body), user_id="ann")
    assert response.status_code == 201, response.content
    assert response.json()["reaction"]["score"] == 2**31 - 1


def test_over_long_reaction_types_are_refused():
    body = {"reaction": {"type": "x" * 65}}
    assert_refused(send("POST", "messages/m1/reaction", json.dumps(body), user_id="ann"), 400, "type")


@pytest.mark.parametrize("number", [2**63, 10**40, -(2**64)])
def test_numbers_beyond_64_bits_in_filters_are_refused(number):
    body = {"filter_conditions": {"member_count": {"$gt": number}}}
    assert_refused(send("POST", "channels", json.dumps(body)), 400, "member_count")


# ---------------------------------------------------------------------------
# $contains, which only some databases can run
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "conditions"),
    [
        ("channels", {"color": {"$contains": "red"}}),
        ("channels", {"teams": {"$contains": "acme"}}),
        ("users", {"teams": {"$contains": "acme"}}),
        ("users", {"hobbies": {"$contains": ["chess"]}}),
    ],
)
def test_contains_answers_or_refuses_on_every_database(path, conditions):
    if path == "channels":
        response = send("POST", "channels", json.dumps({"filter_conditions": conditions}))
    else:
        response = get("users", "&payload=" + json.dumps({"filter_conditions": conditions}))
    if connection.features.supports_json_field_contains or (path, *conditions) == ("users", "teams"):
        assert response.status_code in (200, 201), response.content
    else:
        assert_refused(response, 400, "$contains")


# ---------------------------------------------------------------------------
# Size
# ---------------------------------------------------------------------------
def test_bodies_over_the_size_limit_are_refused(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = json.dumps({"message": {"text": "x" * 2000}})
    assert_refused(send("POST", f"{ROOM}/message", big, user_id="ann"), 413, "1024")
    assert not Message.objects.exclude(id="m1").exists()


# ---------------------------------------------------------------------------
# Names that end up in cache keys
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["\u00d3\x12P`", "with space", "x" * 300])
def test_channel_type_names_any_cache_refuses_are_not_found(name):
    from urllib.parse import quote

    response = send("GET", f"channeltypes/{quote(name)}", "")
    assert response.status_code == 404, response.content
    response = send("POST", f"channels/{quote(name)}/room/query", "{}")
    assert response.status_code == 404, response.content
