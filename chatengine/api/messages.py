"""Stream's message endpoints: send, get, edit, partial update, delete,
thread replies and reactions."""

from __future__ import annotations

from typing import Any

from chatengine import selectors
from chatengine.api.http import Call, object_field
from chatengine.errors import not_allowed
from chatengine.models import Channel, ChatUser, Message, Reaction
from chatengine.selectors import Access, check_team, member_get
from chatengine.serializers import (
    MessageRenderer,
    channel_payload,
    reaction_payload,
    render_message,
)
from chatengine.services import message_edits
from chatengine.services import messages as message_services
from chatengine.services import reactions as reaction_services


def _max_length(call: Call, channel: Channel) -> int:
    return int(call.types.config(channel.type)["max_message_length"])


def require_may_post(access: Access, data: dict[str, Any]) -> None:
    """What a client needs to post ``data`` in the channel: the grant to post
    (or reply), to pin if it arrives pinned, and a channel that is not frozen.
    Every route that posts a message checks it (a message may come along with
    a channel update)."""
    access.require("create-reply" if data.get("parent_id") else "create-message", "send messages")
    if data.get("pinned"):
        access.require("pin-message", "pin messages")
    if access.channel.frozen:
        raise not_allowed(f"channel {access.channel.cid} is frozen")


