"""Build engine data through the services (as the API would), and call the
engine's REST API in-process the way Stream's SDKs do."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chatengine.auth import Caller
from chatengine.models import Channel, ChatUser, Message
from chatengine.services.app import app_get, app_update
from chatengine.services.channels import channel_get_or_create, channel_update
from chatengine.services.messages import message_send
from chatengine.services.users import users_upsert


def server_caller() -> Caller:
    return Caller(app=app_get(), server=True, user=None)


def multi_tenant() -> None:
    app_update(data={"multi_tenant_enabled": True})


def make_user(user_id: str, *, team: str | None = "acme", **fields: Any) -> ChatUser:
    (user,) = users_upsert(users=[{"id": user_id, "teams": [team] if team else [], **fields}])
    return user


def make_channel(channel_id: str, *members: ChatUser, team: str = "acme", **custom: Any) -> Channel:
    channel, _ = channel_get_or_create(
        caller=server_caller(),
        channel_type="messaging",
        channel_id=channel_id,
        data={"team": team, **custom},
        creator=members[0] if members else None,
    )
    if members:
        channel = channel_update(
            caller=server_caller(),
            channel=channel,
            actor=None,
            data=None,
            operations={"add_members": [m.id for m in members]},
        )
    return channel


@dataclass
class TwoTeams:
    """Ann and Bob share #acme-general, Bob and Cat #acme-private; Zed of
    globex has #globex-room. Multi-tenancy on."""

    ann: ChatUser
    bob: ChatUser
    cat: ChatUser
    zed: ChatUser
    general: Channel
    private: Channel
    globex: Channel


def two_teams_people() -> tuple[ChatUser, ChatUser, ChatUser, ChatUser]:
    """Multi-tenancy on; ann, bob and cat of acme, zed of globex."""
    multi_tenant()
    return make_user("ann"), make_user("bob"), make_user("cat"), make_user("zed", team="globex")


def two_teams() -> TwoTeams:
    ann, bob, cat, zed = two_teams_people()
    return TwoTeams(
        ann,
        bob,
        cat,
        zed,
        general=make_channel("acme-general", ann, bob),
        private=make_channel("acme-private", bob, cat),
        globex=make_channel("globex-room", zed, team="globex"),
    )


def make_moderator(channel: Channel, user_id: str) -> Channel:
    """Make a member ``channel_moderator`` of ``channel``."""
    return channel_update(
        caller=server_caller(),
        channel=channel,
        actor=None,
        data=None,
        operations={"assign_roles": [{"user_id": user_id, "channel_role": "channel_moderator"}]},
    )


def post(channel: Channel, user: ChatUser, text: str, **data: Any) -> Message:
    channel.refresh_from_db()
    return message_send(channel=channel, user=user, data={"text": text, **data}, max_length=5000)


def token(user_id: str | None = None, **claims: Any) -> str:
    payload: dict[str, Any] = (
        {"server": True} if user_id is None else {"user_id": user_id, "iat": int(time.time()) - 5}
    )
    return jwt.encode({**payload, **claims}, settings.STREAM_API_SECRET, algorithm="HS256")


class StreamClient:
    """In-process calls with Stream's auth: ``api_key`` in the query, the raw JWT
    in ``Authorization`` (a server token unless a user is given)."""

    def __init__(self, user_id: str | None = None, **claims: Any) -> None:
        self.client = Client()
        self.user_id = user_id
        self.token = token(user_id, **claims)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {"api_key": settings.STREAM_API_KEY, **params}
        if self.user_id:
            query["user_id"] = self.user_id
        url = f"/chat-api/{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": self.token, "HTTP_STREAM_AUTH_TYPE": "jwt"}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method.lower())(url, **kwargs)

    def upload(self, path: str, content: bytes, name: str, content_type: str, **form: str) -> Any:
        """A multipart upload the way the SDKs send one: the file in ``file``."""
        query = {"api_key": settings.STREAM_API_KEY, **({"user_id": self.user_id} if self.user_id else {})}
        url = f"/chat-api/{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        upload = SimpleUploadedFile(name, content, content_type=content_type)
        return self.client.post(
            url,
            {"file": upload, **form},
            HTTP_AUTHORIZATION=self.token,
            HTTP_STREAM_AUTH_TYPE="jwt",
        )

    def query_channels(self, filter_conditions: dict[str, Any], **options: Any) -> list[str]:
        response = self.call("POST", "channels", {"filter_conditions": filter_conditions, **options})
        assert response.status_code == 201, response.content
        return [state["channel"]["cid"] for state in response.json()["channels"]]
