"""Writes to chat users' profiles: validation of ids and fields, upsert (full
replace), partial update, the team index kept beside them, and the user a
client token names (created on first use when the app allows it).
Deactivating, reactivating and deleting users is ``services.user_removal``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from chatengine import events, sendpath
from chatengine.errors import Code, StreamError, input_error
from chatengine.filters import parse_date
from chatengine.models import ID_MAX_LENGTH, TEAM_MAX_LENGTH, ChatUser, DeletedUser, Member, UserTeam, Watch
from chatengine.serializers import user_payload
from chatengine.services.app import app_get, role_exists
from chatengine.services.connections import users_updated, watches_recheck

USER_ID = re.compile(r"^[\w@.\-]+$")
MAX_TEAMS = 250
BATCH_LIMIT = 100
# Fields with a column of their own; every other key is custom data.
RESERVED_FIELDS = frozenset(
    {
        "id",
        "role",
        "teams",
        "teams_role",
        "name",
        "image",
        "language",
        "invisible",
        "banned",
        "revoke_tokens_issued_before",
        "created_at",
        "updated_at",
        "last_active",
        "online",
        "deactivated_at",
        "deleted_at",
        "shadow_banned",
        "blocked_user_ids",
        "devices",
        "mutes",
        "channel_mutes",
        "total_unread_count",
        "unread_count",
        "unread_channels",
        "unread_threads",
        "custom",
        "privacy_settings",
        "push_notifications",
    }
)
# What a user may change about itself from a client: never its role or teams.
CLIENT_WRITABLE = frozenset({"name", "image", "language", "invisible"})


def validate_user_id(user_id: Any) -> str:
    if (
        not isinstance(user_id, str)
        or not user_id
        or len(user_id) > ID_MAX_LENGTH
        or not USER_ID.match(user_id)
    ):
        raise input_error(f"user id {user_id!r} is invalid: use letters, digits and @ _ - . (at most 255)")
    return user_id


def _teams(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise input_error("teams must be a list of team names")
    if len(value) > MAX_TEAMS or any(len(t) > TEAM_MAX_LENGTH for t in value):
        raise input_error(f"at most {MAX_TEAMS} teams of at most {TEAM_MAX_LENGTH} characters")
    return list(dict.fromkeys(value))


def _teams_role(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(r, str) for r in value.values()):
        raise input_error("teams_role must be an object of team: role")
    for role in set(value.values()):
        if not role_exists(role):
            raise input_error(f"role {role} does not exist")
    return dict(value)


def _role(value: Any) -> str:
    if not isinstance(value, str) or not role_exists(value):
        raise input_error(f"role {value!r} does not exist")
    return value


def _apply(user: ChatUser, key: str, value: Any) -> None:
    """Set one field of ``user`` from Stream's user shape, validating it."""
    if key == "role":
        user.role = _role(value)
    elif key == "teams":
        user.teams = _teams(value)
    elif key == "teams_role":
        user.teams_role = _teams_role(value)
    elif key in ("name", "image", "language"):
        if value is not None and not isinstance(value, str):
            raise input_error(f"{key} must be a string")
        setattr(user, key, value or "")
    elif key == "invisible":
        if not isinstance(value, bool):
            raise input_error(f"{key} must be true or false")
        setattr(user, key, value)
    elif key == "revoke_tokens_issued_before":
        user.revoke_tokens_issued_before = None if value in (None, "") else parse_date(key, value)
    elif key in RESERVED_FIELDS:
        return  # read-only in Stream's API
    else:
        user.custom = {**user.custom, key: value}


def _unset(user: ChatUser, key: str) -> None:
    defaults: dict[str, Any] = {
        "role": "user",
        "teams": [],
        "teams_role": {},
        "name": "",
        "image": "",
        "language": "",
        "invisible": False,
        "revoke_tokens_issued_before": None,
    }
    if key in defaults:
        setattr(user, key, defaults[key])
    elif key not in RESERVED_FIELDS:
        user.custom = {k: v for k, v in user.custom.items() if k != key}