def message_send(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    data = object_field(call.body.get("message"), "message")
    user = call.actor(data.get("user"), data.get("user_id"))
    channel, access = call.channel_access(call.cid(channel_type, channel_id))
    blockers = None
    if access is not None:
        require_may_post(access, data)
        blockers = selectors.blockers_known(access)
    message = message_services.message_send(
        channel=channel, user=user, data=data, max_length=_max_length(call, channel), blockers=blockers
    )
    return {"message": render_message(message, viewer_id=user.id)}


def _message_access(call: Call, message_id: str) -> tuple[Message, Access]:
    message = selectors.message_get(message_id)
    channel = message.channel
    check_team(call.caller, channel)
    viewer = call.user
    access = selectors.access_for(call.caller, channel, member_get(channel, viewer), call.types)
    access.require("read-channel", "read")
    return message, access


def message_get(call: Call, message_id: str) -> dict[str, Any]:
    message, _ = _message_access(call, message_id)
    viewer = call.actor_or_none()
    payload = render_message(message, viewer_id=viewer.id if viewer else None)
    payload["channel"] = channel_payload(message.channel)
    return {"message": payload}


def _require_own_or_any(access: Access, message: Message, user: ChatUser, action: str) -> None:
    if access.server:
        return
    if message.user_id == user.id and access.can(f"{action}-message-owner"):
        return
    access.require(f"{action}-message", f"{action} this message")


def message_update(call: Call, message_id: str) -> dict[str, Any]:
    data = object_field(call.body.get("message"), "message")
    message, access = _message_access(call, message_id)
    user = call.actor(data.get("user"), data.get("user_id"))
    _require_own_or_any(access, message, user, "update")
    # A full update that leaves ``pinned`` out keeps the pin (the service only
    # changes it when the field is sent), so only a change needs the grant.
    if not access.server and "pinned" in data and bool(data["pinned"]) != message.pinned:
        access.require("pin-message", "pin messages")
    updated = message_edits.message_update(
        message=message, actor=user, data=data, max_length=_max_length(call, message.channel)
    )
    return {"message": render_message(updated, viewer_id=user.id)}


def message_update_partial(call: Call, message_id: str) -> dict[str, Any]:
    message, access = _message_access(call, message_id)
    user = call.actor()
    to_set, to_unset = object_field(call.body.get("set"), "set"), call.body.get("unset") or []
    if not access.server:
        if "pinned" in to_set or "pinned" in to_unset:
            access.require("pin-message", "pin messages")
        if set(to_set) - {"pinned", "pin_expires"} or set(to_unset) - {"pinned"}:
            _require_own_or_any(access, message, user, "update")
    updated = message_edits.message_update_partial(
        message=message,
        actor=user,
        to_set=to_set,
        to_unset=to_unset,
        max_length=_max_length(call, message.channel),
    )
    return {"message": render_message(updated, viewer_id=user.id)}


def message_delete(call: Call, message_id: str) -> dict[str, Any]:
    message, access = _message_access(call, message_id)
    user = call.actor_or_none(call.query.get("deleted_by")) or message.user
    _require_own_or_any(access, message, user, "delete")
    hard = call.flag("hard")
    if hard and not access.server:
        access.require("delete-message", "hard-delete messages")
    return {"message": message_edits.message_delete(message=message, actor=user, hard=hard)}


def message_replies(call: Call, message_id: str) -> dict[str, Any]:
    parent, _ = _message_access(call, message_id)
    options = {
        key: call.query.get(key)
        for key in ("limit", "id_lt", "id_lte", "id_gt", "id_gte", "id_around", "created_at_around")
        if call.query.get(key)
    }
    replies = selectors.messages_page(selectors.thread_scope(parent), options, default_limit=10)
    viewer = call.user
    return {"messages": MessageRenderer(replies, viewer_id=viewer.id if viewer else None).render_all()}


def reaction_send(call: Call, message_id: str) -> dict[str, Any]:
    data = object_field(call.body.get("reaction"), "reaction")
    message, access = _message_access(call, message_id)
    user = call.actor(data.get("user"), data.get("user_id"))
    access.require("create-reaction", "react")
    updated, reaction, _ = reaction_services.reaction_send(
        message=message, user=user, data=data, enforce_unique=call.body.get("enforce_unique") is True
    )
    return {"message": render_message(updated, viewer_id=user.id), "reaction": reaction_payload(reaction)}


def reaction_delete(call: Call, message_id: str, reaction_type: str) -> dict[str, Any]:
    message, access = _message_access(call, message_id)
    user = call.actor()
    if not access.can("delete-reaction-owner"):
        access.require("delete-reaction", "remove reactions")
    updated, reaction = reaction_services.reaction_delete(message=message, user=user, kind=reaction_type)
    return {"message": render_message(updated, viewer_id=user.id), "reaction": reaction}


def reactions_query(call: Call, message_id: str) -> dict[str, Any]:
    message, _ = _message_access(call, message_id)
    body = call.body if call.request.method == "POST" else {k: call.query.get(k) for k in ("limit", "offset")}
    limit = selectors.bounded_int(body.get("limit"), name="limit", default=25, maximum=300)
    offset = selectors.bounded_int(body.get("offset"), name="offset", default=0, maximum=1000)
    queryset = Reaction.objects.filter(message=message).select_related("user")
    conditions = object_field(body.get("filter"), "filter")
    if isinstance(conditions.get("type"), str):
        queryset = queryset.filter(type=conditions["type"])
    if isinstance(conditions.get("user_id"), str):
        queryset = queryset.filter(user_id=conditions["user_id"])
    reactions = list(queryset.order_by("-created_at", "-pk")[offset : offset + limit])
    return {"reactions": [reaction_payload(r) for r in reactions]}


def messages_search(call: Call) -> dict[str, Any]:
    """``GET /search``: messages of the channels the caller could list."""
    payload = call.payload()
    viewer = call.actor_or_none()
    messages = selectors.messages_search(
        caller=call.caller,
        user=viewer,
        filter_conditions=payload.get("filter_conditions"),
        query=payload.get("query"),
        message_filter_conditions=payload.get("message_filter_conditions"),
        sort=payload.get("sort"),
        limit=payload.get("limit"),
        offset=payload.get("offset"),
    )
    renderer = MessageRenderer(messages, viewer_id=viewer.id if viewer else None)
    channels: dict[str, dict[str, Any]] = {}
    results = []
    for message in messages:
        if message.channel_id not in channels:
            channels[message.channel_id] = channel_payload(message.channel)
        results.append({"message": {**renderer.render(message), "channel": channels[message.channel_id]}})
    return {"results": results}
