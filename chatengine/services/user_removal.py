"""Users leaving the chat and coming back: deactivate and reactivate (one
user or a batch) and delete (soft, pruning or hard), each reported as Stream
does (the user, or a completed task). A deactivated or deleted user loses its
sockets at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from chatengine import events
from chatengine.errors import Code, StreamError, input_error, not_found
from chatengine.models import Channel, ChatUser, DeletedUser, Member, Message, MessageType, Task, TaskStatus
from chatengine.services.members import channels_recount
from chatengine.services.users import BATCH_LIMIT, validate_user_id

_DEACTIVATED = StreamError(Code.AUTH, "the user was deactivated", status=401)


def _get(user_id: str) -> ChatUser:
    user = ChatUser.objects.select_for_update().filter(id=user_id).first()
    if user is None:
        raise not_found(f"user {user_id}")
    return user


def _mark_messages_deleted(user_ids: list[str], now: datetime) -> None:
    Message.objects.filter(user_id__in=user_ids, deleted_at__isnull=True).update(
        type=MessageType.DELETED, deleted_at=now, updated_at=now
    )


@transaction.atomic
def user_deactivate(*, user_id: str, mark_messages_deleted: bool = False) -> ChatUser:
    user = _get(user_id)
    now = timezone.now()
    user.deactivated_at = user.deactivated_at or now
    user.updated_at = now
    user.save(update_fields=["deactivated_at", "updated_at"])
    if mark_messages_deleted:
        _mark_messages_deleted([user.id], now)
    events.disconnect_users([user.id], _DEACTIVATED)
    return user


@transaction.atomic
def user_reactivate(*, user_id: str, restore_messages: bool = False, name: str | None = None) -> ChatUser:
    user = _get(user_id)
    if user.deleted_at is not None:
        raise input_error(f"user {user_id} was deleted and cannot be reactivated")
    now = timezone.now()
    user.deactivated_at = None
    if name:
        user.name = name
    user.updated_at = now
    user.save()
    if restore_messages:
        Message.objects.filter(user=user, type=MessageType.DELETED).update(
            type=MessageType.REGULAR, deleted_at=None, updated_at=now
        )
    return user


def _ids(user_ids: Any) -> list[str]:
    if not isinstance(user_ids, list) or not user_ids:
        raise input_error("user_ids must be a non-empty list")
    if len(user_ids) > BATCH_LIMIT:
        raise input_error(f"at most {BATCH_LIMIT} user ids per request")
    return [validate_user_id(user_id) for user_id in dict.fromkeys(user_ids)]


def _task(kind: str, result: dict[str, Any]) -> Task:
    return Task.objects.create(kind=kind, status=TaskStatus.COMPLETED, result=result)


@transaction.atomic
def users_deactivate(*, user_ids: Any, mark_messages_deleted: bool = False) -> Task:
    ids = _ids(user_ids)
    now = timezone.now()
    ChatUser.objects.filter(id__in=ids, deactivated_at__isnull=True).update(
        deactivated_at=now, updated_at=now
    )
    if mark_messages_deleted:
        _mark_messages_deleted(ids, now)
    events.disconnect_users(ids, _DEACTIVATED)
    return _task("deactivate-users", {"deactivated": ids})


@transaction.atomic
def users_reactivate(*, user_ids: Any, restore_messages: bool = False) -> Task:
    ids = _ids(user_ids)
    for user_id in ChatUser.objects.filter(id__in=ids).values_list("id", flat=True):
        user_reactivate(user_id=user_id, restore_messages=restore_messages)
    return _task("reactivate-users", {"reactivated": ids})


DELETE_MODES = ("soft", "pruning", "hard")


@transaction.atomic
def users_delete(
    *, user_ids: Any, user: str = "soft", messages: str | None = None, conversations: str | None = None
) -> Task:
    """Delete users. ``hard`` removes the user and everything it owns, and
    keeps its id (``DeletedUser``); ``soft``/``pruning`` keep the row,
    deactivated and marked deleted (``pruning`` also forgets the profile).
    Either way the user's tokens are refused from then on.
    ``messages`` soft-deletes or removes its messages; ``conversations`` removes
    the distinct (one-to-one style) channels it was in.

    Stream runs this as a background task; here it completes before the task is
    reported, so ``GET /tasks/{id}`` already says ``completed``.
    """
    ids = _ids(user_ids)
    for name, mode in (("user", user), ("messages", messages), ("conversations", conversations)):
        if mode is not None and mode not in DELETE_MODES:
            raise input_error(f"{name} must be one of {', '.join(DELETE_MODES)}")
    now = timezone.now()
    if conversations in ("soft", "hard"):
        distinct = Member.objects.filter(user_id__in=ids, channel__channel_id__startswith="!members-")
        Channel.objects.filter(cid__in=distinct.values("channel_id")).delete()
    if messages == "hard" or user == "hard":
        Message.objects.filter(user_id__in=ids).delete()
    elif messages in ("soft", "pruning"):
        _mark_messages_deleted(ids, now)
    touched = list(Member.objects.filter(user_id__in=ids).values_list("channel_id", flat=True).distinct())
    if user == "hard":
        existing = list(ChatUser.objects.filter(id__in=ids).values_list("id", flat=True))
        ChatUser.objects.filter(id__in=existing).delete()
        # The row is gone, not the tokens signed for it: remember the id.
        DeletedUser.objects.filter(id__in=existing).delete()
        DeletedUser.objects.bulk_create([DeletedUser(id=user_id, deleted_at=now) for user_id in existing])
    else:
        live = ChatUser.objects.filter(id__in=ids, deleted_at__isnull=True)
        if user == "pruning":
            live.update(name="", image="", language="", custom={})
        live.update(deactivated_at=now, deleted_at=now, updated_at=now)
        Member.objects.filter(user_id__in=ids).delete()
    channels_recount(touched)
    events.disconnect_users(ids, StreamError(Code.AUTH, "the user was deleted", status=401))
    return _task("delete-users", {"deleted": ids, "user": user, "messages": messages or ""})