def _sync_team_index(users: Iterable[ChatUser]) -> None:
    users = list(users)
    UserTeam.objects.filter(user__in=users).delete()
    UserTeam.objects.bulk_create([UserTeam(user=user, team=team) for user in users for team in user.teams])


def _deleted_ids(user_ids: list[str]) -> dict[str, datetime]:
    if not user_ids:
        return {}
    return dict(DeletedUser.objects.filter(id__in=user_ids).values_list("id", "deleted_at"))


def _check_teams_keep_channels(users: Iterable[ChatUser]) -> None:
    """With multi-tenancy on, a member keeps the team of each of its channels:
    a user moved out of a team would stay a member of that team's channels,
    next to the team's people (invariant 5). Remove it from them first."""
    if not app_get().multi_tenant_enabled:
        return
    teams = {user.id: set(user.teams) for user in users}
    stranded: dict[str, list[str]] = {}
    for user_id, cid, team in Member.objects.filter(user_id__in=teams).values_list(
        "user_id", "channel_id", "channel__team"
    ):
        if team not in teams[user_id]:
            stranded.setdefault(user_id, []).append(cid)
    if stranded:
        detail = "; ".join(f"{uid} in {', '.join(sorted(cids))}" for uid, cids in sorted(stranded.items()))
        raise input_error(
            "with multi-tenancy on, a member must stay in the team of its channels "
            f"(remove it from them first): {detail}"
        )


def _disconnect_revoked(users: Iterable[ChatUser], before: dict[str, datetime | None]) -> None:
    """Users whose token cutoff moved forward lose their sockets (opened with
    tokens that may now be revoked; a new token connects again)."""
    moved = []
    for user in users:
        cutoff, previous = user.revoke_tokens_issued_before, before.get(user.id)
        if cutoff is not None and (previous is None or cutoff > previous):
            moved.append(user.id)
    events.disconnect_users(moved, StreamError(Code.TOKEN_EXPIRED, "JWTAuth error: token has been revoked"))


def _standing(user: ChatUser) -> tuple[Any, ...]:
    """What decides which channels a user may read."""
    return user.role, sorted(user.teams or []), dict(user.teams_role or {})


def _recheck_watches(users: Iterable[ChatUser], before: dict[str, tuple[Any, ...]]) -> None:
    """Users whose role or teams changed stop watching what they may no longer read."""
    changed = [user.id for user in users if user.id in before and _standing(user) != before[user.id]]
    if changed:
        watches_recheck(Watch.objects.filter(connection__user_id__in=changed))


def _shown(user: ChatUser) -> dict[str, Any]:
    """What clients see of a user, but the time of the save itself."""
    shown = user_payload(user)
    shown.pop("updated_at", None)
    return shown


def _check_batch(size: int) -> None:
    if size == 0:
        raise input_error("users must not be empty")
    if size > BATCH_LIMIT:
        raise input_error(f"at most {BATCH_LIMIT} users per request")


