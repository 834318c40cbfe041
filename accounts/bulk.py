"""Writes of users in bulk, for imports of any size.

The rows go in with the set-based helpers of ``chatplatform.db`` (``COPY`` on
PostgreSQL), which fire no model signals: each service here sends
``users_bulk_changed`` itself, inside the transaction of the write, so the
chat service hears of every user created or changed, and only of those.

Preconditions, as for every bulk service: the caller has checked the rows
(valid values, free emails, a tenant that keeps an active admin) and holds the
transaction; a constraint the database still finds violated raises
``IntegrityError`` and the caller's transaction must roll back.
"""

from __future__ import annotations

import base64
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from uuid import UUID

from django.db import transaction

from accounts.models import User
from accounts.signals import users_bulk_changed
from accounts.tokens import refresh_tokens_revoke
from chatplatform.db import rows_insert, rows_update

# Random values for many rows come from the system's random source a block at a
# time: a call per value costs an import of 100,000 users a third of a second.
_RANDOM_BLOCK = 1024

# The version (4) and variant (RFC 4122) bits of a random UUID.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)

_INSERTED_COLUMNS = ("id", "tenant", "email", "full_name", "role", "is_active", "password")
# What a bulk update may change; every other field keeps its own rules (services.py).
UPDATABLE_FIELDS = ("full_name", "role", "is_active")


def unusable_password() -> str:
    """An unusable password (Django's ``!`` prefix): nobody can log in with it."""
    return "!" + secrets.token_urlsafe(30)


def unusable_passwords() -> Iterator[str]:
    """Passwords as ``unusable_password()`` makes them (30 random bytes, URL-safe), in bulk."""
    while True:
        text = base64.urlsafe_b64encode(secrets.token_bytes(30 * _RANDOM_BLOCK)).decode()
        for start in range(0, len(text), 40):
            yield "!" + text[start : start + 40]


def random_ids() -> Iterator[UUID]:
    """Random (version 4) UUIDs, as ``uuid.uuid4()`` makes them, in bulk."""
    while True:
        block = secrets.token_bytes(16 * _RANDOM_BLOCK)
        for start in range(0, len(block), 16):
            yield UUID(int=int.from_bytes(block[start : start + 16]) & _UUID4_CLEAR | _UUID4_SET)


@dataclass(slots=True)
class NewUser:
    """A user to create in bulk, as a set-password link needs it too."""

    pk: UUID
    tenant_id: UUID
    email: str
    full_name: str
    role: str
    is_active: bool = True
    # Unusable (Django's "!" prefix): nobody logs in until a password is set.
    # Kept here because the set-password link is signed over it.
    password: str = field(default_factory=unusable_password)


@dataclass(frozen=True, slots=True)
class UserUpdate:
    """The new values of an existing user's updatable fields."""

    pk: UUID
    tenant_id: UUID
    full_name: str
    role: str
    is_active: bool


def _announce(users: Iterable[NewUser | UserUpdate]) -> None:
    by_tenant: dict[UUID, list[UUID]] = defaultdict(list)
    for user in users:
        by_tenant[user.tenant_id].append(user.pk)
    for tenant_id, user_ids in by_tenant.items():
        users_bulk_changed.send(sender=User, tenant_id=tenant_id, user_ids=user_ids)


@transaction.atomic
def users_bulk_create(*, users: Sequence[NewUser], now: datetime) -> None:
    """Create ``users`` (normalized, unused emails) and queue them for the chat service.

    In email order: the email indexes then grow in order, which on PostgreSQL
    makes the load a quarter faster than in the caller's order.
    """
    rows_insert(
        User,
        _INSERTED_COLUMNS,
        (
            (user.pk, user.tenant_id, user.email, user.full_name, user.role, user.is_active, user.password)
            for user in sorted(users, key=attrgetter("email"))
        ),
        constants={"is_staff": False, "is_superuser": False, "created_at": now, "updated_at": now},
    )
    _announce(users)


@transaction.atomic
def users_bulk_update(
    *, updates: Sequence[UserUpdate], fields: Sequence[str] = UPDATABLE_FIELDS, now: datetime
) -> None:
    """Write ``fields`` (some of ``UPDATABLE_FIELDS``) of each update and queue
    the users for the chat service; other fields keep what the database has.

    A deactivation ends the account's sessions, as one through the API does
    (the sync worker revokes its chat tokens).
    """
    unknown = set(fields) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"users_bulk_update cannot change {', '.join(sorted(unknown))}.")
    if not updates:
        return
    values = attrgetter(*fields)
    single = len(fields) == 1
    rows_update(
        User,
        "id",
        list(fields),
        [(update.pk, values(update)) if single else (update.pk, *values(update)) for update in updates],
        constants={"updated_at": now},
    )
    if "is_active" in fields:
        refresh_tokens_revoke(user_ids=[update.pk for update in updates if not update.is_active])
    _announce(updates)
