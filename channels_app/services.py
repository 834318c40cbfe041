"""Writes to channels and memberships. Callers authorize first; these keep the
invariants: slugs unique per tenant, members only from the channel's tenant,
and a direct conversation's members fixed (one per set of people)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import UserRow, user_rows_in_tenant, users_in_tenant
from audit.services import audit_changes, audit_object
from channels_app.models import (
    CHANNEL_SLUG_MAX_LENGTH,
    DIRECT_MAX_OTHERS,
    Channel,
    ChannelKind,
    ChannelRole,
    ChannelVisibility,
    Membership,
    direct_key_for,
)
from channels_app.selectors import MemberRow
from channels_app.signals import channel_members_changed
from chatplatform.db import array_parameter, column_field, values_in
from chatplatform.errors import ApplicationError, ConflictError
from chatplatform.models import max_length_of
from chatplatform.slugs import slug_from_name
from chatplatform.validators import name_checked
from tenants.models import SLUG_PATTERN, Tenant, slug_validator
from tenants.scoping import Actor

UPDATABLE_FIELDS = frozenset({"name", "description", "visibility"})
CHANNEL_NAME_MAX_LENGTH = max_length_of(Channel, "name")
FIXED_MEMBERS = (
    "A direct conversation has fixed members: start another conversation with the people you want."
)


def _slug_taken_error(slug: str) -> ApplicationError:
    return ApplicationError(
        f"The slug {slug!r} is taken.",
        code="slug_taken",
        fields={"slug": ["A channel with this slug already exists in this tenant."]},
    )


def _refuse_missing(missing: list[UUID], *, field: str) -> None:
    if missing:
        bad = [str(uid) for uid in missing]
        raise ApplicationError(
            f"Unknown users: {', '.join(bad)}.",
            code="invalid_user_ids",
            fields={field: [f"No such user in this tenant: {uid}" for uid in bad]},
        )


def _tenant_users(tenant: Tenant, user_ids: Iterable[UUID], *, field: str) -> list[User]:
    """The users behind ``user_ids``, all of ``tenant``; else a 400 naming every bad id."""
    users, missing = users_in_tenant(tenant_id=tenant.pk, user_ids=list(dict.fromkeys(user_ids)))
    _refuse_missing(missing, field=field)
    return users


def _tenant_user_rows(tenant_id: UUID, user_ids: Iterable[UUID], *, field: str) -> list[UserRow]:
    """:func:`_tenant_users` for bulk writes: rows, not model instances."""
    rows, missing = user_rows_in_tenant(tenant_id=tenant_id, user_ids=list(user_ids))
    _refuse_missing(missing, field=field)
    return rows


def creator_joins(creator: Actor, tenant: Tenant) -> bool:
    """Whether the creator of a channel of ``tenant`` becomes its first member:
    a user of that tenant does; platform staff, who belong to none, do not."""
    return creator.tenant_id == tenant.pk


@transaction.atomic
def channel_create(
    *,
    tenant: Tenant,
    name: str,
    slug: str | None = None,
    description: str = "",
    visibility: str = ChannelVisibility.PUBLIC,
    created_by: User | None = None,
    member_ids: Iterable[UUID] = (),
) -> Channel:
    """Create a channel with its first members. The creator, when a user of the
    tenant, joins as a channel moderator. Nothing is created if any member id
    is not a user of ``tenant``.

    The channel returned is as stored, ``member_count`` included (the triggers
    counted the rows written here), so it can be shown without reading it back.
    """
    name = name_checked(name)
    if not name:
        raise ApplicationError("A channel needs a name.", fields={"name": ["This field may not be blank."]})
    members = _tenant_user_rows(tenant.pk, member_ids, field="member_ids")

    def taken(candidate: str) -> bool:
        return Channel.objects.filter(tenant=tenant, slug=candidate).exists()

    if slug:
        if not SLUG_PATTERN.match(slug) or len(slug) > CHANNEL_SLUG_MAX_LENGTH:
            raise ApplicationError(
                "Invalid slug.", code="invalid_slug", fields={"slug": [str(slug_validator.message)]}
            )
        if taken(slug):
            raise _slug_taken_error(slug)
    else:
        slug = slug_from_name(name, max_length=CHANNEL_SLUG_MAX_LENGTH, taken=taken)
    try:
        # No savepoint of its own: a slug taken since the check fails the whole
        # create, and this function's transaction (or savepoint) rolls it back.
        channel = Channel.objects.create(
            tenant=tenant,
            name=name,
            slug=slug,
            description=description,
            visibility=ChannelVisibility(visibility),
            created_by=created_by,
        )
    except IntegrityError as exc:
        raise _slug_taken_error(slug) from exc

    roles = {user.id: ChannelRole.MEMBER for user in members}
    if created_by is not None and creator_joins(created_by, tenant):
        roles[created_by.pk] = ChannelRole.MODERATOR
    channel.member_count = len(_memberships_write(channel, roles, new_channel=True).rows)
    audit_object(
        channel,
        "channel.created",
        {**audit_changes({}, _audited_fields(channel)), "members": [None, len(roles)]},
    )
    return channel


def _refuse_direct(channel: Channel, message: str) -> None:
    if channel.is_direct:
        raise ConflictError(message, code="direct_channel")


def _direct_name(users: Iterable[User]) -> str:
    """Who is in the conversation, for lists and the admin; the chat UI shows each
    viewer the others' names instead."""
    name = ", ".join(sorted(user.full_name or user.email.split("@")[0] for user in users))
    return name if len(name) <= CHANNEL_NAME_MAX_LENGTH else f"{name[: CHANNEL_NAME_MAX_LENGTH - 1]}…"


