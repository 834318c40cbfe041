"""Bad input never breaks the engine: every route, with malformed bodies and
payloads, as a server and as a client, answers Stream's error envelope with a
4xx (or succeeds), never a 500."""

from __future__ import annotations

import itertools
import json

import pytest
from django.conf import settings

from chatengine.tests.factories import StreamClient, make_channel, make_user, multi_tenant, post

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
PATHS = [
    "app",
    "roles",
    "roles/nope",
    "channeltypes",
    "channeltypes/messaging",
    "tasks/not-a-uuid",
    "users",
    "users/deactivate",
    "users/reactivate",
    "users/delete",
    "users/ann/deactivate",
    "users/ann/reactivate",
    "users/ann",
    "users/block",
    "users/unblock",
    "channels",
    "channels/delete",
    "channels/messaging/query",
    "channels/messaging/acme-room/query",
    "channels/messaging/acme-room",
    "channels/messaging/acme-room/message",
    "channels/messaging/acme-room/event",
    "channels/messaging/acme-room/read",
    "channels/messaging/acme-room/unread",
    "channels/messaging/acme-room/member",
    "channels/messaging/acme-room/member/ann",
    "channels/messaging/globex-room/member/ann",
    "channels/messaging/acme-room/hide",
    "channels/messaging/acme-room/truncate",
    "messages/m1",
    "messages/m1/reaction",
    "messages/m1/reaction/like",
    "messages/m1/reactions",
    "messages/m1/replies",
    "members",
    "search",
    "moderation/mute",
    "moderation/unmute",
    "moderation/mute/channel",
    "moderation/unmute/channel",
    "moderation/flag",
    "moderation/unflag",
    "moderation/flags/message",
    "moderation/ban",
    "query_banned_users",
    "channels/messaging/acme-room/file",
    "channels/messaging/acme-room/image",
]
ENVELOPE = {"code", "message", "StatusCode", "duration", "more_info", "details"}


def test_no_route_answers_500_to_bad_input():
    multi_tenant()
    ann = make_user("ann")
    post(make_channel("acme-room", ann), ann, "hi", id="m1")
    make_channel("globex-room", make_user("zed", team="globex"), team="globex")
    failures = []
    for user_id in (None, "ann"):
        client = StreamClient(user_id)
        query = f"api_key={settings.STREAM_API_KEY}" + (f"&user_id={user_id}" if user_id else "")
        for path, body, method in itertools.product(PATHS, BODIES, ("GET", "POST", "PUT", "PATCH", "DELETE")):
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
                failures.append((user_id, method, path, body, response.content[:200]))
            elif response.status_code >= 400 and set(response.json()) != ENVELOPE:
                failures.append((user_id, method, path, body, "not Stream's envelope"))
    assert failures == []


def test_a_json_body_over_the_size_limit_is_a_413_not_a_500(settings):
    make_user("ann")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = StreamClient("ann").call("POST", "users", {"users": [{"id": "ann", "bio": "x" * 2048}]})
    assert response.status_code == 413, response.content
    assert response.json()["code"] == 4 and "larger than 1024 bytes" in response.json()["message"]
