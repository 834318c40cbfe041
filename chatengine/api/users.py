"""Stream's user endpoints: upsert, partial update, query, deactivate,
reactivate and delete, and blocking (``POST /users/block``, ``/users/unblock``,
``GET /users/block``). A client may only edit its own profile and its own
blocks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chatengine import selectors
from chatengine.api.http import Call, object_field
from chatengine.errors import input_error, not_allowed, not_found
from chatengine.models import ChatUser
from chatengine.serializers import (
    block_payload,
    blocked_user_payload,
    full_user_payload,
    online_ids,
    user_payload,
)
from chatengine.services import blocks as block_services
from chatengine.services import user_removal
from chatengine.services import users as user_services


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
            forbidden = set(object_field(update.get("set"), "set")) | set(update.get("unset") or [])
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
    call.require_server()
    user = user_removal.user_deactivate(
        user_id=user_id, mark_messages_deleted=call.flag("mark_messages_deleted", call.body)
    )
    return {"user": user_payload(user)}


def users_deactivate(call: Call) -> dict[str, Any]:
    call.require_server()
    task = user_removal.users_deactivate(
        user_ids=call.body.get("user_ids"),
        mark_messages_deleted=call.flag("mark_messages_deleted", call.body),
    )
    return {"task_id": str(task.pk)}


def user_reactivate(call: Call, user_id: str) -> dict[str, Any]:
    call.require_server()
    name = call.body.get("name")
    user = user_removal.user_reactivate(
        user_id=user_id,
        restore_messages=call.flag("restore_messages", call.body),
        name=name if isinstance(name, str) else None,
    )
    return {"user": user_payload(user)}


def users_reactivate(call: Call) -> dict[str, Any]:
    call.require_server()
    task = user_removal.users_reactivate(
        user_ids=call.body.get("user_ids"), restore_messages=call.flag("restore_messages", call.body)
    )
    return {"task_id": str(task.pk)}


def users_delete(call: Call) -> dict[str, Any]:
    call.require_server()
    task = user_removal.users_delete(
        user_ids=call.body.get("user_ids"),
        user=call.body.get("user") or "soft",
        messages=call.body.get("messages"),
        conversations=call.body.get("conversations"),
    )
    return {"task_id": str(task.pk)}


def user_delete(call: Call, user_id: str) -> dict[str, Any]:
    """The legacy single-user delete (``DELETE /users/{id}``)."""
    call.require_server()
    user = selectors.user_get(user_id)
    payload = user_payload(user)
    hard = call.flag("hard_delete")
    user_removal.users_delete(
        user_ids=[user_id],
        user="hard" if hard else "soft",
        messages="hard" if call.flag("mark_messages_deleted") else None,
    )
    return {"user": payload}


# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------
def _blocked_user_id(call: Call) -> str:
    target_id = call.body.get("blocked_user_id")
    if not isinstance(target_id, str) or not target_id:
        raise input_error("blocked_user_id is required: the id of the user to block or unblock")
    return target_id


def users_block(call: Call) -> dict[str, Any]:
    """The caller (server side: the ``user_id`` named) blocks ``blocked_user_id``."""
    user = call.actor()
    target_id = _blocked_user_id(call)
    if target_id == user.id:
        raise input_error("a user cannot block itself")
    # Judged as the blocker sees users, even when the server acts for it: a
    # user of another team answers exactly as one that does not exist.
    as_blocker = replace(call.caller, server=False, user=user)
    target = selectors.users_reachable(as_blocker, [target_id]).get(target_id)
    if target is None:
        raise not_found(f"user {target_id}")
    return block_payload(block_services.user_block(user=user, target=target))


def users_unblock(call: Call) -> dict[str, Any]:
    """Lift a block; lifting one that is not there changes nothing (as unmuting)."""
    user = call.actor()
    block_services.user_unblock(user=user, target_id=_blocked_user_id(call))
    return {}


def users_blocked(call: Call) -> dict[str, Any]:
    """The users the caller (server side: ``user_id``) blocks, oldest block first."""
    user = call.actor()
    return {"blocks": [blocked_user_payload(block) for block in selectors.blocks_of(user)]}
