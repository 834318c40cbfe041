"""Bad input never breaks the engine: every route, with malformed bodies and
payloads, as a server and as a client, answers Stream's error envelope with a
4xx (or succeeds), never a 500."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from django.conf import settings
from django.urls import URLPattern, resolve

from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant, post
from chatengine.urls import urlpatterns

pytestmark = pytest.mark.django_db

BODIES = [
    None,
    [],
    "text",
    1,
    {"message": "text"},
    {"message": {"text": 5}},
    {"message": {"id": 5}},
    {"message": {"text": "x", "attachments": "x", "mentioned_users": [{}]}},
    {"message": {"text": "x", "parent_id": "nope"}},
    {"data": []},
    {"data": {"members": "x", "team": 5}},
    {"users": [1]},
    {"users": {"x": "y"}},
    {"users": [{"id": "ann", "set": {"revoke_tokens_issued_before": "soon"}}]},
    {"user_ids": "a"},
    {"user_ids": [1]},
    {"reaction": {"type": 5}},
    {"reaction": {"type": "x", "score": "high"}},
    {"event": {"type": 3}},
    {"set": [], "unset": {}},
    {"set": {"pinned": "yes", "pin_expires": "never"}},
    {"set": {"archived": True, "channel_role": 5}, "unset": [None]},
    {"add_members": [{"user_id": 3}]},
    {"assign_roles": [{"user_id": "ann", "channel_role": 7}]},
    {"filter_conditions": {"$and": {"a": 1}}},
    {"filter_conditions": {"members": {"$in": [1]}}},
    {"filter_conditions": {"teams": {"$in": "acme"}}},
    {"sort": "x"},
    {"limit": "abc"},
    {"messages": {"limit": -1}},
    {"messages": {"id_around": 5}},
    {"message_id": 5},
    {"cids": "x"},
    {"grants": {"user": "x"}},
    {"name": 5},
    {"multi_tenant_enabled": "yes"},
    {"members": {"limit": "x"}},
    {"target_id": 5},
    {"target_ids": "ann", "timeout": 1e30},
    {"target_id": "ann", "timeout": 10**40},
    {"channel_cid": ["x"]},
    {"channel_cids": ["messaging:acme-room"], "expiration": "soon"},
    {"target_message_id": 5},
    {"target_message_id": "m1", "reason": 5, "custom": "x"},
    {"target_user_id": ["ann"]},
    {"target_user_id": "ann", "channel_cid": 5, "timeout": "x"},
    {"target_user_id": "ann", "type": "messaging", "id": "nope", "shadow": "x"},
    {"filter_conditions": {"channel_cid": {"$in": 5}}},
    {"filter_conditions": {"type": "messaging"}, "query": 5},
    {"filter_conditions": {"type": "messaging"}, "message_filter_conditions": {"text": {"$q": 5}}},
    {"filter_conditions": {"type": "messaging"}, "query": "x", "sort": [{"field": "nope"}]},
    {"blocked_user_id": 5},
    {"blocked_user_id": "ann"},
    {"blocked_user_id": "zed", "user_id": ["ann"]},
    {"blocked_user_id": ["zed"], "user": {"id": 5}},
]
# A value for each part of an engine path, against the world ``_world`` makes:
# real objects (ann's channel and message), another team's channel, and names
# that do not exist. A new route is swept as soon as it is in chatengine.urls.
SAMPLES = {
    "channel_type": ("messaging",),
    "channel_id": ("acme-room", "globex-room"),
    "user_id": ("ann",),
    "message_id": ("m1",),
    "reaction_type": ("like",),
    "name": ("nope", "messaging"),
    "task_id": ("not-a-uuid",),
}
# Routes that are no Stream endpoint taking a body: the index, served uploads, the catch-all.
NOT_SWEPT = {"chatengine-index", "chatengine-upload", "chatengine-unknown"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _paths(pattern: URLPattern) -> list[str]:
    """Concrete paths for a route: each combination of the samples of its parts."""
    regex = pattern.pattern.regex.pattern.removeprefix("^").removesuffix("/?$")
    groups = _GROUP.findall(regex)
    return [_fill(regex, dict(zip(groups, values, strict=True))) for values in _combinations(groups)]


def _combinations(groups: list[str]) -> list[tuple[str, ...]]:
    return list(itertools.product(*(SAMPLES[group] for group in groups)))


def _fill(regex: str, values: dict[str, str]) -> str:
    return _GROUP.sub(lambda match: values[match.group(1)], regex)


def _routes() -> list[tuple[str, str]]:
    """(route name, path) for every engine route, from chatengine.urls."""
    return [
        (pattern.name, path)
        for pattern in urlpatterns
        if isinstance(pattern, URLPattern) and pattern.name not in NOT_SWEPT
        for path in _paths(pattern)
    ]


ROUTES = _routes()
ENVELOPE = {"code", "message", "StatusCode", "duration", "more_info", "details"}


def _world() -> None:
    multi_tenant()
    ann = make_user("ann")
    post(make_channel("acme-room", ann), ann, "hi", id="m1")
    make_channel("globex-room", make_user("zed", team="globex"), team="globex")


def test_every_engine_route_is_swept():
    names = {pattern.name for pattern in urlpatterns if isinstance(pattern, URLPattern)}
    assert {name for name, _ in ROUTES} == names - NOT_SWEPT
    for name, path in ROUTES:
        assert resolve(f"/chat-api/{path}").url_name == name, path


@pytest.mark.parametrize(("name", "path"), ROUTES, ids=[path for _, path in ROUTES])
@pytest.mark.parametrize("user_id", [None, "ann"], ids=["server", "client"])
def test_no_route_answers_500_to_bad_input(name: str, path: str, user_id: str | None) -> None:
    _world()
    failures = []
    client = StreamClient(user_id)
    query = f"api_key={settings.STREAM_API_KEY}" + (f"&user_id={user_id}" if user_id else "")
    for body, method in itertools.product(BODIES, METHODS):
        raw = json.dumps(body)
        if method == "GET":
            url = f"/chat-api/{path}?{query}&payload={raw}"
            response = client.client.get(url, HTTP_AUTHORIZATION=client.token)
        else:
            response = client.client.generic(
                method,
                f"/chat-api/{path}?{query}",
                raw,
                "application/json",
                HTTP_AUTHORIZATION=client.token,
            )
        if response.status_code >= 500:
            failures.append((method, body, response.content[:200]))
        elif response.status_code >= 400 and set(response.json()) != ENVELOPE:
            failures.append((method, body, "not Stream's envelope"))
    assert failures == []


def test_a_json_body_over_the_size_limit_is_a_413_not_a_500(settings):
    make_user("ann")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = StreamClient("ann").call("POST", "users", {"users": [{"id": "ann", "bio": "x" * 2048}]})
    assert response.status_code == 413, response.content
    assert response.json()["code"] == 4 and "larger than 1024 bytes" in response.json()["message"]
