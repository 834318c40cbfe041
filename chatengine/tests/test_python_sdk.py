"""The official Python SDK (stream-chat 4.33.0), unmodified, drives a live
engine over real HTTP: every call the sync worker makes, with Stream's shapes,
teams and roles, plus client-side calls with user tokens of two teams."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
import requests
from stream_chat import StreamChat
from stream_chat.base.exceptions import StreamAPIException

from chatengine.tests.live import LiveEngine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(live_engine: LiveEngine) -> StreamChat:
    client = StreamChat(live_engine.api_key, live_engine.api_secret, base_url=live_engine.base_url)
    client.update_app_settings(multi_tenant_enabled=True)
    client.create_role("tenant_moderator")
    client.update_channel_type(
        "messaging",
        grants={"tenant_moderator": ["read-channel", "create-message", "delete-message", "update-message"]},
    )
    return client


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Client:
    """Client-side calls the way stream-chat-js makes them: a user token in
    ``Authorization`` (raw, no Bearer), ``api_key`` and ``user_id`` in the query."""

    def __init__(self, engine: LiveEngine, user_id: str, **claims: Any) -> None:
        self.engine = engine
        self.user_id = user_id
        payload = {"user_id": user_id, "iat": int(time.time()) - 1, **claims}
        self.token = jwt.encode(payload, engine.api_secret, algorithm="HS256")

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any
    ) -> requests.Response:
        return requests.request(
            method,
            f"{self.engine.base_url}/{path}",
            params={"api_key": self.engine.api_key, "user_id": self.user_id, **params},
            json=body,
            headers={"Authorization": self.token, "stream-auth-type": "jwt", "X-Stream-Client": "test"},
            timeout=10,
        )


def make_team(server: StreamChat, team: str, *roles: tuple[str, dict[str, Any]]) -> list[str]:
    ids = []
    users = []
    for name, extra in roles:
        user_id = uid(f"{team}-{name}")
        ids.append(user_id)
        users.append({"id": user_id, "name": name.title(), "role": "user", "teams": [team], **extra})
    server.upsert_users(users)
    return ids


def make_channel(server: StreamChat, team: str, creator: str, members: list[Any]) -> Any:
    channel = server.channel("messaging", uid(team), {"team": team, "name": f"{team} room"})
    channel.create(creator)
    channel.add_members(members)
    return channel


def error_code(response: requests.Response) -> int:
    return response.json()["code"]


# ---------------------------------------------------------------------------
# Server side: what the sync worker uses
# ---------------------------------------------------------------------------
def test_app_settings_turn_multi_tenancy_on(server: StreamChat) -> None:
    app = server.get_app_settings()["app"]
    assert app["multi_tenant_enabled"] is True
    server.update_app_settings(multi_tenant_enabled=True)
    assert server.get_app_settings()["app"]["multi_tenant_enabled"] is True


def test_custom_role_and_channel_type_grants(server: StreamChat) -> None:
    names = [role["name"] for role in server.list_roles()["roles"]]
    assert "tenant_moderator" in names and "user" in names
    with pytest.raises(StreamAPIException) as duplicate:
        server.create_role("tenant_moderator")
    assert duplicate.value.error_code == 4
    channel_type = server.get_channel_type("messaging")
    assert "delete-message" in channel_type["grants"]["tenant_moderator"]
    assert channel_type["grants"]["channel_member"], "the untouched roles keep their defaults"
    with pytest.raises(StreamAPIException) as unknown:
        server.update_channel_type("messaging", grants={"no-such-role": ["read-channel"]})
    assert unknown.value.error_code == 4


def test_upsert_users_keeps_teams_and_team_roles(server: StreamChat) -> None:
    admin, member = uid("acme-admin"), uid("acme-member")
    response = server.upsert_users(
        [
            {"id": admin, "name": "Ann", "role": "user", "teams": ["acme"], "teams_role": {"acme": "admin"}},
            {"id": member, "name": "Bob", "role": "user", "teams": ["acme"], "title": "engineer"},
        ]
    )
    assert set(response["users"]) == {admin, member}
    assert response["users"][admin]["teams_role"] == {"acme": "admin"}
    assert response["users"][member]["title"] == "engineer"

    found = server.query_users({"teams": {"$contains": "acme"}, "id": {"$in": [admin, member]}})["users"]
    assert {u["id"] for u in found} == {admin, member}
    assert all(u["teams"] == ["acme"] and u["role"] == "user" for u in found)

    # Upsert is a full replace: a field left out goes away.
    server.upsert_users([{"id": member, "name": "Bob", "role": "user", "teams": ["acme"]}])
    (bob,) = server.query_users({"id": member})["users"]
    assert "title" not in bob

    server.update_users_partial(
        [{"id": member, "set": {"name": "Bobby", "teams_role": {"acme": "tenant_moderator"}}}]
    )
    (bob,) = server.query_users({"id": {"$in": [member]}})["users"]
    assert bob["name"] == "Bobby" and bob["teams_role"] == {"acme": "tenant_moderator"}


def test_upsert_refuses_unknown_roles_for_the_whole_batch(server: StreamChat) -> None:
    good, bad = uid("ok"), uid("bad")
    with pytest.raises(StreamAPIException) as raised:
        server.upsert_users([{"id": good, "role": "user"}, {"id": bad, "role": "emperor"}])
    assert raised.value.error_code == 4
    assert server.query_users({"id": {"$in": [good, bad]}})["users"] == []


def test_deactivate_and_reactivate_users(server: StreamChat, live_engine: LiveEngine) -> None:
    (one, two) = make_team(server, "acme", ("one", {}), ("two", {}))
    assert server.deactivate_user(one)["user"]["id"] == one
    assert server.query_users({"id": one})["users"] == []
    (hidden,) = server.query_users({"id": one}, include_deactivated_users=True)["users"]
    assert hidden["deactivated_at"]
    refused = Client(live_engine, one).call("POST", "channels", {"filter_conditions": {}})
    assert refused.status_code == 401

    server.reactivate_user(one)
    assert Client(live_engine, one).call("POST", "channels", {"filter_conditions": {}}).status_code == 201

    server.deactivate_users([one, two])
    assert server.query_users({"id": {"$in": [one, two]}})["users"] == []
    server.post("users/reactivate", data={"user_ids": [one, two]})
    assert {u["id"] for u in server.query_users({"id": {"$in": [one, two]}})["users"]} == {one, two}


def test_revoked_tokens_are_refused(server: StreamChat, live_engine: LiveEngine) -> None:
    (user,) = make_team(server, "acme", ("revoked", {}))
    old = Client(live_engine, user)
    assert old.call("POST", "channels", {"filter_conditions": {}}).status_code == 201
    server.revoke_users_token([user], datetime.now(tz=UTC))
    refused = old.call("POST", "channels", {"filter_conditions": {}})
    assert refused.status_code == 401 and error_code(refused) == 40
    server.revoke_users_token([user], None)
    assert old.call("POST", "channels", {"filter_conditions": {}}).status_code == 201


def test_hard_delete_users_reports_a_completed_task(server: StreamChat) -> None:
    (author, other) = make_team(server, "acme", ("author", {}), ("other", {}))
    channel = make_channel(server, "acme", author, [author, other])
    channel.send_message({"text": "to be purged"}, author)
    task = server.delete_users([author], "hard", messages="hard", conversations="hard")
    assert server.get_task(task["task_id"])["status"] == "completed"
    assert server.query_users({"id": author}, include_deactivated_users=True)["users"] == []
    state = channel.query(messages={"limit": 10})
    assert state["messages"] == []
    assert [m["user_id"] for m in state["members"]] == [other]
    assert state["channel"]["member_count"] == 1


def test_channel_lifecycle_with_team_members_and_roles(server: StreamChat) -> None:
    admin, mod, member = make_team(server, "acme", ("admin", {}), ("mod", {}), ("member", {}))
    channel = server.channel("messaging", uid("acme-general"), {"team": "acme", "name": "General"})
    created = channel.create(admin)
    assert created["channel"]["team"] == "acme" and created["channel"]["name"] == "General"
    assert created["channel"]["created_by"]["id"] == admin

    added = channel.add_members(
        [
            {"user_id": admin, "channel_role": "channel_moderator"},
            {"user_id": member, "channel_role": "channel_member"},
        ]
    )
    roles = {m["user_id"]: m["channel_role"] for m in added["members"]}
    assert roles == {admin: "channel_moderator", member: "channel_member"}

    channel.add_members([mod])
    channel.add_moderators([mod])
    channel.demote_moderators([admin])
    channel.assign_roles([{"user_id": member, "channel_role": "channel_moderator"}])
    roles = {m["user_id"]: m["channel_role"] for m in channel.query_members({})}
    assert roles == {admin: "channel_member", mod: "channel_moderator", member: "channel_moderator"}

    # A full update replaces the custom data; the team is resent.
    updated = channel.update({"team": "acme", "name": "Town hall", "topic": "all hands"})
    assert updated["channel"]["name"] == "Town hall" and updated["channel"]["team"] == "acme"
    partial = channel.update_partial({"topic": "q3"}, ["name"])
    assert partial["channel"]["topic"] == "q3" and "name" not in partial["channel"]
    assert partial["channel"]["team"] == "acme"

    channel.remove_members([member])
    assert {m["user_id"] for m in channel.query_members({})} == {admin, mod}
    moderators = channel.query_members({"channel_role": "channel_moderator"})
    assert [m["user_id"] for m in moderators] == [mod]

    listed = server.query_channels({"team": "acme", "cid": channel.cid})["channels"]
    assert [c["channel"]["cid"] for c in listed] == [channel.cid]
    assert listed[0]["channel"]["member_count"] == 2

    channel.delete(hard=True)
    assert server.query_channels({"cid": channel.cid})["channels"] == []


def test_query_channels_filters_by_team_and_members(server: StreamChat) -> None:
    (acme_user,) = make_team(server, "acme", ("lister", {}))
    (globex_user,) = make_team(server, "globex", ("lister", {}))
    mine = make_channel(server, "acme", acme_user, [acme_user])
    theirs = make_channel(server, "globex", globex_user, [globex_user])
    cids = [mine.cid, theirs.cid]
    assert [
        c["channel"]["cid"] for c in server.query_channels({"team": "acme", "cid": {"$in": cids}})["channels"]
    ] == [mine.cid]
    by_member = server.query_channels({"members": {"$in": [globex_user]}})["channels"]
    assert [c["channel"]["cid"] for c in by_member] == [theirs.cid]
    both = server.query_channels(
        {"$or": [{"team": "acme"}, {"team": "globex"}], "cid": {"$in": cids}},
        {"created_at": 1},
    )["channels"]
    assert [c["channel"]["cid"] for c in both] == cids


def test_members_pin_archive_and_keep_custom_data(server: StreamChat, live_engine: LiveEngine) -> None:
    (alice, bob) = make_team(server, "acme", ("alice", {}), ("bob", {}))
    first = make_channel(server, "acme", alice, [alice, bob])
    second = make_channel(server, "acme", alice, [alice, bob])
    third = make_channel(server, "acme", alice, [alice, bob])
    third.send_message({"text": "the newest"}, bob)
    pinned = first.pin(alice)["channel_member"]
    assert pinned["user_id"] == alice and pinned["pinned_at"]
    assert second.archive(alice)["channel_member"]["archived_at"]
    updated = first.update_member_partial(alice, {"nickname": "Al"}, [])["channel_member"]
    assert (updated["nickname"], updated["pinned_at"]) == ("Al", pinned["pinned_at"])

    cids = [first.cid, second.cid, third.cid]
    pinned_first = [{"field": "pinned_at", "direction": -1}, {"field": "last_message_at", "direction": -1}]
    listed = server.query_channels({"cid": {"$in": cids}, "archived": False}, pinned_first, user_id=alice)
    assert [c["channel"]["cid"] for c in listed["channels"]] == [first.cid, third.cid]
    assert listed["channels"][0]["membership"]["pinned_at"] == pinned["pinned_at"]
    archived = server.query_channels({"cid": {"$in": cids}, "archived": True}, user_id=alice)["channels"]
    assert [c["channel"]["cid"] for c in archived] == [second.cid]
    nickname = {m["user_id"]: m.get("nickname") for m in first.query_members({})}
    assert nickname == {alice: "Al", bob: None}

    first.unpin(alice)
    second.unarchive(alice)
    assert server.query_channels({"cid": {"$in": cids}, "pinned": True}, user_id=alice)["channels"] == []

    # A client changes its own membership only; another team's channel looks missing.
    as_bob = Client(live_engine, bob)
    refused = as_bob.call("PATCH", f"channels/messaging/{first.id}/member/{alice}", {"set": {"pinned": True}})
    assert (refused.status_code, error_code(refused)) == (403, 17)
    own = as_bob.call("PATCH", f"channels/messaging/{first.id}/member", {"set": {"archived": True}})
    assert own.status_code == 200 and own.json()["channel_member"]["archived_at"]
    (zed,) = make_team(server, "globex", ("zed", {}))
    foreign = Client(live_engine, zed).call(
        "PATCH", f"channels/messaging/{first.id}/member/{zed}", {"set": {"pinned": True}}
    )
    assert (foreign.status_code, error_code(foreign)) == (404, 16)
    with pytest.raises(StreamAPIException) as bad:
        first.update_member_partial(alice, {"pinned": "yes"})
    assert bad.value.error_code == 4


def test_delete_channels_in_batch(server: StreamChat) -> None:
    (owner,) = make_team(server, "acme", ("owner", {}))
    first, second = make_channel(server, "acme", owner, [owner]), make_channel(server, "acme", owner, [owner])
    task = server.delete_channels([first.cid, second.cid], hard_delete=True)
    assert server.get_task(task["task_id"])["status"] == "completed"
    assert server.query_channels({"cid": {"$in": [first.cid, second.cid]}})["channels"] == []


def test_server_side_messages_threads_and_reactions(server: StreamChat) -> None:
    (alice, bob) = make_team(server, "acme", ("alice", {}), ("bob", {}))
    channel = make_channel(server, "acme", alice, [alice, bob])
    parent = channel.send_message({"text": "question?"}, alice)["message"]
    channel.send_message({"text": "answer", "parent_id": parent["id"]}, bob)
    replies = channel.get_replies(parent["id"])["messages"]
    assert [m["text"] for m in replies] == ["answer"]
    assert server.get_message(parent["id"])["message"]["reply_count"] == 1

    reacted = channel.send_reaction(parent["id"], {"type": "like"}, bob)
    assert reacted["message"]["reaction_groups"]["like"]["count"] == 1
    channel.delete_reaction(parent["id"], "like", bob)
    assert server.get_message(parent["id"])["message"]["reaction_groups"] == {}

    with pytest.raises(StreamAPIException) as duplicate:
        channel.send_message({"id": parent["id"], "text": "again"}, alice)
    assert duplicate.value.error_code == 4 and "already exists" in str(duplicate.value)


def test_files_and_images_go_up_come_back_and_go(server: StreamChat, tmp_path: Any) -> None:
    from chatengine.tests.test_uploads import png

    (alice, bob) = make_team(server, "acme", ("alice", {}), ("bob", {}))
    channel = make_channel(server, "acme", alice, [alice, bob])
    image_path, notes_path = tmp_path / "dot.png", tmp_path / "notes.txt"
    image_path.write_bytes(png())
    notes_path.write_bytes("Zoë's notes\n".encode())

    image = channel.send_image(str(image_path), "dot.png", {"id": alice}, content_type="image/png")
    notes = channel.send_file(str(notes_path), "notes.txt", {"id": bob}, content_type="text/plain")
    assert requests.get(image["file"], timeout=10).content == png()
    assert requests.get(notes["file"], timeout=10).content == notes_path.read_bytes()
    sent = channel.send_message(
        {"text": "see", "attachments": [{"type": "image", "image_url": image["file"]}]}, alice
    )
    assert sent["message"]["attachments"][0]["image_url"] == image["file"]

    channel.delete_file(notes["file"])
    channel.delete_image(image["file"])
    assert requests.get(notes["file"], timeout=10).status_code == 404
    with pytest.raises(StreamAPIException) as gone:
        channel.delete_file(notes["file"])
    assert gone.value.error_code == 16


def test_search_messages(server: StreamChat) -> None:
    (alice, bob) = make_team(server, "acme", ("alice", {}), ("bob", {}))
    channel = make_channel(server, "acme", alice, [alice, bob])
    word = uid("kumquat")
    channel.send_message({"text": f"who ate the {word}?"}, alice)
    channel.send_message({"text": f"{word}s are gone"}, bob)
    found = server.search({"cid": channel.cid}, word, sort=[{"field": "created_at", "direction": 1}])
    assert [r["message"]["user"]["id"] for r in found["results"]] == [alice, bob]
    assert found["results"][0]["message"]["channel"]["cid"] == channel.cid
    by_user = server.search({"cid": channel.cid}, {"user.id": bob})
    assert [r["message"]["user"]["id"] for r in by_user["results"]] == [bob]


def test_bans_in_a_channel_and_everywhere(server: StreamChat, live_engine: LiveEngine) -> None:
    (alice, bob) = make_team(server, "acme", ("alice", {}), ("bob", {}))
    channel = make_channel(server, "acme", alice, [alice, bob])
    channel.ban_user(bob, user_id=alice, reason="spam", timeout=30)
    bans = server.query_banned_users({"filter_conditions": {"channel_cid": channel.cid}})["bans"]
    assert [(b["user"]["id"], b["banned_by"]["id"], b["reason"]) for b in bans] == [(bob, alice, "spam")]
    as_bob = Client(live_engine, bob)
    refused = as_bob.call("POST", f"channels/messaging/{channel.id}/message", {"message": {"text": "hi"}})
    assert (refused.status_code, error_code(refused)) == (403, 17)
    channel.unban_user(bob)
    allowed = as_bob.call("POST", f"channels/messaging/{channel.id}/message", {"message": {"text": "hi"}})
    assert allowed.status_code == 201
    server.ban_user(bob, banned_by_id=alice)
    assert [
        b["user"]["id"] for b in server.query_banned_users({"filter_conditions": {"user_id": bob}})["bans"]
    ] == [bob]
    server.unban_user(bob)
    assert server.query_banned_users({"filter_conditions": {"user_id": bob}})["bans"] == []


def test_blocks_on_a_users_behalf(server: StreamChat, live_engine: LiveEngine) -> None:
    (alice, bob) = make_team(server, "acme", ("alice", {}), ("bob", {}))
    (zed,) = make_team(server, "globex", ("zed", {}))
    conversation = make_channel(server, "acme", alice, [alice, bob])
    blocked = server.block_user(bob, alice)
    assert (blocked["blocked_by_user_id"], blocked["blocked_user_id"]) == (alice, bob)
    assert server.block_user(bob, alice)["created_at"] == blocked["created_at"], "idempotent"
    listed = server.get_blocked_users(alice)["blocks"]
    assert [(b["user"]["id"], b["blocked_user"]["id"]) for b in listed] == [(alice, bob)]
    mine = Client(live_engine, alice).call("GET", "users/block").json()["blocks"]
    assert [b["blocked_user_id"] for b in mine] == [bob]

    hidden = server.query_channels({"cid": conversation.cid, "hidden": True}, user_id=alice)["channels"]
    assert hidden[0]["channel"]["blocked"] is True

    for target, code in ((zed, 16), (uid("nobody"), 16), (alice, 4)):
        with pytest.raises(StreamAPIException) as refused:
            server.block_user(target, alice)
        assert refused.value.error_code == code, target

    server.unblock_user(bob, alice)
    server.unblock_user(bob, alice)
    assert server.get_blocked_users(alice)["blocks"] == []
    listed = server.query_channels({"cid": conversation.cid}, user_id=alice)["channels"]
    assert listed[0]["channel"]["blocked"] is False


def test_flags_and_their_review(server: StreamChat) -> None:
    (alice, bob) = make_team(server, "acme", ("alice", {}), ("bob", {}))
    channel = make_channel(server, "acme", alice, [alice, bob])
    rude = channel.send_message({"text": "rude"}, bob)["message"]
    flagged = server.flag_message(rude["id"], user_id=alice, reason="rude")
    assert flagged["flag"]["target_message_id"] == rude["id"]
    review = server.query_message_flags({"channel_cid": channel.cid})
    assert [(f["user"]["id"], f["message"]["id"]) for f in review["flags"]] == [(alice, rude["id"])]
    server.unflag_message(rude["id"], user_id=alice)
    assert server.query_message_flags({"channel_cid": channel.cid})["flags"] == []
    assert server.flag_user(bob, user_id=alice)["flag"]["target_user"]["id"] == bob


def test_mutes_of_users_and_channels(server: StreamChat) -> None:
    (alice, bob) = make_team(server, "acme", ("alice", {}), ("bob", {}))
    channel = make_channel(server, "acme", alice, [alice, bob])
    muted = server.mute_user(alice, bob, timeout=30)
    assert (muted["mute"]["user"]["id"], muted["mute"]["target"]["id"]) == (bob, alice)
    assert [m["target"]["id"] for m in muted["own_user"]["mutes"]] == [alice]
    channel_muted = channel.mute(bob)
    assert channel_muted["channel_mute"]["channel"]["cid"] == channel.cid
    assert [m["channel"]["cid"] for m in channel_muted["own_user"]["channel_mutes"]] == [channel.cid]
    channel.unmute(bob)
    server.unmute_user(alice, bob)
    with pytest.raises(StreamAPIException) as nobody:
        server.mute_user(uid("nobody"), bob)
    assert nobody.value.error_code == 16


# ---------------------------------------------------------------------------
# Client side: isolation between teams, permissions, errors
# ---------------------------------------------------------------------------
def test_client_tokens_of_two_teams_are_isolated(server: StreamChat, live_engine: LiveEngine) -> None:
    (acme_user,) = make_team(server, "acme", ("alice", {}))
    (globex_user,) = make_team(server, "globex", ("zed", {}))
    acme_channel = make_channel(server, "acme", acme_user, [acme_user])
    acme, globex = Client(live_engine, acme_user), Client(live_engine, globex_user)

    mine = acme.call("POST", "channels", {"filter_conditions": {"cid": acme_channel.cid}}).json()["channels"]
    assert [c["channel"]["cid"] for c in mine] == [acme_channel.cid]

    listed = globex.call("POST", "channels", {"filter_conditions": {"cid": acme_channel.cid}})
    assert listed.status_code == 201 and listed.json()["channels"] == []
    everything = globex.call("POST", "channels", {"filter_conditions": {}}).json()["channels"]
    assert all(c["channel"].get("team") == "globex" for c in everything)

    path = f"channels/messaging/{acme_channel.id}"
    watch = globex.call("POST", f"{path}/query", {"state": True, "watch": True})
    assert watch.status_code == 403 and error_code(watch) == 17
    post = globex.call("POST", f"{path}/message", {"message": {"text": "intrusion"}})
    assert post.status_code == 403 and error_code(post) == 17
    members = globex.call("GET", "members", payload=json.dumps({"type": "messaging", "id": acme_channel.id}))
    assert members.status_code == 403

    users = globex.call(
        "GET", "users", payload=json.dumps({"filter_conditions": {"id": {"$in": [acme_user]}}})
    )
    assert users.status_code == 200 and users.json()["users"] == []
    create = globex.call("POST", "channels/messaging/globex-sneaky/query", {"data": {"team": "acme"}})
    assert create.status_code == 403 and error_code(create) == 17


def test_message_permissions_follow_roles(server: StreamChat, live_engine: LiveEngine) -> None:
    admin, tmod, alice, bob = make_team(
        server,
        "acme",
        ("admin", {"teams_role": {"acme": "admin"}}),
        ("tmod", {"teams_role": {"acme": "tenant_moderator"}}),
        ("alice", {}),
        ("bob", {}),
    )
    channel = make_channel(server, "acme", admin, [alice, bob, tmod])
    path = f"channels/messaging/{channel.id}"
    as_alice, as_bob = Client(live_engine, alice), Client(live_engine, bob)

    state = as_alice.call("POST", f"{path}/query", {"state": True}).json()
    capabilities = state["channel"]["own_capabilities"]
    assert {"send-message", "send-reaction", "send-reply", "read-events", "delete-own-message"} <= set(
        capabilities
    )
    assert "delete-any-message" not in capabilities and "pin-message" not in capabilities
    pinned = as_alice.call("POST", f"{path}/message", {"message": {"text": "pin me", "pinned": True}})
    assert pinned.status_code == 403 and error_code(pinned) == 17, "the engine refuses what the UI hides"

    message = as_alice.call("POST", f"{path}/message", {"message": {"text": "mine"}}).json()["message"]
    assert message["user"]["id"] == alice
    denied = as_bob.call("DELETE", f"messages/{message['id']}")
    assert denied.status_code == 403 and error_code(denied) == 17
    assert (
        as_bob.call("POST", f"messages/{message['id']}", {"message": {"text": "edited"}}).status_code == 403
    )

    for moderator in (tmod, admin):
        target = as_alice.call("POST", f"{path}/message", {"message": {"text": "bye"}}).json()["message"]
        removed = Client(live_engine, moderator).call("DELETE", f"messages/{target['id']}")
        assert removed.status_code == 200, removed.text
        assert removed.json()["message"]["type"] == "deleted"

    admin_caps = Client(live_engine, admin).call("POST", f"{path}/query", {"state": True}).json()
    assert {"delete-any-message", "pin-message"} <= set(admin_caps["channel"]["own_capabilities"])

    channel.add_moderators([bob])
    bob_caps = as_bob.call("POST", f"{path}/query", {"state": True}).json()["channel"]["own_capabilities"]
    assert "delete-any-message" in bob_caps and "pin-message" in bob_caps


def test_errors_use_streams_envelope_and_codes(server: StreamChat, live_engine: LiveEngine) -> None:
    (user,) = make_team(server, "acme", ("errors", {}))
    base = live_engine.base_url

    bad_key = requests.post(f"{base}/channels", params={"api_key": "nope"}, json={}, timeout=10)
    assert bad_key.status_code == 401 and error_code(bad_key) == 2
    body = bad_key.json()
    assert set(body) >= {"code", "message", "StatusCode", "duration", "more_info", "details"}

    forged = jwt.encode({"user_id": user}, "not-the-secret-of-this-app-0123456789", algorithm="HS256")
    bad_sig = requests.post(
        f"{base}/channels",
        params={"api_key": live_engine.api_key},
        json={},
        headers={"Authorization": forged},
        timeout=10,
    )
    assert bad_sig.status_code == 401 and error_code(bad_sig) == 43

    expired = Client(live_engine, user, exp=int(time.time()) - 60).call("POST", "channels", {})
    assert expired.status_code == 401 and error_code(expired) == 40
    future = Client(live_engine, user, iat=int(time.time()) + 3600).call("POST", "channels", {})
    assert error_code(future) == 42

    with pytest.raises(StreamAPIException) as missing:
        server.get_message("no-such-message")
    assert missing.value.status_code == 404 and missing.value.error_code == 16
    with pytest.raises(StreamAPIException) as bad_filter:
        server.query_channels({"cid": {"$regex": "x"}})
    assert bad_filter.value.error_code == 4
    with pytest.raises(StreamAPIException) as bad_sort:
        server.query_channels({}, {"no_such_field": 1})
    assert bad_sort.value.error_code == 4
    garbage = requests.post(
        f"{base}/channels",
        params={"api_key": live_engine.api_key},
        data="{not json",
        headers={"Authorization": server.auth_token, "Content-Type": "application/json"},
        timeout=10,
    )
    assert garbage.status_code == 400 and error_code(garbage) == 4
