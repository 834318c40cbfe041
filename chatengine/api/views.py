"""Stream's REST endpoints. Each handler parses its input, resolves the caller's
access, calls one service or selector and shapes the response; the shared
plumbing (auth, envelope, duration) is in :mod:`chatengine.api.http`."""

from __future__ import annotations

from typing import Any

from chatengine import selectors
from chatengine.api.http import Call
from chatengine.errors import Code, StreamError, input_error, not_allowed, not_found
from chatengine.models import Channel, ChatUser, Message, Reaction, Role, Task
from chatengine.permissions import BUILTIN_ROLES
from chatengine.selectors import Access, channel_access, check_team, member_get
from chatengine.serializers import (
    MessageRenderer,
    channel_payload,
    full_user_payload,
    iso,
    member_payload,
    online_ids,
    reaction_payload,
    render_message,
    user_payload,
)
from chatengine.services import app as app_services
from chatengine.services import channels as channel_services
from chatengine.services import connections
from chatengine.services import messages as message_services
from chatengine.services import users as user_services
from chatengine.state import channel_states, options_from


def _server_only(call: Call) -> None:
    if not call.server:
        raise not_allowed("this endpoint needs server-side auth")


def _dict(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise input_error(f"{name} must be an object")
    return value


# ---------------------------------------------------------------------------
# App, roles, channel types, tasks
# ---------------------------------------------------------------------------
# Stream's app fields this engine has no use for, at their neutral values.
APP_DEFAULTS: dict[str, Any] = {
    "id": 1,
    "name": "chatengine",
    "organization": "",
    "placement": "",
    "push_notifications": {
        "version": "v2",
        "offline_only": False,
        "apn": {"enabled": False, "development": False},
        "firebase": {"enabled": False},
        "huawei": {"enabled": False},
        "xiaomi": {"enabled": False},
    },
    "webhook_url": "",
    "moderation_webhook_url": "",
    "call_types": {},
    "policies": {},
    "suspended": False,
    "suspended_explanation": "",
    "disable_auth_checks": False,
    "disable_permissions_checks": False,
    "permission_version": "v2",
    "user_search_disallowed_roles": [],
    "allow_multi_user_devices": False,
    "image_moderation_enabled": False,
    "async_url_enrich_enabled": False,
    "auto_translation_enabled": False,
    "custom_action_handler_url": "",
    "enforce_unique_usernames": "no",
    "sqs_url": "",
    "sqs_key": "",
    "sqs_secret": "",
    "sns_topic_arn": "",
    "sns_key": "",
    "sns_secret": "",
    # Uploads are off (see the channel configs); no size is accepted.
    "file_upload_config": {"size_limit": 0},
    "image_upload_config": {"size_limit": 0},
    "grants": {},
    "campaign_enabled": False,
    "webhook_events": [],
    "reminders_interval": 0,
    "cdn_expiration_seconds": 0,
    "moderation_enabled": False,
    "moderation_multitenant_blocklist_enabled": False,
    "guest_user_creation_disabled": True,
    "event_hooks": [],
    "use_hook_v2": False,
    "user_response_time_enabled": False,
    "moderation_llm_configurability_enabled": False,
    "max_aggregated_activities_length": 0,
    "feed_audit_logs_enabled": False,
    "moderation_video_call_moderation_enabled": False,
    "moderation_audio_call_moderation_enabled": False,
    "member_custom_on_messages_enabled": False,
}


def app_get(call: Call) -> dict[str, Any]:
    app = call.caller.app
    body: dict[str, Any] = {
        **APP_DEFAULTS,
        **{key: value for key, value in app.settings.items() if key in APP_DEFAULTS},
        "multi_tenant_enabled": app.multi_tenant_enabled,
        "channel_configs": {name: call.types.config(name) for name in app_services.BUILTIN_CHANNEL_TYPES},
    }
    if app.revoke_tokens_issued_before is not None:
        body["revoke_tokens_issued_before"] = iso(app.revoke_tokens_issued_before)
    return {"app": body}


def app_update(call: Call) -> dict[str, Any]:
    _server_only(call)
    app_services.app_update(data=call.body)
    return {}


def roles_list(call: Call) -> dict[str, Any]:
    _server_only(call)
    custom = [
        app_services.role_payload(r.name, custom=True, created_at=r.created_at, updated_at=r.updated_at)
        for r in Role.objects.order_by("name")
    ]
    app = call.caller.app
    builtin = [
        app_services.role_payload(name, custom=False, created_at=app.updated_at, updated_at=app.updated_at)
        for name in sorted(BUILTIN_ROLES)
    ]
    return {"roles": builtin + custom}


def role_create(call: Call) -> dict[str, Any]:
    _server_only(call)
    role = app_services.role_create(name=call.body.get("name"))
    return {
        "role": app_services.role_payload(
            role.name, custom=True, created_at=role.created_at, updated_at=role.updated_at
        )
    }


def role_delete(call: Call, name: str) -> dict[str, Any]:
    _server_only(call)
    app_services.role_delete(name=name)
    return {}


def channel_types_list(call: Call) -> dict[str, Any]:
    _server_only(call)
    names = list(app_services.BUILTIN_CHANNEL_TYPES)
    from chatengine.models import ChannelType

    names += [n for n in ChannelType.objects.values_list("name", flat=True) if n not in names]
    return {
        "channel_types": {
            name: app_services.channel_type_payload(app_services.channel_type_get(name)) for name in names
        }
    }


def channel_type_create(call: Call) -> dict[str, Any]:
    _server_only(call)
    return app_services.channel_type_payload(app_services.channel_type_create(data=call.body))


def channel_type_get(call: Call, name: str) -> dict[str, Any]:
    _server_only(call)
    return app_services.channel_type_payload(app_services.channel_type_get(name))


def channel_type_update(call: Call, name: str) -> dict[str, Any]:
    _server_only(call)
    return app_services.channel_type_payload(app_services.channel_type_update(name=name, data=call.body))


def task_get(call: Call, task_id: str) -> dict[str, Any]:
    _server_only(call)
    task = Task.objects.filter(pk=task_id).first() if _is_uuid(task_id) else None
    if task is None:
        raise not_found(f"task {task_id}")
    body: dict[str, Any] = {
        "task_id": str(task.pk),
        "status": task.status,
        "result": task.result,
        "created_at": iso(task.created_at),
        "updated_at": iso(task.updated_at),
    }
    if task.error:
        body["error"] = task.error
    return body


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------
def _users_response(users: list[ChatUser]) -> dict[str, Any]:
    online = online_ids(u.id for u in users)
    return {
        "users": {u.id: full_user_payload(u, online=u.id in online) for u in users},
        "membership_deletion_task_id": "",
    }


def users_upsert(call: Call) -> dict[str, Any]:
    raw = call.body.get("users")
    if isinstance(raw, dict):
        users = list(raw.values())
    elif isinstance(raw, list):
        users = raw
    else:
        raise input_error("users must be an object of id: user")
    if not all(isinstance(u, dict) for u in users):
        raise input_error("each user must be an object")
    if not call.server:
        user = call.user
        if user is None or any(u.get("id") != user.id for u in users):
            raise not_allowed("a client can only update its own user")
    return _users_response(user_services.users_upsert(users=users, client_side=not call.server))


def users_update_partial(call: Call) -> dict[str, Any]:
    updates = call.body.get("users")
    if not isinstance(updates, list) or not all(isinstance(u, dict) for u in updates):
        raise input_error("users must be a list of {id, set, unset}")
    if not call.server:
        user = call.user
        if user is None or any(u.get("id") != user.id for u in updates):
            raise not_allowed("a client can only update its own user")
        for update in updates:
            forbidden = set(_dict(update.get("set"), "set")) | set(update.get("unset") or [])
            forbidden -= user_services.CLIENT_WRITABLE
            if forbidden:
                raise not_allowed(f"a client cannot change {', '.join(sorted(forbidden))}")
    return _users_response(user_services.users_update_partial(updates=updates))


def users_query(call: Call) -> dict[str, Any]:
    payload = call.payload()
    users = selectors.users_query(
        caller=call.caller,
        filter_conditions=payload.get("filter_conditions"),
        sort=payload.get("sort"),
        limit=payload.get("limit"),
        offset=payload.get("offset"),
        include_deactivated=payload.get("include_deactivated_users") is True,
    )
    online = online_ids(u.id for u in users)
    return {"users": [full_user_payload(u, online=u.id in online) for u in users]}


def user_deactivate(call: Call, user_id: str) -> dict[str, Any]:
    _server_only(call)
    user = user_services.user_deactivate(
        user_id=user_id, mark_messages_deleted=call.flag("mark_messages_deleted", call.body)
    )
    return {"user": user_payload(user)}


def users_deactivate(call: Call) -> dict[str, Any]:
    _server_only(call)
    task = user_services.users_deactivate(
        user_ids=call.body.get("user_ids"),
        mark_messages_deleted=call.flag("mark_messages_deleted", call.body),
    )
    return {"task_id": str(task.pk)}


def user_reactivate(call: Call, user_id: str) -> dict[str, Any]:
    _server_only(call)
    name = call.body.get("name")
    user = user_services.user_reactivate(
        user_id=user_id,
        restore_messages=call.flag("restore_messages", call.body),
        name=name if isinstance(name, str) else None,
    )
    return {"user": user_payload(user)}


def users_reactivate(call: Call) -> dict[str, Any]:
    _server_only(call)
    task = user_services.users_reactivate(
        user_ids=call.body.get("user_ids"), restore_messages=call.flag("restore_messages", call.body)
    )
    return {"task_id": str(task.pk)}


def users_delete(call: Call) -> dict[str, Any]:
    _server_only(call)
    task = user_services.users_delete(
        user_ids=call.body.get("user_ids"),
        user=call.body.get("user") or "soft",
        messages=call.body.get("messages"),
        conversations=call.body.get("conversations"),
    )
    return {"task_id": str(task.pk)}


def user_delete(call: Call, user_id: str) -> dict[str, Any]:
    """The legacy single-user delete (``DELETE /users/{id}``)."""
    _server_only(call)
    user = selectors.user_get(user_id)
    payload = user_payload(user)
    hard = call.flag("hard_delete")
    user_services.users_delete(
        user_ids=[user_id],
        user="hard" if hard else "soft",
        messages="hard" if call.flag("mark_messages_deleted") else None,
    )
    return {"user": payload}


# ---------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------
def _viewer(call: Call, body: dict[str, Any]) -> ChatUser | None:
    """Whose view a channel state shows: the token's user, or for a server call
    the ``user_id`` / ``user`` it names (if any)."""
    return call.acting_user(required=False) if call.server else call.user


def channels_query(call: Call) -> dict[str, Any]:
    body = call.body
    viewer = _viewer(call, body)
    channels = selectors.channels_query(
        caller=call.caller,
        user=viewer,
        filter_conditions=body.get("filter_conditions"),
        sort=body.get("sort"),
        limit=body.get("limit"),
        offset=body.get("offset"),
    )
    options = options_from(body, default_message_limit=25)
    states = channel_states(
        caller=call.caller, viewer=viewer, channels=channels, types=call.types, options=options
    )
    if body.get("watch") is True:
        connection = connections.connection_for(connection_id=call.query.get("connection_id"), user=call.user)
        if connection is not None:
            connections.channels_watch(connection=connection, channels=channels)
    return {"channels": states}


def channel_query(call: Call, channel_type: str, channel_id: str | None = None) -> dict[str, Any]:
    """Get or create a channel and return its state; with ``watch`` subscribe the
    caller's socket to it."""
    body = call.body
    data = _dict(body.get("data"), "data")
    cid = f"{channel_type}:{channel_id}" if channel_id else None
    channel = Channel.objects.filter(cid=cid).select_related("created_by").first() if cid else None
    if channel is None:
        if call.server:
            creator = call.acting_user(data.get("created_by"), data.get("created_by_id"), required=False)
        else:
            _require_create_grant(call, channel_type, data)
            creator = call.user
        channel, _ = channel_services.channel_get_or_create(
            caller=call.caller, channel_type=channel_type, channel_id=channel_id, data=data, creator=creator
        )
    check_team(call.caller, channel)
    viewer = call.user if not call.server else call.acting_user(required=False)
    access = selectors.access_for(call.caller, channel, member_get(channel, viewer), call.types, user=viewer)
    access.require("read-channel", "read")
    state = channel_states(
        caller=call.caller,
        viewer=viewer,
        channels=[channel],
        types=call.types,
        options=options_from(body, default_message_limit=selectors.DEFAULT_MESSAGE_LIMIT),
    )[0]
    if body.get("watch") is True:
        connection = connections.connection_for(connection_id=call.query.get("connection_id"), user=call.user)
        if connection is not None:
            connections.channels_watch(connection=connection, channels=[channel])
            state["watcher_count"] = connections.watcher_count(channel)
    return state


def _require_create_grant(call: Call, channel_type: str, data: dict[str, Any]) -> None:
    user = call.user
    assert user is not None
    probe = Channel(cid="", type=channel_type, channel_id="", team=str(data.get("team") or ""))
    access = selectors.access_for(call.caller, probe, None, call.types)
    if not access.can("create-channel"):
        raise not_allowed(f"user '{user.id}' is not allowed to create channels of type {channel_type}")


def _channel_response(channel: Channel, *, call: Call) -> dict[str, Any]:
    members = selectors.channel_members(channel)
    online = online_ids(m.user_id for m in members)
    config = call.types.config(channel.type)
    return {
        "channel": channel_payload(channel, config=config),
        "members": [member_payload(m, online=online) for m in members],
    }


MEMBER_OPERATIONS = {
    "add_members",
    "remove_members",
    "add_moderators",
    "demote_moderators",
    "assign_roles",
    "invites",
}


def channel_update(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    body = call.body
    cid = f"{channel_type}:{channel_id}"
    actor = call.acting_user(_dict(body.get("message"), "message").get("user"), required=False)
    operations = {k: body[k] for k in (*channel_services.UPDATE_OPERATIONS, "hide_history") if k in body}
    data = body.get("data")
    if call.server:
        channel = selectors.channel_get(cid)
    else:
        access = channel_access(call.caller, cid, call.types)
        channel = access.channel
        _authorize_update(call, access, data, operations)
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
    assert user is not None
    for key in operations:
        if key == "hide_history":
            continue
        if key == "remove_members" and operations[key] == [user.id]:
            access.require("remove-own-channel-membership", "leave")
        else:
            access.require("update-channel-members", "change members")


def channel_update_partial(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    cid = f"{channel_type}:{channel_id}"
    if call.server:
        channel = selectors.channel_get(cid)
    else:
        access = channel_access(
            call.caller, cid, call.types, permission="update-channel", what="update the channel"
        )
        channel = access.channel
    channel = channel_services.channel_update_partial(
        caller=call.caller,
        channel=channel,
        actor=call.acting_user(required=False),
        to_set=call.body.get("set"),
        to_unset=call.body.get("unset"),
    )
    return _channel_response(channel, call=call)


def channel_delete(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    cid = f"{channel_type}:{channel_id}"
    channel = (
        selectors.channel_get(cid)
        if call.server
        else channel_access(call.caller, cid, call.types, permission="delete-channel", what="delete").channel
    )
    return {"channel": channel_services.channel_delete(channel=channel)}


def channels_delete(call: Call) -> dict[str, Any]:
    _server_only(call)
    task = channel_services.channels_delete(cids=call.body.get("cids"))
    return {"task_id": str(task.pk), "result": task.result}


def channel_truncate(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    cid = f"{channel_type}:{channel_id}"
    channel = (
        selectors.channel_get(cid)
        if call.server
        else channel_access(
            call.caller, cid, call.types, permission="truncate-channel", what="truncate"
        ).channel
    )
    channel = channel_services.channel_truncate(channel=channel, actor=call.acting_user(required=False))
    return {"channel": channel_payload(channel, config=call.types.config(channel.type))}


def _member_channel(call: Call, channel_type: str, channel_id: str) -> tuple[Channel, ChatUser]:
    cid = f"{channel_type}:{channel_id}"
    user = call.acting_user()
    assert user is not None
    channel = (
        selectors.channel_get(cid) if call.server else channel_access(call.caller, cid, call.types).channel
    )
    return channel, user


def channel_hide(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel, user = _member_channel(call, channel_type, channel_id)
    channel_services.channel_set_hidden(channel=channel, user=user, hidden=True)
    return {}


def channel_show(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel, user = _member_channel(call, channel_type, channel_id)
    channel_services.channel_set_hidden(channel=channel, user=user, hidden=False)
    return {}


def member_update_partial(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel, user = _member_channel(call, channel_type, channel_id)
    member = channel_services.member_update_partial(
        channel=channel, user=user, to_set=call.body.get("set"), to_unset=call.body.get("unset")
    )
    return {"channel_member": member_payload(member)}


def stop_watching(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    channel = selectors.channel_get(f"{channel_type}:{channel_id}")
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
    if isinstance(channel_id, str) and channel_id:
        cid = f"{channel_type}:{channel_id}"
        channel = (
            selectors.channel_get(cid)
            if call.server
            else channel_access(call.caller, cid, call.types).channel
        )
    else:
        members = payload.get("members")
        if not isinstance(members, list) or not members:
            raise input_error("payload.id or payload.members is required")
        cid = f"{channel_type}:{channel_services.distinct_channel_id([str(m) for m in members])}"
        channel = (
            selectors.channel_get(cid)
            if call.server
            else channel_access(call.caller, cid, call.types).channel
        )
    members = selectors.members_query(
        channel=channel,
        filter_conditions=payload.get("filter_conditions"),
        sort=payload.get("sort"),
        limit=payload.get("limit"),
        offset=payload.get("offset"),
    )
    online = online_ids(m.user_id for m in members)
    return {"members": [member_payload(m, online=online) for m in members]}


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------
def _max_length(call: Call, channel: Channel) -> int:
    return int(call.types.config(channel.type)["max_message_length"])


def message_send(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    data = _dict(call.body.get("message"), "message")
    user = call.acting_user(data.get("user"), data.get("user_id"))
    assert user is not None
    cid = f"{channel_type}:{channel_id}"
    if call.server:
        channel = selectors.channel_get(cid)
    else:
        access = channel_access(call.caller, cid, call.types)
        permission = "create-reply" if data.get("parent_id") else "create-message"
        access.require(permission, "send messages")
        if access.channel.frozen:
            raise not_allowed(f"channel {cid} is frozen")
        channel = access.channel
    message = message_services.message_send(
        channel=channel, user=user, data=data, max_length=_max_length(call, channel)
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
    viewer = call.user or call.acting_user(required=False)
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
    data = _dict(call.body.get("message"), "message")
    message, access = _message_access(call, message_id)
    user = call.acting_user(data.get("user"), data.get("user_id"))
    assert user is not None
    _require_own_or_any(access, message, user, "update")
    if not access.server and bool(data.get("pinned")) != message.pinned:
        access.require("pin-message", "pin messages")
    updated = message_services.message_update(
        message=message, actor=user, data=data, max_length=_max_length(call, message.channel)
    )
    return {"message": render_message(updated, viewer_id=user.id)}


def message_update_partial(call: Call, message_id: str) -> dict[str, Any]:
    message, access = _message_access(call, message_id)
    user = call.acting_user()
    assert user is not None
    to_set, to_unset = _dict(call.body.get("set"), "set"), call.body.get("unset") or []
    if not access.server:
        if "pinned" in to_set or "pinned" in to_unset:
            access.require("pin-message", "pin messages")
        if set(to_set) - {"pinned", "pin_expires"} or set(to_unset) - {"pinned"}:
            _require_own_or_any(access, message, user, "update")
    updated = message_services.message_update_partial(
        message=message,
        actor=user,
        to_set=to_set,
        to_unset=to_unset,
        max_length=_max_length(call, message.channel),
    )
    return {"message": render_message(updated, viewer_id=user.id)}


def message_delete(call: Call, message_id: str) -> dict[str, Any]:
    message, access = _message_access(call, message_id)
    user = call.acting_user(call.query.get("deleted_by"), required=False) or message.user
    _require_own_or_any(access, message, user, "delete")
    hard = call.flag("hard")
    if hard and not access.server:
        access.require("delete-message", "hard-delete messages")
    return {"message": message_services.message_delete(message=message, actor=user, hard=hard)}


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
    data = _dict(call.body.get("reaction"), "reaction")
    message, access = _message_access(call, message_id)
    user = call.acting_user(data.get("user"), data.get("user_id"))
    assert user is not None
    access.require("create-reaction", "react")
    updated, reaction, _ = message_services.reaction_send(
        message=message, user=user, data=data, enforce_unique=call.body.get("enforce_unique") is True
    )
    return {"message": render_message(updated, viewer_id=user.id), "reaction": reaction_payload(reaction)}


def reaction_delete(call: Call, message_id: str, reaction_type: str) -> dict[str, Any]:
    message, access = _message_access(call, message_id)
    user = call.acting_user()
    assert user is not None
    if not access.can("delete-reaction-owner"):
        access.require("delete-reaction", "remove reactions")
    updated, reaction = message_services.reaction_delete(message=message, user=user, kind=reaction_type)
    return {"message": render_message(updated, viewer_id=user.id), "reaction": reaction}


def reactions_query(call: Call, message_id: str) -> dict[str, Any]:
    message, _ = _message_access(call, message_id)
    body = call.body if call.request.method == "POST" else {k: call.query.get(k) for k in ("limit", "offset")}
    limit = selectors.bounded_int(body.get("limit"), name="limit", default=25, maximum=300)
    offset = selectors.bounded_int(body.get("offset"), name="offset", default=0, maximum=1000)
    queryset = Reaction.objects.filter(message=message).select_related("user")
    conditions = _dict(body.get("filter"), "filter")
    if isinstance(conditions.get("type"), str):
        queryset = queryset.filter(type=conditions["type"])
    if isinstance(conditions.get("user_id"), str):
        queryset = queryset.filter(user_id=conditions["user_id"])
    reactions = list(queryset.order_by("-created_at", "-pk")[offset : offset + limit])
    return {"reactions": [reaction_payload(r) for r in reactions]}


# ---------------------------------------------------------------------------
# Read state and client events
# ---------------------------------------------------------------------------
def channel_mark_read(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    cid = f"{channel_type}:{channel_id}"
    user = call.acting_user()
    assert user is not None
    channel = (
        selectors.channel_get(cid) if call.server else channel_access(call.caller, cid, call.types).channel
    )
    message_id = call.body.get("message_id")
    event = message_services.channel_mark_read(
        channel=channel, user=user, message_id=message_id if isinstance(message_id, str) else None
    )
    return {"event": event}


def channel_mark_unread(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    cid = f"{channel_type}:{channel_id}"
    user = call.acting_user()
    assert user is not None
    channel = (
        selectors.channel_get(cid) if call.server else channel_access(call.caller, cid, call.types).channel
    )
    message_services.channel_mark_unread(channel=channel, user=user, message_id=call.body.get("message_id"))
    return {}


def channel_event(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    data = _dict(call.body.get("event"), "event")
    cid = f"{channel_type}:{channel_id}"
    user = call.acting_user(data.get("user"), data.get("user_id"))
    assert user is not None
    if call.server:
        channel = selectors.channel_get(cid)
    else:
        access = channel_access(call.caller, cid, call.types)
        channel = access.channel
        if str(data.get("type", "")).startswith("typing."):
            if not call.types.config(channel.type).get("typing_events"):
                raise StreamError(
                    Code.EVENT_NOT_SUPPORTED, "typing events are disabled for this channel type"
                )
        else:
            access.require("send-custom-event", "send events")
    return {"event": message_services.channel_event_send(channel=channel, user=user, data=data)}
