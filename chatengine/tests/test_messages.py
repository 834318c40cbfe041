"""Messages, threads, reactions, read state and permissions through the REST
API, in-process: the rules the UI depends on, pinned one by one."""

from __future__ import annotations

import pytest

from chatengine.models import Member, Message
from chatengine.permissions import DEFAULT_GRANTS
from chatengine.services.app import channel_type_update, role_create
from chatengine.tests.factories import (
    StreamClient,
    make_channel,
    make_moderator,
    make_user,
    multi_tenant,
    post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    multi_tenant()
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    channel = make_channel("acme-room", ann, bob, cat)
    return {"ann": ann, "bob": bob, "cat": cat, "channel": channel}


def unread(channel, user) -> int:
    return Member.objects.get(channel=channel, user=user).unread_messages


def send(user_id: str, text: str, **data) -> dict:
    response = StreamClient(user_id).call(
        "POST", "channels/messaging/acme-room/message", {"message": {"text": text, **data}}
    )
    assert response.status_code == 201, response.content
    return response.json()["message"]


def test_unread_counts_follow_stream_rules(room):
    channel, ann, bob = room["channel"], room["ann"], room["bob"]
    send("ann", "one")
    send("ann", "two")
    assert (unread(channel, ann), unread(channel, bob)) == (0, 2), (
        "the author never has its own message unread"
    )
    send("ann", "quiet", silent=True)
    parent = send("bob", "thread start")
    assert unread(channel, bob) == 0, "posting marks the channel read for the author"
    send("ann", "thread only", parent_id=parent["id"])
    assert unread(channel, bob) == 0, "thread-only replies are not unread in the channel"
    send("ann", "also in channel", parent_id=parent["id"], show_in_channel=True)
    assert unread(channel, bob) == 1

    read = StreamClient("bob").call("POST", "channels/messaging/acme-room/read", {})
    assert read.status_code == 201 and read.json()["event"]["type"] == "message.read"
    assert unread(channel, bob) == 0

    first = Message.objects.get(text="two")
    StreamClient("bob").call("POST", "channels/messaging/acme-room/unread", {"message_id": first.id})
    # "two" and "also in channel"; not the silent one, nor bob's own "thread start".
    assert unread(channel, bob) == 2
    state = StreamClient("bob").call("POST", "channels/messaging/acme-room/query", {"state": True}).json()
    own_read = next(r for r in state["read"] if r["user"]["id"] == "bob")
    assert own_read["unread_messages"] == 2
    assert own_read["last_read_message_id"] == Message.objects.get(text="one").id


def test_threads_keep_reply_count_and_participants(room):
    parent = send("ann", "question")
    reply = send("bob", "answer", parent_id=parent["id"])
    send("cat", "me too", parent_id=parent["id"])
    send("bob", "again", parent_id=parent["id"])
    stored = Message.objects.get(id=parent["id"])
    assert stored.reply_count == 3 and stored.thread_participant_ids == ["bob", "cat"]

    StreamClient("bob").call("DELETE", f"messages/{reply['id']}")
    stored.refresh_from_db()
    assert (stored.reply_count, stored.deleted_reply_count) == (2, 1)

    nested = StreamClient("ann").call(
        "POST", "channels/messaging/acme-room/message", {"message": {"text": "x", "parent_id": reply["id"]}}
    )
    assert nested.status_code == 400 and nested.json()["code"] == 4

    replies = StreamClient("ann").call("GET", f"messages/{parent['id']}/replies", limit=10).json()["messages"]
    assert [m["text"] for m in replies] == ["", "me too", "again"]
    assert replies[0]["type"] == "deleted"
    history = StreamClient("ann").call("POST", "channels/messaging/acme-room/query", {"state": True}).json()
    assert [m["text"] for m in history["messages"]] == ["question"]


def test_pagination_is_stable_when_timestamps_collide(room):
    channel, ann = room["channel"], room["ann"]
    messages = [post(channel, ann, f"#{i}", id=f"m{i:02d}") for i in range(12)]
    # Six messages share one instant: the page key is (created_at, id).
    Message.objects.filter(id__in=[m.id for m in messages[3:9]]).update(created_at=messages[3].created_at)

    def page(**options) -> list[str]:
        body = {"state": True, "messages": options}
        response = StreamClient("ann").call("POST", "channels/messaging/acme-room/query", body)
        assert response.status_code == 201, response.content
        return [m["text"] for m in response.json()["messages"]]

    assert page(limit=4) == ["#8", "#9", "#10", "#11"]
    assert page(limit=4, id_lt="m08") == ["#4", "#5", "#6", "#7"]
    assert page(limit=3, id_gt="m04") == ["#5", "#6", "#7"]
    assert page(limit=4, id_around="m06") == ["#4", "#5", "#6", "#7"]
    assert page(limit=100, id_lt="m00") == []
    missing = StreamClient("ann").call(
        "POST", "channels/messaging/acme-room/query", {"messages": {"id_lt": "not-here"}}
    )
    assert missing.status_code == 400 and missing.json()["code"] == 4


def test_duplicate_ids_and_long_text_are_refused(room):
    first = send("ann", "hello", id="fixed-id")
    duplicate = StreamClient("bob").call(
        "POST", "channels/messaging/acme-room/message", {"message": {"id": first["id"], "text": "again"}}
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == 4 and "already exists" in duplicate.json()["message"]
    too_long = StreamClient("ann").call(
        "POST", "channels/messaging/acme-room/message", {"message": {"text": "x" * 5001}}
    )
    assert too_long.status_code == 400 and too_long.json()["code"] == 20


def test_reactions_keep_groups_and_own_reactions(room):
    message = send("ann", "react")
    path = f"messages/{message['id']}/reaction"
    bob, cat = StreamClient("bob"), StreamClient("cat")
    bob.call("POST", path, {"reaction": {"type": "like"}})
    response = cat.call("POST", path, {"reaction": {"type": "like", "score": 3}})
    body = response.json()
    assert body["message"]["reaction_groups"]["like"]["count"] == 2
    assert body["message"]["reaction_groups"]["like"]["sum_scores"] == 4
    assert [r["user_id"] for r in body["message"]["own_reactions"]] == ["cat"]
    assert body["message"]["reaction_counts"] == {"like": 2}

    unique = bob.call("POST", path, {"reaction": {"type": "love"}, "enforce_unique": True}).json()["message"]
    assert unique["reaction_counts"] == {"like": 1, "love": 1}
    assert [r["type"] for r in unique["own_reactions"]] == ["love"]

    removed = bob.call("DELETE", f"{path}/love").json()
    assert removed["message"]["reaction_counts"] == {"like": 1} and removed["reaction"]["type"] == "love"
    assert bob.call("DELETE", f"{path}/love").status_code == 404


def test_permissions_and_capabilities_follow_roles(room):
    role_create(name="tenant_moderator")
    channel_type_update(
        name="messaging", data={"grants": {"tenant_moderator": ["read-channel", "delete-message"]}}
    )
    make_user("mod", teams_role={"acme": "tenant_moderator"})
    make_user("boss", teams_role={"acme": "admin"})
    make_user("outsider", team="globex", teams_role={"globex": "admin"})
    target = send("ann", "delete me?")

    def capabilities(user_id: str) -> list[str]:
        response = StreamClient(user_id).call("POST", "channels/messaging/acme-room/query", {"state": True})
        return response.json()["channel"]["own_capabilities"] if response.status_code == 201 else []

    member_caps = capabilities("bob")
    assert "send-message" in member_caps and "delete-own-message" in member_caps
    assert "delete-any-message" not in member_caps and "update-channel-members" not in member_caps
    assert "delete-any-message" in capabilities("mod"), (
        "a team role granted delete-message, without membership"
    )
    boss = set(capabilities("boss"))
    assert boss >= {"delete-any-message", "pin-message", "ban-channel-members"}
    assert not boss & {"update-channel", "update-channel-members", "delete-channel"}, (
        "a team admin changes the channel itself through the control plane"
    )

    assert StreamClient("bob").call("DELETE", f"messages/{target['id']}").status_code == 403
    assert StreamClient("outsider").call("DELETE", f"messages/{target['id']}").json()["code"] == 17
    assert StreamClient("mod").call("DELETE", f"messages/{target['id']}").status_code == 200
    hard = StreamClient("ann").call("DELETE", f"messages/{send('ann', 'mine')['id']}", hard="true")
    assert hard.status_code == 403, "hard delete needs the any-message grant"
    assert (
        StreamClient("boss").call("DELETE", f"messages/{send('ann', 'x')['id']}", hard="true").status_code
        == 200
    )


def test_a_frozen_channel_refuses_new_messages_from_clients(room):
    StreamClient().call("PATCH", "channels/messaging/acme-room", {"set": {"frozen": True}})
    refused = StreamClient("ann").call(
        "POST", "channels/messaging/acme-room/message", {"message": {"text": "hi"}}
    )
    assert refused.status_code == 403 and refused.json()["code"] == 17
    state = StreamClient("ann").call("POST", "channels/messaging/acme-room/query", {"state": True}).json()
    assert "send-message" not in state["channel"]["own_capabilities"]
    server = StreamClient().call(
        "POST",
        "channels/messaging/acme-room/message",
        {"message": {"text": "announcement", "user_id": "ann"}},
    )
    assert server.status_code == 201, "server-side calls are not checked"


def test_members_neither_leave_nor_remove_others_client_side(room):
    path = "channels/messaging/acme-room"
    assert StreamClient("bob").call("POST", path, {"remove_members": ["cat"]}).status_code == 403
    assert StreamClient("bob").call("POST", path, {"remove_members": ["bob"]}).status_code == 403
    left = StreamClient().call("POST", path, {"remove_members": ["bob"]})
    assert left.status_code == 201, "the control plane removes members server-side"
    assert sorted(m["user_id"] for m in left.json()["members"]) == ["ann", "cat"]
    assert left.json()["channel"]["member_count"] == 2


def test_adding_a_member_of_another_team_is_refused(room):
    make_user("zed", team="globex")
    response = StreamClient().call("POST", "channels/messaging/acme-room", {"add_members": ["zed"]})
    assert response.status_code == 400 and "not in team acme" in response.json()["message"]
    unknown = StreamClient().call("POST", "channels/messaging/acme-room", {"add_members": ["nobody"]})
    assert unknown.status_code == 400 and "nobody" in unknown.json()["message"]


def test_new_members_start_with_nothing_unread(room):
    send("ann", "before you came")
    make_user("dan")
    StreamClient().call("POST", "channels/messaging/acme-room", {"add_members": ["dan"]})
    assert unread(room["channel"], make_user("dan")) == 0
    send("ann", "welcome")
    assert unread(room["channel"], make_user("dan")) == 1


def test_quotes_and_pins_are_rendered_with_their_users(room):
    original = send("ann", "original")
    quoting = send("bob", "quoting", quoted_message_id=original["id"])
    assert quoting["quoted_message"]["text"] == "original"
    assert quoting["quoted_message"]["user"]["id"] == "ann"
    pinned = StreamClient("ann").call("PUT", f"messages/{original['id']}", {"set": {"pinned": True}})
    assert pinned.status_code == 403, "members cannot pin by default"
    pinned = StreamClient().call(
        "PUT", f"messages/{original['id']}", {"set": {"pinned": True}, "user_id": "cat"}
    )
    message = pinned.json()["message"]
    assert (
        message["pinned"] is True
        and message["pinned_by"]["id"] == "cat"
        and message["pinned_at"].endswith("Z")
    )
    state = StreamClient("ann").call("POST", "channels/messaging/acme-room/query", {"state": True}).json()
    assert [m["id"] for m in state["pinned_messages"]] == [original["id"]]
    assert state["messages"][-1]["quoted_message"]["id"] == original["id"]


def test_pin_message_is_offered_and_allowed_only_with_its_grant(room):
    """The UI kit shows "Pin" only with the ``pin-message`` capability; the
    engine refuses pinning without the grant on every path a message takes."""

    def capabilities(user_id: str) -> list[str]:
        state = StreamClient(user_id).call("POST", "channels/messaging/acme-room/query", {"state": True})
        return state.json()["channel"]["own_capabilities"]

    make_moderator(room["channel"], "cat")
    assert "pin-message" not in capabilities("bob"), "members hold no pin-message by default"
    assert "pin-message" in capabilities("cat")

    sent_pinned = StreamClient("bob").call(
        "POST", "channels/messaging/acme-room/message", {"message": {"text": "look", "pinned": True}}
    )
    assert (sent_pinned.status_code, sent_pinned.json()["code"]) == (403, 17)
    own = send("bob", "mine")
    for method, body in (
        ("POST", {"message": {"text": "mine", "pinned": True}}),
        ("PUT", {"set": {"pinned": True}}),
    ):
        refused = StreamClient("bob").call(method, f"messages/{own['id']}", body)
        assert (refused.status_code, refused.json()["code"]) == (403, 17), method
    assert Message.objects.get(id=own["id"]).pinned is False

    # Pinned by a moderator, the author still edits its text without touching the pin.
    pinned_by_cat = StreamClient("cat").call("PUT", f"messages/{own['id']}", {"set": {"pinned": True}})
    assert pinned_by_cat.status_code == 201
    edited = StreamClient("bob").call("POST", f"messages/{own['id']}", {"message": {"text": "mine, edited"}})
    assert edited.status_code == 201, edited.content
    assert edited.json()["message"]["pinned"] is True

    channel_type_update(
        name="messaging",
        data={"grants": {"channel_member": [*DEFAULT_GRANTS["channel_member"], "pin-message"]}},
    )
    assert "pin-message" in capabilities("bob"), "a grant the channel type adds shows"
    assert send("bob", "pinned by a member", pinned=True)["pinned"] is True


def test_a_message_sent_with_a_channel_update_is_checked_like_any_other(room):
    """``POST /channels/{type}/{id}`` may carry a message: a client posts it
    only where it may post (not when banned, not in a frozen channel)."""
    path = "channels/messaging/acme-room"
    StreamClient().call(
        "POST", "moderation/ban", {"target_user_id": "bob", "channel_cid": "messaging:acme-room"}
    )
    banned = StreamClient("bob").call("POST", path, {"message": {"text": "sneaked in"}})
    assert (banned.status_code, banned.json()["code"]) == (403, 17)
    pinned = StreamClient("ann").call("POST", path, {"message": {"text": "pinned", "pinned": True}})
    assert (pinned.status_code, pinned.json()["code"]) == (403, 17)
    StreamClient().call("PATCH", path, {"set": {"frozen": True}})
    frozen = StreamClient("ann").call("POST", path, {"message": {"text": "frozen"}})
    assert (frozen.status_code, frozen.json()["code"]) == (403, 17)
    assert not Message.objects.filter(text__in=["sneaked in", "pinned", "frozen"]).exists()


def test_custom_data_beyond_what_orjson_encodes_is_still_answered():
    """Responses are encoded with orjson, which refuses integers beyond 64 bits;
    a client may put one in custom data (JSON allows it): the answer falls
    back to the standard encoder instead of failing."""
    multi_tenant()
    ann = make_user("ann")
    make_channel("acme-big", ann)
    huge = 2**70
    body = {"message": {"text": "big", "huge": huge, "café": "ü"}}
    response = StreamClient("ann").call("POST", "channels/messaging/acme-big/message", body)
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    assert (response.json()["message"]["huge"], response.json()["message"]["café"]) == (huge, "ü")
