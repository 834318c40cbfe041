"""The channels importer: a tenant's ordinary channels, keyed by slug."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from django.utils import timezone

from channels_app.bulk import ChannelUpdate, NewChannel, channels_bulk_create, channels_bulk_update
from channels_app.models import CHANNEL_SLUG_MAX_LENGTH, Channel, ChannelKind, ChannelVisibility
from chatplatform.db import values_in
from chatplatform.models import max_length_of
from onboarding.imports.records import CHANNELS, Record
from onboarding.imports.results import (
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
from onboarding.imports.values import checked, choice_value, name_value, required, slug_value, text_value
from onboarding.progress import Progress
from tenants.models import Tenant

CHANNEL_NAME_MAX_LENGTH = max_length_of(Channel, "name")
CHANNEL_DESCRIPTION_MAX_LENGTH = max_length_of(Channel, "description")
VISIBILITIES = tuple(ChannelVisibility.values)


@dataclass(slots=True)
class ChannelRow:
    line: int
    slug: str
    name: str | None
    description: str | None
    visibility: str | None


_CHANNEL_CHECKS = (
    lambda values: required(slug_value(values, "slug", CHANNEL_SLUG_MAX_LENGTH), "slug"),
    lambda values: name_value(values, "name", CHANNEL_NAME_MAX_LENGTH),
    lambda values: text_value(values, "description", CHANNEL_DESCRIPTION_MAX_LENGTH),
    lambda values: choice_value(values, "visibility", VISIBILITIES),
)


def _parse_channel(record: Record) -> ChannelRow:
    return ChannelRow(record.line, *checked(record.values, _CHANNEL_CHECKS))


@dataclass(frozen=True, slots=True)
class _ExistingChannel:
    pk: UUID
    name: str
    description: str
    visibility: str
    kind: str


@dataclass
class ChannelWrites:
    """What the good rows of a channels import will write."""

    created: list[NewChannel] = field(default_factory=list)
    updated: list[ChannelUpdate] = field(default_factory=list)


def channels_import(
    *,
    tenant: Tenant,
    records: Sequence[Record],
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Create or update ``tenant``'s channels from ``records``, keyed by slug.

    A new channel needs a name; it starts with no members (users rows join
    them). Changed name, description or visibility are written and synced.
    """
    progress = progress or Progress()
    result = ImportResult(kind="channels", dry_run=dry_run)
    rows = parse_rows(records, CHANNELS, _parse_channel, result)
    for line, reason in duplicates([(row.line, row.slug) for row in rows.values()], what="slug").items():
        fail(result, line, rows.pop(line).slug, reason)
    plan_and_write(
        lambda: _channels_plan(tenant, rows, result, progress),
        lambda writes: _channels_write(tenant, writes, result, progress),
        dry_run=dry_run,
    )
    return finish(result)


def _existing_channels(tenant: Tenant, slugs: Sequence[str]) -> dict[str, _ExistingChannel]:
    fields = ("slug", "id", "name", "description", "visibility", "kind")
    found = values_in(Channel.objects.filter(tenant=tenant), "slug", slugs, *fields)
    return {slug: _ExistingChannel(*rest) for slug, *rest in found}


def _channel_update(row: ChannelRow, current: _ExistingChannel) -> tuple[ChannelUpdate, list[str]]:
    """The channel as ``row`` wants it (an empty value keeps what the database
    has) and the names of the fields that change."""
    wanted = ChannelUpdate(
        pk=current.pk,
        name=row.name or current.name,
        description=current.description if row.description is None else row.description,
        visibility=row.visibility or current.visibility,
    )
    changed = [
        name
        for name in ("name", "description", "visibility")
        if getattr(current, name) != getattr(wanted, name)
    ]
    return wanted, changed


def _channels_plan(
    tenant: Tenant, rows: dict[int, ChannelRow], result: ImportResult, progress: Progress
) -> ChannelWrites:
    """Check every row against the database and decide what it changes."""
    if not result.dry_run:
        lock_tenant(tenant)
    progress.start("checking", len(rows))
    existing = _existing_channels(tenant, [row.slug for row in rows.values()])
    writes = ChannelWrites()
    for row in rows.values():
        current = existing.get(row.slug)
        if current is not None and current.kind == ChannelKind.DIRECT:
            fail(result, row.line, row.slug, "this slug is a direct conversation's, not a channel's")
        elif current is None and row.name is None:
            fail(result, row.line, row.slug, "a new channel needs a name")
        elif current is None:
            visibility = row.visibility or ChannelVisibility.PUBLIC
            writes.created.append(
                NewChannel(uuid.uuid4(), row.slug, row.name or "", row.description or "", visibility)
            )
            result.rows.append(RowResult(row.line, row.slug, RowStatus.CREATED))
        else:
            update, changed = _channel_update(row, current)
            if changed:
                writes.updated.append(update)
                result.rows.append(RowResult(row.line, row.slug, RowStatus.UPDATED, changed_detail(changed)))
            else:
                result.rows.append(RowResult(row.line, row.slug, RowStatus.UNCHANGED))
    progress.finish()
    return writes


def _channels_write(tenant: Tenant, writes: ChannelWrites, result: ImportResult, progress: Progress) -> None:
    progress.start("writing", len(writes.created) + len(writes.updated))
    now = timezone.now()
    channels_bulk_create(tenant=tenant, channels=writes.created, now=now)
    progress.advance(len(writes.created))
    channels_bulk_update(tenant=tenant, updates=writes.updated, now=now)
    progress.advance(len(writes.updated))
    audit_import(result, tenant)
    progress.finish()