@transaction.atomic
def channel_direct_start(*, creator: User, user_ids: Iterable[UUID]) -> tuple[Channel, bool]:
    """The direct conversation of ``creator`` with the users behind ``user_ids``:
    the one that exists for exactly these people (``created`` False), else a new one.

    Preconditions: ``creator`` is an active user of a tenant (not platform staff).
    ``user_ids`` name the others: the creator's own id and repeats are ignored.
    There must be 1 to ``DIRECT_MAX_OTHERS`` of them, every one an active user of
    the creator's tenant, else a 400 names the bad ids and nothing is written.

    A new conversation is private, named after its members, and everyone in it
    (the creator too) is a plain member; its members never change. Two
    concurrent starts with the same people end with one conversation: the
    unique index on (tenant, direct_key) lets one insert win, and the other
    start returns the winner's row.
    """
    tenant = creator.tenant
    if tenant is None:
        raise ValueError("Platform staff have no direct conversations.")
    members = [creator, *_direct_others(tenant, creator, user_ids)]
    key = direct_key_for(user.pk for user in members)
    conversations = Channel.objects.direct().filter(tenant=tenant, direct_key=key)
    existing = conversations.first()
    if existing is not None:
        return existing, False
    try:
        channel = _direct_insert(tenant, creator, members, key)
    except IntegrityError:
        existing = conversations.first()  # a concurrent start with the same people won
        if existing is None:
            raise
        return existing, False
    _memberships_write(
        channel, dict.fromkeys((user.pk for user in members), ChannelRole.MEMBER), new_channel=True
    )
    audit_object(
        channel,
        "channel.created",
        {
            **audit_changes({}, _audited_fields(channel)),
            "kind": [None, ChannelKind.DIRECT.value],
            "members": [None, len(members)],
        },
    )
    return channel, True


def _direct_others(tenant: Tenant, creator: User, user_ids: Iterable[UUID]) -> list[User]:
    """The others a direct conversation is with: 1 to ``DIRECT_MAX_OTHERS`` active
    users of ``tenant``, the creator and repeats left out; else a 400 naming the bad ids."""
    others = [user_id for user_id in dict.fromkeys(user_ids) if user_id != creator.pk]
    if not 1 <= len(others) <= DIRECT_MAX_OTHERS:
        raise ApplicationError(
            f"A direct conversation is with 1 to {DIRECT_MAX_OTHERS} other people.",
            code="invalid_user_ids",
            fields={"user_ids": [f"Name 1 to {DIRECT_MAX_OTHERS} colleagues other than yourself."]},
        )
    users = _tenant_users(tenant, others, field="user_ids")
    inactive = sorted(str(user.pk) for user in users if not user.is_active)
    if inactive:
        raise ApplicationError(
            f"Deactivated users: {', '.join(inactive)}.",
            code="inactive_users",
            fields={"user_ids": [f"This user is deactivated: {user_id}" for user_id in inactive]},
        )
    return users


