"""Another team's ids answer exactly like ids that do not exist (same status,
code and message, the id itself aside), so a client learns nothing about what
other teams have: distinct channels, stop-watching, flags and bans."""

from __future__ import annotations

from typing import Any

import pytest

from chatengine.services.channels import distinct_channel_id
from chatengine.tests.factories import (
    StreamClient,
    make_channel,
    make_moderator,
    make_user,
    multi_tenant,
    post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def world():
    multi_tenant()
    ann, bob = make_user("ann"), make_user("bob")
    zed, yan = make_user("zed", team="globex"), make_user("yan", team="globex")
    general = make_channel("acme-general", ann, bob)
    make_moderator(general, "ann")
    globex = make_channel("globex-room", zed, yan, team="globex")
    make_channel(distinct_channel_id(["zed", "yan"]), zed, yan, team="globex")
    return {"globex_message": post(globex, zed, "secret").id}


def body_of(response: Any, *ids: str) -> tuple[int, dict[str, Any]]:
    """The answer with the ids it names blanked out and its timing dropped."""
    body = response.json()
    message = body["message"]
    for item in ids:
        message = message.replace(item, "<id>")
    return response.status_code, {**body, "message": message, "duration": ""}


def assert_alike(foreign: Any, missing: Any, foreign_id: str, missing_id: str) -> None:
    assert foreign.status_code >= 400, foreign.content
    assert body_of(foreign, foreign_id) == body_of(missing, missing_id)


def test_a_distinct_channel_of_another_team_answers_like_a_missing_one():
    as_ann = StreamClient("ann")
    foreign = as_ann.call("POST", "channels/messaging/query", {"data": {"members": ["zed", "yan"]}})
    missing = as_ann.call("POST", "channels/messaging/query", {"data": {"members": ["zed", "nobody"]}})
    assert_alike(foreign, missing, "", "")
    by_id = as_ann.call("POST", "channels/messaging/globex-room/query", {"data": {"team": "acme"}})
    unknown = as_ann.call("POST", "channels/messaging/acme-unknown/query", {"data": {"team": "acme"}})
    assert_alike(by_id, unknown, "globex-room", "acme-unknown")


def test_stop_watching_another_teams_channel_answers_like_a_missing_one():
    as_ann = StreamClient("ann")
    foreign = as_ann.call("POST", "channels/messaging/globex-room/stop-watching", {})
    missing = as_ann.call("POST", "channels/messaging/acme-unknown/stop-watching", {})
    assert_alike(foreign, missing, "globex-room", "acme-unknown")


def test_flagging_another_teams_message_answers_like_a_missing_one(world):
    as_ann = StreamClient("ann")
    foreign_id = world["globex_message"]
    foreign = as_ann.call("POST", "moderation/flag", {"target_message_id": foreign_id})
    missing = as_ann.call("POST", "moderation/flag", {"target_message_id": "no-such-message"})
    assert_alike(foreign, missing, foreign_id, "no-such-message")
    foreign = as_ann.call("POST", "moderation/unflag", {"target_message_id": foreign_id})
    missing = as_ann.call("POST", "moderation/unflag", {"target_message_id": "no-such-message"})
    assert_alike(foreign, missing, foreign_id, "no-such-message")
    foreign = as_ann.call("POST", "moderation/flag", {"target_user_id": "zed"})
    missing = as_ann.call("POST", "moderation/flag", {"target_user_id": "nobody"})
    assert_alike(foreign, missing, "zed", "nobody")


def test_banning_in_another_teams_channel_answers_like_a_missing_one():
    as_ann = StreamClient("ann")
    for target in ("bob", "zed"):
        foreign = as_ann.call(
            "POST", "moderation/ban", {"target_user_id": target, "type": "messaging", "id": "globex-room"}
        )
        missing = as_ann.call(
            "POST", "moderation/ban", {"target_user_id": target, "type": "messaging", "id": "acme-unknown"}
        )
        assert_alike(foreign, missing, "globex-room", "acme-unknown")
        foreign = as_ann.call(
            "DELETE", "moderation/ban", target_user_id=target, type="messaging", id="globex-room"
        )
        missing = as_ann.call(
            "DELETE", "moderation/ban", target_user_id=target, type="messaging", id="acme-unknown"
        )
        assert_alike(foreign, missing, "globex-room", "acme-unknown")
    foreign = as_ann.call(
        "POST", "moderation/ban", {"target_user_id": "zed", "channel_cid": "messaging:acme-general"}
    )
    missing = as_ann.call(
        "POST", "moderation/ban", {"target_user_id": "nobody", "channel_cid": "messaging:acme-general"}
    )
    assert_alike(foreign, missing, "zed", "nobody")
