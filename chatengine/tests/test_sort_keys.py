"""Every sort key the engine accepts sorts: none is a name the database cannot order by."""

from __future__ import annotations

import json

import pytest

from chatengine.filters import (
    SORTABLE_CHANNEL_FIELDS,
    SORTABLE_MEMBER_FIELDS,
    SORTABLE_MESSAGE_FIELDS,
    SORTABLE_USER_FIELDS,
)
from chatengine.tests.factories import StreamClient, make_channel, make_user, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann():
    ann = make_user("ann", name="Ann")
    channel = make_channel("room", ann, make_user("bob", name="Bob"))
    post(channel, ann, "hello there")
    return ann


def _get(client: StreamClient, path: str, payload: dict) -> dict:
    response = client.call("GET", path, payload=json.dumps(payload))
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("direction", [1, -1])
@pytest.mark.parametrize("key", sorted(SORTABLE_CHANNEL_FIELDS))
def test_channels_sort_by_every_key(ann, key, direction):
    sort = [{"field": key, "direction": direction}]
    body = {"filter_conditions": {"type": "messaging"}, "sort": sort}
    response = StreamClient("ann").call("POST", "channels", body)
    assert response.status_code == 201, response.content
    assert [c["channel"]["id"] for c in response.json()["channels"]] == ["room"]


@pytest.mark.parametrize("key", sorted(SORTABLE_USER_FIELDS))
def test_users_sort_by_every_key(ann, key):
    sort = [{"field": key, "direction": -1}]
    payload = {"filter_conditions": {"id": {"$in": ["ann", "bob"]}}, "sort": sort}
    assert {u["id"] for u in _get(StreamClient(), "users", payload)["users"]} == {"ann", "bob"}


@pytest.mark.parametrize("key", sorted(SORTABLE_MEMBER_FIELDS))
def test_members_sort_by_every_key(ann, key):
    payload = {"type": "messaging", "id": "room", "filter_conditions": {}, "sort": [{"field": key}]}
    assert {m["user_id"] for m in _get(StreamClient(), "members", payload)["members"]} == {"ann", "bob"}


@pytest.mark.parametrize("key", sorted(SORTABLE_MESSAGE_FIELDS))
def test_search_sorts_by_every_key(ann, key):
    payload = {"filter_conditions": {"type": "messaging"}, "query": "hello", "sort": [{"field": key}]}
    results = _get(StreamClient("ann"), "search", payload)["results"]
    assert [r["message"]["text"] for r in results] == ["hello there"]