def _direct_insert(tenant: Tenant, creator: User, members: list[User], key: str) -> Channel:
    """Insert the conversation's row in a savepoint: an ``IntegrityError`` means a
    concurrent start with the same people inserted theirs first."""

    def taken(candidate: str) -> bool:
        return Channel.objects.filter(tenant=tenant, slug=candidate).exists()

    slug = slug_from_name(f"dm-{key[:16]}", max_length=CHANNEL_SLUG_MAX_LENGTH, taken=taken)
    with transaction.atomic():
        return Channel.objects.create(
            tenant=tenant,
            kind=ChannelKind.DIRECT,
            direct_key=key,
            name=_direct_name(members),
            slug=slug,
            visibility=ChannelVisibility.PRIVATE,
            created_by=creator,
        )


def _audited_fields(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "slug": channel.slug,
        "description": channel.description,
        "visibility": channel.visibility,
    }


@transaction.atomic
def channel_update(*, channel: Channel, data: dict[str, Any]) -> Channel:
    """Change an ordinary channel's name, description or visibility. A direct
    conversation keeps the name its members give it and stays private (409)."""
    unknown = set(data) - UPDATABLE_FIELDS
    if unknown:
        raise ApplicationError(f"Cannot update {', '.join(sorted(unknown))}.")
    _refuse_direct(channel, "A direct conversation cannot be renamed, described or made public.")
    before = _audited_fields(channel)
    if "name" in data:
        name = name_checked(data["name"])
        if not name:
            raise ApplicationError(
                "A channel needs a name.", fields={"name": ["This field may not be blank."]}
            )
        channel.name = name
    if "description" in data:
        channel.description = data["description"]
    if "visibility" in data:
        channel.visibility = ChannelVisibility(data["visibility"])
    channel.save()
    changes = audit_changes(before, _audited_fields(channel))
    if changes:
        audit_object(channel, "channel.updated", changes)
    return channel


@transaction.atomic
def channel_delete(*, channel: Channel) -> None:
    audit_object(
        channel,
        "channel.deleted",
        audit_changes(_audited_fields(channel), dict.fromkeys(_audited_fields(channel))),
    )
    channel.delete()


@transaction.atomic
def channel_members_add(
    *, channel: Channel, user_ids: Iterable[UUID], role: str = ChannelRole.MEMBER
) -> list[MemberRow]:
    """Add users (all of the channel's tenant, else nobody is added) with ``role``;
    existing members take the new role. Returns the memberships of those users,
    in the order of ``user_ids``. A direct conversation's members are fixed (409).

    A fixed number of statements whatever the number of users, none of them
    building a model instance per row. Concurrent adds to one channel queue on
    the channel's row, so each answers as it would alone (no duplicate insert)."""
    _refuse_direct(channel, FIXED_MEMBERS)
    users = _tenant_user_rows(channel.tenant_id, user_ids, field="user_ids")
    written = _memberships_write(channel, dict.fromkeys((user.id for user in users), ChannelRole(role)))
    if written.touched:
        audit_object(
            channel,
            "channel.members_added",
            {"members": [None, sorted(map(str, written.touched))], "role": [None, role]},
        )
    return [MemberRow(user, *written.rows[user.id]) for user in users]


@transaction.atomic
def channel_join(*, channel: Channel, user: User) -> tuple[Membership, bool]:
    """A user joins a public channel of its tenant. Returns (membership, created)."""
    _refuse_direct(channel, FIXED_MEMBERS)
    if channel.visibility != ChannelVisibility.PUBLIC:
        raise ApplicationError(
            "Private channels can only be joined by invitation.", code="channel_private", status_code=403
        )
    if user.tenant_id != channel.tenant_id:
        raise ApplicationError("You cannot join this channel.", code="permission_denied", status_code=403)
    _lock_members(channel)
    existing = Membership.objects.filter(channel=channel, user=user).first()
    if existing is not None:
        return existing, False
    membership = Membership.objects.create(channel=channel, user=user, role=ChannelRole.MEMBER)
    audit_object(channel, "channel.member_joined", {"member": [None, str(user.pk)]})
    return membership, True


