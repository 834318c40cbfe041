"""The users importer: a tenant's users and their channels, keyed by email."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from django.utils import timezone

from accounts.bulk import (
    NewUser,
    UserUpdate,
    random_ids,
    unusable_passwords,
    users_bulk_create,
    users_bulk_update,
)
from accounts.models import User, is_active_admin
from channels_app.bulk import MembershipRoleChange, NewMembership, memberships_bulk_write
from channels_app.models import Channel, ChannelRole, Membership
from chatplatform.db import values_in
from chatplatform.models import max_length_of
from onboarding.imports.records import USERS, Record
from onboarding.imports.results import (
    PROGRESS_EVERY,
    ImportResult,
    RowResult,
    RowStatus,
    audit_import,
    changed_detail,
    duplicates,
    fail,
    finish,
    lock_tenant,
    parse_rows,
    plan_and_write,
)
from onboarding.imports.values import (
    channels_value,
    checked,
    choice_value,
    email_value,
    flag_value,
    name_value,
    required,
)
from onboarding.progress import Progress
from onboarding.set_password import set_password_links_issue
from tenants.models import Tenant
from tenants.roles import Role

FULL_NAME_MAX_LENGTH = max_length_of(User, "full_name")
# Enum ``.values`` builds a new list on every access: too slow per row.
ROLES = tuple(Role.values)


@dataclass(slots=True)
class UserRow:
    line: int
    email: str
    full_name: str | None
    role: Role | None
    channels: dict[str, ChannelRole | None] | None
    is_active: bool | None


_USER_CHECKS = (
    lambda values: required(email_value(values, "email"), "email"),
    lambda values: name_value(values, "full_name", FULL_NAME_MAX_LENGTH),
    lambda values: choice_value(values, "role", ROLES),
    channels_value,
    lambda values: flag_value(values, "is_active"),
)


def _parse_user(record: Record) -> UserRow:
    email, full_name, role, channels, is_active = checked(record.values, _USER_CHECKS)
    return UserRow(record.line, email, full_name, Role(role) if role else None, channels, is_active)


@dataclass(slots=True)
class ExistingUser:
    pk: UUID
    tenant_id: UUID | None
    full_name: str
    role: str
    is_active: bool


def existing_users(emails: Iterable[str]) -> dict[str, ExistingUser]:
    """The accounts (of any tenant) that have these emails, by email."""
    found = values_in(
        User.objects.all(), "email", emails, "email", "id", "tenant_id", "full_name", "role", "is_active"
    )
    return {email: ExistingUser(*rest) for email, *rest in found}


@dataclass(frozen=True, slots=True)
class _Membership:
    pk: int
    role: str


@dataclass(slots=True)
class _TenantState:
    """What the database holds for the rows of one import, read up front."""

    tenant_id: UUID
    users: dict[str, ExistingUser]
    # Direct conversations have fixed members: their slugs are unknown channels here.
    channel_ids: dict[str, UUID]
    memberships: dict[tuple[UUID, UUID], _Membership]
    active_admins: set[UUID]


def _tenant_state(tenant: Tenant, rows: dict[int, UserRow]) -> _TenantState:
    users = existing_users(row.email for row in rows.values())
    ours = [user.pk for user in users.values() if user.tenant_id == tenant.pk]
    found = values_in(
        Membership.objects.filter(channel__tenant=tenant),
        "user_id",
        ours,
        "id",
        "user_id",
        "channel_id",
        "role",
    )
    return _TenantState(
        tenant_id=tenant.pk,
        users=users,
        channel_ids=dict(Channel.objects.ordinary().filter(tenant=tenant).values_list("slug", "id")),
        memberships={(user_id, channel_id): _Membership(pk, role) for pk, user_id, channel_id, role in found},
        active_admins=set(User.objects.for_tenant(tenant).active_admins().values_list("pk", flat=True)),
    )


@dataclass(slots=True)
class _UserChange:
    """What one row changes for an existing user."""

    outcome: RowResult
    update: UserUpdate | None = None
    joins: list[NewMembership] = field(default_factory=list)
    role_changes: list[MembershipRoleChange] = field(default_factory=list)


@dataclass
class UserWrites:
    """What the good rows of a users import will write."""

    created: list[NewUser] = field(default_factory=list)
    updated: list[UserUpdate] = field(default_factory=list)
    joins: list[NewMembership] = field(default_factory=list)
    role_changes: list[MembershipRoleChange] = field(default_factory=list)

    def apply(self, change: _UserChange) -> None:
        if change.update is not None:
            self.updated.append(change.update)
        self.joins.extend(change.joins)
        self.role_changes.extend(change.role_changes)

    def size(self) -> int:
        return len(self.created) + len(self.updated) + len(self.joins) + len(self.role_changes)


def users_import(
    *,
    tenant: Tenant,
    records: Sequence[Record],
    dry_run: bool = False,
    issue_links: bool = True,
    progress: Progress | None = None,
) -> ImportResult:
    """Create or update ``tenant``'s users from ``records`` (see ``onboarding.imports``).

    New users get an unusable password and, with ``issue_links``, a
    set-password link in their row's result. Existing users of the tenant
    keep their password; a user of another tenant is never touched. Listed
    channels are joined (``slug:moderator`` sets the channel role); channels
    not listed are left alone.
    """
    progress = progress or Progress()
    result = ImportResult(kind="users", dry_run=dry_run)
    rows = parse_rows(records, USERS, _parse_user, result)
    for line, reason in duplicates([(row.line, row.email) for row in rows.values()], what="email").items():
        fail(result, line, rows.pop(line).email, reason)
    plan_and_write(
        lambda: _users_plan(tenant, rows, result, progress),
        lambda writes: _users_write(tenant, writes, result, issue_links=issue_links, progress=progress),
        dry_run=dry_run,
    )
    return finish(result)


def _row_problem(row: UserRow, user: ExistingUser | None, state: _TenantState) -> str:
    """Why the row cannot apply in this tenant at all, or ``""``."""
    problems = []
    if user is not None and user.tenant_id != state.tenant_id:
        problems.append("the email belongs to an account outside this tenant")
    unknown = [slug for slug in row.channels if slug not in state.channel_ids] if row.channels else []
    if unknown:
        listed = ", ".join(repr(slug) for slug in unknown)
        problems.append(f"unknown channel{'s' if len(unknown) > 1 else ''} {listed}")
    return "; ".join(problems)


def _user_change(row: UserRow, user: ExistingUser, state: _TenantState) -> _UserChange:
    """What ``row`` changes for ``user``: an empty value keeps what the database has."""
    update = UserUpdate(
        pk=user.pk,
        tenant_id=state.tenant_id,
        full_name=user.full_name if row.full_name is None else row.full_name,
        role=user.role if row.role is None else row.role,
        is_active=user.is_active if row.is_active is None else row.is_active,
    )
    changed = [
        name
        for name, old, new in (
            ("full_name", user.full_name, update.full_name),
            ("role", user.role, update.role),
            ("is_active", user.is_active, update.is_active),
        )
        if old != new
    ]
    change = _UserChange(RowResult(row.line, row.email, RowStatus.UNCHANGED), update if changed else None)
    for slug, channel_role in (row.channels or {}).items():
        channel_id = state.channel_ids[slug]
        membership = state.memberships.get((user.pk, channel_id))
        if membership is None:
            change.joins.append(NewMembership(channel_id, user.pk, channel_role or ChannelRole.MEMBER))
        elif channel_role is not None and membership.role != channel_role:
            change.role_changes.append(MembershipRoleChange(membership.pk, channel_id, user.pk, channel_role))
    if change.joins or change.role_changes:
        changed.append("channels")
    if changed:
        change.outcome = RowResult(row.line, row.email, RowStatus.UPDATED, changed_detail(changed))
    return change


def _users_plan(
    tenant: Tenant, rows: dict[int, UserRow], result: ImportResult, progress: Progress
) -> UserWrites:
    """Check every row against the database and decide what it changes.

    A tenant keeps an active admin: rows that demote or deactivate one wait
    until every row is seen, and fail together if no active admin would stay.
    """
    if not result.dry_run:
        lock_tenant(tenant)
    progress.start("checking", len(rows))
    state = _tenant_state(tenant, rows)
    writes = UserWrites()
    admins_after = set(state.active_admins)
    demotions: list[_UserChange] = []
    # The loop runs once per row: names it uses are bound locally.
    tenant_id, report = tenant.pk, result.rows.append
    new_id, new_password = random_ids().__next__, unusable_passwords().__next__
    for count, row in enumerate(rows.values(), start=1):
        if count % PROGRESS_EVERY == 0:
            progress.advance(PROGRESS_EVERY)
        user = state.users.get(row.email)
        if (row.channels or user is not None) and (problem := _row_problem(row, user, state)):
            fail(result, row.line, row.email, problem)
            continue
        if user is None:
            is_active = True if row.is_active is None else row.is_active
            role = row.role or Role.MEMBER
            new = NewUser(
                new_id(), tenant_id, row.email, row.full_name or "", role, is_active, new_password()
            )
            writes.created.append(new)
            for slug, channel_role in (row.channels or {}).items():
                writes.joins.append(
                    NewMembership(state.channel_ids[slug], new.pk, channel_role or ChannelRole.MEMBER)
                )
            if is_active_admin(role, is_active):
                admins_after.add(new.pk)
            report(RowResult(row.line, row.email, RowStatus.CREATED))
            continue
        change = _user_change(row, user, state)
        after = change.update or user
        if is_active_admin(after.role, after.is_active):
            admins_after.add(user.pk)
        elif user.pk in state.active_admins:
            admins_after.discard(user.pk)
            demotions.append(change)
            continue
        report(change.outcome)
        writes.apply(change)
    _settle_demotions(
        demotions, keeps_an_admin=bool(admins_after) or not state.active_admins, writes=writes, result=result
    )
    progress.finish()
    return writes


def _settle_demotions(
    demotions: list[_UserChange], *, keeps_an_admin: bool, writes: UserWrites, result: ImportResult
) -> None:
    """Apply the rows that demote or deactivate an active admin if the tenant
    keeps one; else the admins stay, and those rows all fail."""
    for change in demotions:
        if keeps_an_admin:
            result.rows.append(change.outcome)
            writes.apply(change)
        else:
            reason = "it would leave the tenant without an active admin"
            fail(result, change.outcome.line, change.outcome.key, reason)


@contextmanager
def _links_meanwhile(users: Sequence[NewUser]) -> Iterator[Callable[[], dict[UUID, str]]]:
    """Sign set-password links for ``users`` in a thread while the caller writes.

    Signing is pure Python (about 5 microseconds a link), and the bulk writes
    mostly wait for the database, which works in its own process: side by
    side, a hundred thousand links cost the import next to nothing. Yields a
    function that returns ``{user id: link}`` once they are all signed (and
    raises what the signing raised). The thread touches no database connection.
    """
    if not users:
        yield dict
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-links") as pool:
        future = pool.submit(set_password_links_issue, users=users)
        yield future.result


def _users_write(
    tenant: Tenant, writes: UserWrites, result: ImportResult, *, issue_links: bool, progress: Progress
) -> None:
    progress.start("writing", writes.size())
    now = timezone.now()
    with _links_meanwhile(writes.created if issue_links else []) as signed:
        users_bulk_create(users=writes.created, now=now)
        progress.advance(len(writes.created))
        users_bulk_update(updates=writes.updated, now=now)
        progress.advance(len(writes.updated))
        memberships_bulk_write(created=writes.joins, role_changes=writes.role_changes, now=now)
        progress.advance(len(writes.joins) + len(writes.role_changes))
        links = signed()
    if links:
        by_email = {user.email: links[user.pk] for user in writes.created}
        for row in result.rows:
            if row.status == RowStatus.CREATED:
                row.link = by_email[row.key]
    audit_import(result, tenant)
    progress.finish()
