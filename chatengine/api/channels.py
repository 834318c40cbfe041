"""Stream's channel endpoints: query and watch, create, update, members,
delete, truncate, hide, read state and client events (typing)."""

from __future__ import annotations

from typing import Any

from chatengine import selectors, sendpath
from chatengine.api import messages as message_views
from chatengine.api.http import Call, object_field
from chatengine.errors import Code, StreamError, input_error, not_allowed
from chatengine.models import Channel, ChatUser
from chatengine.selectors import Access, check_team
from chatengine.serializers import (
    channel_payload,
    member_payload,
    online_ids,
    render_message,
)
from chatengine.services import app as channel_types
from chatengine.services import channel_removal, connections, read_state
from chatengine.services import channels as channel_services
from chatengine.services import members as member_services
from chatengine.services import messages as message_services
from chatengine.state import StateOptions, channel_states, options_from
from chatengine.watchpath import Watchers


def channels_query(call: Call) -> dict[str, Any]:
    body = call.body
    viewer = call.actor_or_none()
    channels = selectors.channels_query(
        caller=call.caller,
        user=viewer,
        filter_conditions=body.get("filter_conditions"),
        sort=body.get("sort"),
        limit=body.get("limit"),
        offset=body.get("offset"),
    )
    options = options_from(body, default_message_limit=25)
    watchers = _watch(call, channels, options) if body.get("watch") is True else None
    states = channel_states(
        caller=call.caller,
        viewer=viewer,
        channels=channels,
        types=call.types,
        options=options,
        watchers=watchers,
    )
    return {"channels": states}


def _watch(call: Call, channels: list[Channel], options: StateOptions) -> dict[str, Watchers] | None:
    """Subscribe the caller's socket (``connection_id``) to ``channels``, before
    their state is built: the caller who starts watching is one of the
    watchers the answer counts and lists. Returns the channels' watchers when
    it read them (the state reuses them)."""
    connection = connections.connection_for(connection_id=call.query.get("connection_id"), user=call.user)
    if connection is None:
        return None
    return connections.channels_watch(
        connection=connection,
        channels=channels,
        presence=call.body.get("presence") is True,
        watcher_limit=options.watcher_limit,
    )


def channel_query(call: Call, channel_type: str, channel_id: str | None = None) -> dict[str, Any]:
    """Get or create a channel and return its state; with ``watch`` subscribe the
    caller's socket to it."""
    body = call.body
    data = object_field(body.get("data"), "data")
    if not channel_id and data.get("members"):
        # A distinct channel is named by its members: find the one the control
        # plane created before deciding that this call would create one.
        entries = member_services.parse_member_entries(data["members"], field="data.members")
        channel_id = channel_services.distinct_channel_id([uid for uid, _ in entries])
    cid = f"{channel_type}:{channel_id}" if channel_id else None
    channel = sendpath.channel_get(cid) if cid else None
    if channel is not None and not selectors.team_sees(call.caller, channel):
        # Another team's channel answers as a missing one this caller may not
        # create: the refusal must not tell which ids other teams use.
        raise _create_refused(call, channel_type)
    if channel is None:
        if not call.server:
            # No client role holds create-channel: the control plane creates
            # every channel, conversations included, server-side.
            raise _create_refused(call, channel_type)
        creator = call.actor_or_none(data.get("created_by"), data.get("created_by_id"))
        channel, _ = channel_services.channel_get_or_create(
            caller=call.caller, channel_type=channel_type, channel_id=channel_id, data=data, creator=creator
        )
    check_team(call.caller, channel)
    viewer = call.actor_or_none()
    # The viewer's membership as the state needs it, read once: its ban in
    # force decides the access checked here too.
    own = selectors.viewer_memberships(viewer, [channel]) if viewer is not None else {}
    membership = own.get(channel.cid)
    access = selectors.access_for(
        call.caller,
        channel,
        membership,
        call.types,
        user=viewer,
        banned=membership.ban_in_force if membership is not None else None,  # type: ignore[attr-defined]  # annotated by the query
    )
    access.require("read-channel", "read")
    options = options_from(body, default_message_limit=selectors.DEFAULT_MESSAGE_LIMIT)
    watchers = _watch(call, [channel], options) if body.get("watch") is True else None
    return channel_states(
        caller=call.caller,
        viewer=viewer,
        channels=[channel],
        types=call.types,
        options=options,
        watchers=watchers,
        own=own,
    )[0]


def _create_refused(call: Call, channel_type: str) -> StreamError:
    channel_types.channel_type_get(channel_type)  # an unknown type answers as such
    user = call.user
    return not_allowed(
        f"user '{user.id if user else ''}' is not allowed to create channels of type {channel_type}: "
        "channels are created server-side only (through the control plane)"
    )


def _channel_response(channel: Channel, *, call: Call) -> dict[str, Any]:
    members = selectors.channel_members(channel)
    online = online_ids(m.user_id for m in members)
    config = call.types.config(channel.type)
    return {
        "channel": channel_payload(channel, config=config),
        "members": [member_payload(m, online=online) for m in members],
    }