@transaction.atomic
def channel_member_remove(*, channel: Channel, user: User) -> None:
    """Remove ``user`` from the channel; a user who is not a member is not found.
    Nobody leaves a direct conversation or is removed from it (409)."""
    _refuse_direct(channel, FIXED_MEMBERS)
    deleted, _ = Membership.objects.filter(channel=channel, user=user).delete()
    if not deleted:
        raise ApplicationError("Not found.", code="not_found", status_code=404)
    audit_object(channel, "channel.member_removed", {"member": [str(user.pk), None]})


class _Written(NamedTuple):
    touched: list[UUID]  # users whose membership was created or changed role
    rows: dict[UUID, tuple[str, datetime, datetime]]  # user -> (role, created_at, updated_at)


def _lock_members(channel: Channel) -> None:
    """Hold the channel's row until the transaction ends, so membership writes to
    one channel run one after the other: each reads the members the previous one
    committed, and two adds of one user cannot both insert it."""
    list(Channel.objects.select_for_update().filter(pk=channel.pk).order_by().values_list("pk", flat=True))


def _memberships_insert(
    channel: Channel, roles: dict[UUID, ChannelRole], now: datetime
) -> dict[UUID, tuple[str, datetime, datetime]]:
    """New memberships of ``channel``: the role and times of each as stored.
    On PostgreSQL one statement, created at ``now``, whose ids and roles travel
    as two array parameters (the ORM's bulk insert prepared and quoted five
    values per row: a quarter of the CPU of adding 100 members)."""
    if not roles:
        return {}
    if connection.vendor != "postgresql":
        added = Membership.objects.bulk_create(
            Membership(channel_id=channel.pk, user_id=user_id, role=role) for user_id, role in roles.items()
        )
        return {m.user_id: (m.role, m.created_at, m.updated_at) for m in added}
    quote = connection.ops.quote_name
    table = quote(Membership._meta.db_table)
    columns = ", ".join(
        quote(column_field(Membership, name).column)
        for name in ("created_at", "updated_at", "channel", "user", "role")
    )
    users_sql, users = array_parameter(list(roles), "uuid[]")
    roles_sql, role_names = array_parameter([str(role) for role in roles.values()], "varchar[]")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT %s, %s, %s, m.user_id, m.role"  # noqa: S608
            f" FROM unnest({users_sql}, {roles_sql}) AS m(user_id, role)",
            [now, now, channel.pk, users, role_names],
        )
    return {user_id: (role, now, now) for user_id, role in roles.items()}


def _memberships_write(
    channel: Channel, roles: dict[UUID, ChannelRole], *, new_channel: bool = False
) -> _Written:
    """Create or update memberships in bulk and announce the change.

    ``new_channel``: the channel was created in this transaction, so nobody else
    sees it and it has no members yet: no lock, nothing to read first.
    """
    if not roles:
        return _Written([], {})
    existing: dict[UUID, tuple[str, datetime, datetime]] = {}
    if not new_channel:
        _lock_members(channel)
        existing = {
            user_id: (member_role, created_at, updated_at)
            for user_id, member_role, created_at, updated_at in values_in(
                Membership.objects.filter(channel=channel).order_by(),
                "user",
                roles,
                "user_id",
                "role",
                "created_at",
                "updated_at",
            )
        }
    now = timezone.now()
    changed: dict[str, list[UUID]] = {}
    for user_id, (member_role, _, _) in existing.items():
        if member_role != roles[user_id]:
            changed.setdefault(roles[user_id], []).append(user_id)
    for new_role, user_ids in changed.items():
        Membership.objects.filter(channel=channel, user_id__in=user_ids).update(role=new_role, updated_at=now)
    new = _memberships_insert(
        channel, {user_id: role for user_id, role in roles.items() if user_id not in existing}, now
    )
    rows: dict[UUID, tuple[str, datetime, datetime]] = {
        user_id: (roles[user_id], created_at, now if roles[user_id] != member_role else updated_at)
        for user_id, (member_role, created_at, updated_at) in existing.items()
    }
    rows.update(new)
    touched = [user_id for user_ids in changed.values() for user_id in user_ids] + list(new)
    if touched:
        channel_members_changed.send(sender=Channel, channel=channel, user_ids=touched)
    return _Written(touched, rows)
