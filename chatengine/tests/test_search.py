"""Message search (``GET /search``): the channels a caller could list, words or
a message filter, never another team's or a deleted message."""

from __future__ import annotations

import json

import pytest

from chatengine.services.message_edits import message_delete
from chatengine.tests.factories import StreamClient, make_channel, post, two_teams

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    teams = two_teams()
    post(teams.general, teams.ann, "The budget for Q3 is ready")
    post(teams.general, teams.bob, "Budget approved")
    gone = post(teams.general, teams.bob, "budget leak")
    message_delete(message=gone, actor=teams.bob, hard=False)
    post(teams.private, teams.cat, "budget gossip")
    post(teams.globex, teams.zed, "globex budget secrets")
    return {"ann": teams.ann}


def search(user_id: str | None, **payload):
    body = {"filter_conditions": {"type": "messaging"}, **payload}
    return StreamClient(user_id).call("GET", "search", payload=json.dumps(body))


def texts(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [result["message"]["text"] for result in response.json()["results"]]


def test_words_find_messages_in_the_callers_channels_only(world):
    response = search("ann", query="budget")
    assert texts(response) == ["Budget approved", "The budget for Q3 is ready"]
    first = response.json()["results"][0]["message"]
    assert first["channel"]["cid"] == "messaging:acme-general"
    assert first["user"]["id"] == "bob"
    assert texts(search("zed", query="budget")) == ["globex budget secrets"]
    assert texts(search("ann", query="budget Q3")) == ["The budget for Q3 is ready"]


def test_the_ui_kits_text_condition_is_a_full_text_match(world):
    """stream-chat-react's search sends what was typed as {"text": ...} (and type regular)."""
    typed = search("ann", message_filter_conditions={"text": "q3 BUDGET", "type": "regular"})
    assert texts(typed) == ["The budget for Q3 is ready"]
    assert texts(search("ann", message_filter_conditions={"text": {"$q": "budget"}})) == [
        "Budget approved",
        "The budget for Q3 is ready",
    ]
    assert texts(search("zed", message_filter_conditions={"text": "budget"})) == ["globex budget secrets"]


def test_the_server_searches_every_team(world):
    assert len(texts(search(None, query="budget"))) == 4


def test_message_filters_sorting_and_paging(world):
    assert texts(search("bob", message_filter_conditions={"user.id": "cat"})) == ["budget gossip"]
    by_prefix = search("ann", message_filter_conditions={"text": {"$autocomplete": "appr"}})
    assert texts(by_prefix) == ["Budget approved"]
    oldest_first = search("bob", query="budget", sort=[{"field": "created_at", "direction": 1}])
    assert texts(oldest_first) == ["The budget for Q3 is ready", "Budget approved", "budget gossip"]
    page = search("bob", query="budget", sort=[{"field": "created_at", "direction": 1}], limit=1, offset=1)
    assert texts(page) == ["Budget approved"]


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"filter_conditions": {}, "query": "x"}, "filter_conditions is required"),
        ({"filter_conditions": {"type": "messaging"}}, "either query"),
        (
            {"filter_conditions": {"type": "messaging"}, "query": "x", "message_filter_conditions": {}},
            "either query",
        ),
        ({"filter_conditions": {"type": "messaging"}, "query": "  "}, "non-empty"),
        ({"filter_conditions": {"type": "messaging"}, "query": "w " * 300}, "longer than 500"),
        (
            {"filter_conditions": {"type": "messaging"}, "message_filter_conditions": {"pinned": {"$gt": 1}}},
            "$gt",
        ),
        ({"filter_conditions": {"type": "messaging"}, "query": "x", "limit": 500}, "limit"),
    ],
)
def test_bad_searches_are_input_errors(world, payload, fragment):
    response = StreamClient("ann").call("GET", "search", payload=json.dumps(payload))
    assert response.status_code == 400
    assert response.json()["code"] == 4 and fragment in response.json()["message"]


def test_search_is_a_capability_of_channel_members(world):
    state = StreamClient("ann").call("POST", "channels/messaging/acme-general/query", {"state": True})
    assert "search-messages" in state.json()["channel"]["own_capabilities"]


def test_a_search_costs_the_same_for_many_results(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chatengine.models import ChatUser

    def count(word: str, how_many: int) -> int:
        ann = ChatUser.objects.get(id="ann")
        for index in range(how_many):
            channel = make_channel(f"acme-{word}-{index}", ann)
            post(channel, ann, f"{word} {index}")
        with CaptureQueriesContext(connection) as queries:
            assert len(texts(search("ann", query=word))) == how_many
        return len(queries)

    assert count("alpha", 2) == count("omega", 12)