def channel_update(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    body = call.body
    actor = call.actor_or_none(object_field(body.get("message"), "message").get("user"))
    operations = {k: body[k] for k in channel_services.UPDATE_OPERATIONS if k in body}
    data = body.get("data")
    channel, access = call.channel_access(call.cid(channel_type, channel_id))
    if access is not None:
        _authorize_update(call, access, data, operations)
        if isinstance(body.get("message"), dict):
            message_views.require_may_post(access, body["message"])
    channel = channel_services.channel_update(
        caller=call.caller, channel=channel, actor=actor, data=data, operations=operations
    )
    response = _channel_response(channel, call=call)
    message = body.get("message")
    if isinstance(message, dict) and actor is not None:
        sent = message_services.message_send(
            channel=channel,
            user=actor,
            data=message,
            max_length=call.types.config(channel.type)["max_message_length"],
        )
        response["message"] = render_message(sent, viewer_id=actor.id)
    return response


def _authorize_update(call: Call, access: Access, data: Any, operations: dict[str, Any]) -> None:
    if data is not None:
        access.require("update-channel", "update the channel")
    user = call.user
    for key in operations:
        if key == "remove_members" and user is not None and operations[key] == [user.id]:
            access.require("remove-own-channel-membership", "leave")
        else:
            access.require("update-channel-members", "change members")


def channel_update_partial(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel = call.channel(channel_type, channel_id, permission="update-channel", what="update the channel")
    channel = channel_services.channel_update_partial(
        caller=call.caller,
        channel=channel,
        actor=call.actor_or_none(),
        to_set=call.body.get("set"),
        to_unset=call.body.get("unset"),
    )
    return _channel_response(channel, call=call)


def channel_delete(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel = call.channel(channel_type, channel_id, permission="delete-channel", what="delete")
    return {"channel": channel_removal.channel_delete(channel=channel)}


def channels_delete(call: Call) -> dict[str, Any]:
    call.require_server()
    task = channel_removal.channels_delete(cids=call.body.get("cids"))
    return {"task_id": str(task.pk), "result": task.result}


def channel_truncate(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel = call.channel(channel_type, channel_id, permission="truncate-channel", what="truncate")
    channel = channel_removal.channel_truncate(channel=channel, actor=call.actor_or_none())
    return {"channel": channel_payload(channel, config=call.types.config(channel.type))}


def _member_channel(call: Call, channel_type: str, channel_id: str) -> tuple[Channel, ChatUser]:
    user = call.actor()
    return call.channel(channel_type, channel_id), user


def channel_hide(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel, user = _member_channel(call, channel_type, channel_id)
    channel_removal.channel_set_hidden(channel=channel, user=user, hidden=True)
    return {}


def channel_show(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel, user = _member_channel(call, channel_type, channel_id)
    channel_removal.channel_set_hidden(channel=channel, user=user, hidden=False)
    return {}


def member_update_partial(
    call: Call, channel_type: str, channel_id: str, user_id: str | None = None
) -> dict[str, Any]:
    """``PATCH …/member`` (the caller's membership; server side, the ``user_id``
    the call names) and the SDKs' older ``PATCH …/member/{user_id}``, which
    ``channel.pin()`` / ``archive()`` still use: one route, two paths."""
    target = call.actor().id if user_id is None else user_id
    member = selectors.membership_for_update(call.caller, call.cid(channel_type, channel_id), target)
    member = member_services.member_update_partial(
        member=member,
        actor=call.actor_or_none(),
        to_set=call.body.get("set"),
        to_unset=call.body.get("unset"),
    )
    return {"channel_member": member_payload(member)}


def stop_watching(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel = selectors.channel_get_for_user(call.caller, call.cid(channel_type, channel_id))
    connection = connections.connection_for(connection_id=call.query.get("connection_id"), user=call.user)
    if connection is not None:
        connections.channel_stop_watching(connection=connection, channel=channel)
    return {}


def channels_delivered(call: Call) -> dict[str, Any]:
    """Delivery receipts are off (``delivery_events: false``); a client that
    reports them anyway gets an empty success rather than an error."""
    return {}


def members_query(call: Call) -> dict[str, Any]:
    payload = call.payload()
    channel_type, channel_id = payload.get("type"), payload.get("id")
    if not isinstance(channel_type, str) or not channel_type:
        raise input_error("payload.type is required")
    if not isinstance(channel_id, str) or not channel_id:
        members = payload.get("members")
        if not isinstance(members, list) or not members:
            raise input_error("payload.id or payload.members is required")
        channel_id = channel_services.distinct_channel_id([str(m) for m in members])
    channel = call.channel(channel_type, channel_id)
    members = selectors.members_query(
        channel=channel,
        filter_conditions=payload.get("filter_conditions"),
        sort=payload.get("sort"),
        limit=payload.get("limit"),
        offset=payload.get("offset"),
    )
    online = online_ids(m.user_id for m in members)
    return {"members": [member_payload(m, online=online) for m in members]}


def channel_mark_read(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    user = call.actor()
    channel = call.channel(channel_type, channel_id)
    message_id = call.body.get("message_id")
    event = read_state.channel_mark_read(
        channel=channel, user=user, message_id=message_id if isinstance(message_id, str) else None
    )
    return {"event": event}


def channel_mark_unread(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    user = call.actor()
    channel = call.channel(channel_type, channel_id)
    read_state.channel_mark_unread(channel=channel, user=user, message_id=call.body.get("message_id"))
    return {}


def channel_event(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    data = object_field(call.body.get("event"), "event")
    user = call.actor(data.get("user"), data.get("user_id"))
    channel, access = call.channel_access(call.cid(channel_type, channel_id))
    if access is not None:
        if str(data.get("type", "")).startswith("typing."):
            if not call.types.config(channel.type).get("typing_events"):
                raise StreamError(
                    Code.EVENT_NOT_SUPPORTED, "typing events are disabled for this channel type"
                )
        else:
            access.require("send-custom-event", "send events")
    return {"event": read_state.channel_event_send(channel=channel, user=user, data=data)}