@transaction.atomic
def users_upsert(*, users: list[dict[str, Any]], client_side: bool = False) -> list[ChatUser]:
    """Create or fully replace each user: fields left out go back to their defaults.

    The whole batch fails on the first invalid user, as in Stream. From a client
    (``client_side``) only the caller's own profile fields change; role and teams
    stay as the server set them.
    """
    _check_batch(len(users))
    by_id = {validate_user_id(data.get("id")): data for data in users}
    existing = {user.id: user for user in ChatUser.objects.select_for_update().filter(id__in=by_id)}
    before = {user.id: _shown(user) for user in existing.values()}
    standing = {user.id: _standing(user) for user in existing.values()}
    revoked = {user.id: user.revoke_tokens_issued_before for user in existing.values()}
    deleted = _deleted_ids([user_id for user_id in by_id if user_id not in existing])
    now = timezone.now()
    saved: list[ChatUser] = []
    for user_id, data in by_id.items():
        user = existing.get(user_id) or ChatUser(id=user_id, created_at=now)
        if client_side:
            fields = {key: value for key, value in data.items() if key in CLIENT_WRITABLE}
        else:
            # Full replace: start from defaults, keeping only what Stream keeps.
            user.role, user.teams, user.teams_role = "user", [], {}
            user.name = user.image = user.language = ""
            user.custom, user.invisible = {}, False
            fields = data
        for key, value in fields.items():
            _apply(user, key, value)
        if user_id in deleted:
            # The id of a hard-deleted user, created again: the tokens signed
            # for the old user stay refused.
            cutoff = user.revoke_tokens_issued_before
            user.revoke_tokens_issued_before = max(cutoff, deleted[user_id]) if cutoff else deleted[user_id]
        user.updated_at = now
        user.save()
        saved.append(user)
    DeletedUser.objects.filter(id__in=deleted).delete()
    _check_teams_keep_channels(saved)
    _sync_team_index(saved)
    users_updated([user for user in saved if user.id in before and _shown(user) != before[user.id]])
    _recheck_watches(saved, standing)
    _disconnect_revoked(saved, revoked)
    return saved


@transaction.atomic
def users_update_partial(*, updates: list[dict[str, Any]]) -> list[ChatUser]:
    _check_batch(len(updates))
    ids = [validate_user_id(update.get("id") if isinstance(update, dict) else None) for update in updates]
    users = {user.id: user for user in ChatUser.objects.select_for_update().filter(id__in=ids)}
    missing = [user_id for user_id in ids if user_id not in users]
    if missing:
        raise input_error(f"users do not exist: {', '.join(missing)}")
    before = {user.id: _shown(user) for user in users.values()}
    standing = {user.id: _standing(user) for user in users.values()}
    revoked = {user.id: user.revoke_tokens_issued_before for user in users.values()}
    now = timezone.now()
    for update in updates:
        user = users[update["id"]]
        to_set, to_unset = update.get("set") or {}, update.get("unset") or []
        if not isinstance(to_set, dict) or not isinstance(to_unset, list):
            raise input_error("set must be an object and unset a list of field names")
        for key, value in to_set.items():
            _apply(user, key, value)
        for key in to_unset:
            _unset(user, key)
        user.updated_at = now
        user.save()
    _check_teams_keep_channels(users.values())
    _sync_team_index(users.values())
    users_updated([user for user in users.values() if _shown(user) != before[user.id]])
    _recheck_watches(users.values(), standing)
    _disconnect_revoked(users.values(), revoked)
    return [users[user_id] for user_id in dict.fromkeys(ids)]


def user_for_client(*, user_id: str, multi_tenant: bool, name: str = "", image: str = "") -> ChatUser:
    """The user a client token names. An existing user is never changed: the
    server owns its profile, role and teams.

    A missing user is created with only a profile (a client connecting before
    the server created it, as Stream does) unless multi-tenancy is on: then
    users come from the server only, since a user a client made would have no
    team. A deleted user is never brought back: its tokens stay refused.

    Every client call comes through here: the common case is a plain read, so
    that it takes no write lock (SQLite's transactions here are IMMEDIATE).
    """
    validate_user_id(user_id)
    user = sendpath.user_get(user_id)
    if user is not None:
        return user
    if DeletedUser.objects.filter(id=user_id).exists():
        raise user_deleted_error(user_id)
    if multi_tenant:
        raise StreamError(
            Code.AUTH,
            f"user '{user_id}' does not exist: with multi-tenancy on, users are created server-side",
            status=401,
        )
    now = timezone.now()
    with transaction.atomic():
        user, _ = ChatUser.objects.get_or_create(
            id=user_id,
            defaults={"name": name or "", "image": image or "", "created_at": now, "updated_at": now},
        )
    return user


def user_deleted_error(user_id: str) -> StreamError:
    return StreamError(Code.AUTH, f"user '{user_id}' was deleted: its tokens are no longer valid", status=401)
