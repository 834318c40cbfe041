"""Filters and sorts are bounded: size, nesting, terms, conditions and list
lengths, each refused with code 4 and the limit in the message, on every query
that takes a filter. Each bound is tried at the limit and one over it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatengine.filters import (
    MAX_FILTER_BYTES,
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_IN_VALUES,
    MAX_LOGICAL_TERMS,
    MAX_SORT_FIELDS,
)
from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def world():
    multi_tenant()
    ann, bob = make_user("ann"), make_user("bob")
    make_channel("acme-general", ann, bob)


def channels(conditions: Any, **options: Any) -> Any:
    return StreamClient("ann").call("POST", "channels", {"filter_conditions": conditions, **options})


def get(path: str, caller: str | None = "ann", **payload: Any) -> Any:
    return StreamClient(caller).call("GET", path, payload=json.dumps(payload))


def assert_refused(response: Any, limit: int) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == 4 and body["StatusCode"] == 400
    assert str(limit) in body["message"], body["message"]


def ids(n: int) -> list[str]:
    return [f"u{i}" for i in range(n)]


def nested(depth: int) -> dict[str, Any]:
    conditions: dict[str, Any] = {"type": "messaging"}
    for _ in range(depth):
        conditions = {"$and": [conditions]}
    return conditions


def test_in_lists_are_bounded():
    assert channels({"members": {"$in": ids(MAX_IN_VALUES)}}).status_code == 201
    assert_refused(channels({"members": {"$in": ids(MAX_IN_VALUES + 1)}}), MAX_IN_VALUES)
    assert_refused(channels({"cid": {"$nin": ids(MAX_IN_VALUES + 1)}}), MAX_IN_VALUES)
    assert_refused(channels({"members": ids(MAX_IN_VALUES + 1)}), MAX_IN_VALUES)


def test_logical_terms_are_bounded():
    terms = [{"cid": f"messaging:c{i}"} for i in range(MAX_LOGICAL_TERMS + 1)]
    assert channels({"$or": terms[:-1]}).status_code == 201
    assert_refused(channels({"$or": terms}), MAX_LOGICAL_TERMS)
    assert_refused(channels({"$nor": terms}), MAX_LOGICAL_TERMS)


def test_a_long_or_is_refused_quickly_not_a_server_error():
    terms = [{"cid": f"messaging:c{i}"} for i in range(20_000)]
    assert_refused(channels({"$or": terms}), MAX_FILTER_BYTES)
    assert_refused(channels({"$or": terms[:1000]}), MAX_LOGICAL_TERMS)


def test_nesting_is_bounded():
    assert channels(nested(MAX_FILTER_DEPTH)).status_code == 201
    assert_refused(channels(nested(MAX_FILTER_DEPTH + 1)), MAX_FILTER_DEPTH)


def test_field_conditions_are_bounded():
    terms = [{"cid": f"messaging:c{i}"} for i in range(MAX_FILTER_CONDITIONS // 2)]
    at_limit = {"$or": terms, "$and": [{"$or": terms}]}
    assert channels(at_limit).status_code == 201
    assert_refused(channels({**at_limit, "type": "messaging"}), MAX_FILTER_CONDITIONS)


def test_filter_size_is_bounded():
    padding = MAX_FILTER_BYTES - len(json.dumps({"name": ""}, separators=(",", ":")))
    assert channels({"name": "x" * padding}).status_code == 201
    assert_refused(channels({"name": "x" * (padding + 1)}), MAX_FILTER_BYTES)


def test_sort_fields_are_bounded():
    sort = [{"field": "created_at", "direction": 1}] * (MAX_SORT_FIELDS + 1)
    assert channels({}, sort=sort[:-1]).status_code == 201
    assert_refused(channels({}, sort=sort), MAX_SORT_FIELDS)
    assert_refused(get("users", filter_conditions={}, sort=sort), MAX_SORT_FIELDS)


def test_user_filters_are_bounded():
    assert get("users", filter_conditions={"id": {"$in": ids(MAX_IN_VALUES)}}).status_code == 200
    assert_refused(get("users", filter_conditions={"id": {"$in": ids(MAX_IN_VALUES + 1)}}), MAX_IN_VALUES)
    assert_refused(get("users", filter_conditions=nested(MAX_FILTER_DEPTH + 1)), MAX_FILTER_DEPTH)


def test_member_filters_are_bounded():
    channel = {"type": "messaging", "id": "acme-general"}
    terms = [{"user_id": f"u{i}"} for i in range(MAX_LOGICAL_TERMS + 1)]
    assert get("members", **channel, filter_conditions={"$or": terms[:-1]}).status_code == 200
    assert_refused(get("members", **channel, filter_conditions={"$or": terms}), MAX_LOGICAL_TERMS)


def test_message_filters_are_bounded():
    where = {"members": {"$in": ["ann"]}}
    fine = {"user_id": {"$in": ids(MAX_IN_VALUES)}}
    assert get("search", filter_conditions=where, message_filter_conditions=fine).status_code == 200
    over = {"user_id": {"$in": ids(MAX_IN_VALUES + 1)}}
    assert_refused(get("search", filter_conditions=where, message_filter_conditions=over), MAX_IN_VALUES)
    wide = {"members": {"$in": ids(MAX_IN_VALUES + 1)}}
    assert_refused(get("search", filter_conditions=wide, query="hello"), MAX_IN_VALUES)


def test_moderation_filters_are_bounded():
    fine = {"user_id": {"$in": ids(MAX_IN_VALUES)}}
    assert get("query_banned_users", None, filter_conditions=fine).status_code == 200
    over = {"user_id": {"$in": ids(MAX_IN_VALUES + 1)}}
    assert_refused(get("query_banned_users", None, filter_conditions=over), MAX_IN_VALUES)
