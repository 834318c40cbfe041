"""The tenants importer: tenants and their first admin, keyed by slug."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from django.utils import timezone

from accounts.bulk import NewUser, UserUpdate, users_bulk_create, users_bulk_update
from chatplatform.db import values_in
from chatplatform.models import max_length_of
from onboarding.imports.records import TENANTS, Record
from onboarding.imports.results import (
    ImportResult,
    RowResult,
    RowStatus,
    audit_import,
    changed_detail,
    duplicates,
    fail,
    finish,
    parse_rows,
    plan_and_write,
)
from onboarding.imports.users import FULL_NAME_MAX_LENGTH, ExistingUser, existing_users
from onboarding.imports.values import checked, choice_value, email_value, name_value, required, slug_value
from onboarding.progress import Progress
from onboarding.set_password import set_password_links_issue
from tenants.bulk import NewTenant, TenantRename, tenants_bulk_create, tenants_bulk_rename
from tenants.models import SLUG_MAX_LENGTH, Tenant, TenantStatus
from tenants.roles import Role
from tenants.services import tenant_reactivate, tenant_suspend

TENANT_NAME_MAX_LENGTH = max_length_of(Tenant, "name")
TENANT_STATUSES = tuple(TenantStatus.values)


@dataclass(slots=True)
class TenantRow:
    line: int
    slug: str
    name: str | None
    status: str | None
    admin_email: str | None
    admin_full_name: str | None


_TENANT_CHECKS = (
    lambda values: required(slug_value(values, "slug", SLUG_MAX_LENGTH), "slug"),
    lambda values: name_value(values, "name", TENANT_NAME_MAX_LENGTH),
    lambda values: choice_value(values, "status", TENANT_STATUSES),
    lambda values: email_value(values, "admin_email"),
    lambda values: name_value(values, "admin_full_name", FULL_NAME_MAX_LENGTH),
)


def _parse_tenant(record: Record) -> TenantRow:
    return TenantRow(record.line, *checked(record.values, _TENANT_CHECKS))


@dataclass(frozen=True, slots=True)
class _ExistingTenant:
    pk: UUID
    name: str
    status: str


@dataclass
class TenantWrites:
    """What the good rows of a tenants import will write."""

    created: list[NewTenant] = field(default_factory=list)
    renamed: list[TenantRename] = field(default_factory=list)
    # Tenant id: its new status.
    status_changes: dict[UUID, str] = field(default_factory=dict)
    admins_created: list[NewUser] = field(default_factory=list)
    admins_updated: list[UserUpdate] = field(default_factory=list)


def tenants_import(
    *,
    records: Sequence[Record],
    dry_run: bool = False,
    issue_links: bool = True,
    progress: Progress | None = None,
) -> ImportResult:
    """Create or update tenants with their first admin from ``records``, keyed by slug.

    A new tenant needs a name and ``admin_email``: that admin is created with
    the ``admin`` role (and, with ``issue_links``, a set-password link). For
    an existing tenant, ``admin_email`` names someone who must be an admin of
    it: created if missing, promoted if a member or moderator. A status change
    suspends or reactivates the tenant as the API would.
    """
    progress = progress or Progress()
    result = ImportResult(kind="tenants", dry_run=dry_run)
    rows = parse_rows(records, TENANTS, _parse_tenant, result)
    for line, reason in duplicates([(row.line, row.slug) for row in rows.values()], what="slug").items():
        fail(result, line, rows.pop(line).slug, reason)
    admin_rows = [(row.line, row.admin_email) for row in rows.values() if row.admin_email]
    for line, reason in duplicates(admin_rows, what="admin_email").items():
        fail(result, line, rows.pop(line).slug, reason)
    plan_and_write(
        lambda: _tenants_plan(rows, result, progress),
        lambda writes: _tenants_write(writes, result, issue_links=issue_links, progress=progress),
        dry_run=dry_run,
    )
    return finish(result)


def _tenants_plan(rows: dict[int, TenantRow], result: ImportResult, progress: Progress) -> TenantWrites:
    """Check every row against the database and decide what it changes."""
    progress.start("checking", len(rows))
    slugs = (row.slug for row in rows.values())
    tenants = {
        slug: _ExistingTenant(*rest)
        for slug, *rest in values_in(Tenant.objects.all(), "slug", slugs, "slug", "id", "name", "status")
    }
    users = existing_users(row.admin_email for row in rows.values() if row.admin_email)
    writes = TenantWrites()
    for row in rows.values():
        current = tenants.get(row.slug)
        admin = users.get(row.admin_email) if row.admin_email else None
        if current is None:
            _plan_new_tenant(row, admin, writes, result)
        else:
            _plan_tenant_change(row, current, admin, writes, result)
    progress.finish()
    return writes


def _plan_new_tenant(
    row: TenantRow, admin: ExistingUser | None, writes: TenantWrites, result: ImportResult
) -> None:
    problems = []
    if row.name is None:
        problems.append("a new tenant needs a name")
    if row.admin_email is None:
        problems.append("a new tenant needs admin_email (its first admin)")
    elif admin is not None:
        problems.append("admin_email belongs to an existing account")
    if problems or row.name is None or row.admin_email is None:
        fail(result, row.line, row.slug, "; ".join(problems))
        return
    tenant_id = uuid.uuid4()
    writes.created.append(NewTenant(tenant_id, row.slug, row.name, row.status or TenantStatus.ACTIVE))
    writes.admins_created.append(
        NewUser(uuid.uuid4(), tenant_id, row.admin_email, row.admin_full_name or "", Role.ADMIN)
    )
    result.rows.append(RowResult(row.line, row.slug, RowStatus.CREATED, admin_email=row.admin_email))


def _plan_tenant_change(
    row: TenantRow,
    current: _ExistingTenant,
    admin: ExistingUser | None,
    writes: TenantWrites,
    result: ImportResult,
) -> None:
    changed = []
    if row.admin_email is not None:
        if admin is None:
            writes.admins_created.append(
                NewUser(uuid.uuid4(), current.pk, row.admin_email, row.admin_full_name or "", Role.ADMIN)
            )
            changed.append("admin created")
        elif admin.tenant_id != current.pk:
            fail(result, row.line, row.slug, "admin_email belongs to an account outside this tenant")
            return
        else:
            full_name = admin.full_name if row.admin_full_name is None else row.admin_full_name
            if admin.role != Role.ADMIN:
                changed.append("admin role")
            if full_name != admin.full_name:
                changed.append("admin_full_name")
            if admin.role != Role.ADMIN or full_name != admin.full_name:
                writes.admins_updated.append(
                    UserUpdate(admin.pk, current.pk, full_name, Role.ADMIN, is_active=admin.is_active)
                )
    if row.name is not None and row.name != current.name:
        writes.renamed.append(TenantRename(current.pk, row.name))
        changed.insert(0, "name")
    if row.status is not None and row.status != current.status:
        writes.status_changes[current.pk] = row.status
        changed.insert(0, "status")
    status = RowStatus.UPDATED if changed else RowStatus.UNCHANGED
    detail = changed_detail(changed) if changed else ""
    result.rows.append(RowResult(row.line, row.slug, status, detail, admin_email=row.admin_email or ""))


def _tenants_write(
    writes: TenantWrites, result: ImportResult, *, issue_links: bool, progress: Progress
) -> None:
    progress.start("writing", len(result.rows))
    now = timezone.now()
    tenants_bulk_create(tenants=writes.created, now=now)
    tenants_bulk_rename(renames=writes.renamed, now=now)
    users_bulk_create(users=writes.admins_created, now=now)
    # The admin's is_active stays as it is: only the name and the role are the import's.
    users_bulk_update(updates=writes.admins_updated, fields=("full_name", "role"), now=now)
    # Status changes go through the services: they tell the chat service to
    # deactivate or restore every user of the tenant.
    for tenant in Tenant.objects.filter(pk__in=list(writes.status_changes)):
        if writes.status_changes[tenant.pk] == TenantStatus.SUSPENDED:
            tenant_suspend(tenant=tenant)
        else:
            tenant_reactivate(tenant=tenant)
    if issue_links and writes.admins_created:
        links = set_password_links_issue(users=writes.admins_created)
        by_email = {user.email: links[user.pk] for user in writes.admins_created}
        for row in result.rows:
            if row.admin_email in by_email and row.status != RowStatus.FAILED:
                row.link = by_email[row.admin_email]
    audit_import(result)
    progress.finish()
