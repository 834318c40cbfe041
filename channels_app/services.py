"""Writes to channels and memberships. Callers authorize first; these keep the
invariants: slugs unique per tenant, members only from the channel's tenant."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import users_in_tenant
from audit.services import audit_changes, audit_record
from channels_app.models import (
    CHANNEL_SLUG_MAX_LENGTH,
    Channel,
    ChannelRole,
    ChannelVisibility,
    Membership,
)
from channels_app.signals import channel_members_changed
from chatplatform.errors import ApplicationError
from chatplatform.slugs import slug_from_name
from tenants.models import Tenant, slug_validator

UPDATABLE_FIELDS = frozenset({"name", "description", "visibility"})


def _slug_taken_error(slug: str) -> ApplicationError:
    return ApplicationError(
        f"The slug {slug!r} is taken.",
        code="slug_taken",
        fields={"slug": ["A channel with this slug already exists in this tenant."]},
    )


def _tenant_users(tenant: Tenant, user_ids: Iterable[UUID], *, field: str) -> list[User]:
    """The users behind ``user_ids``, all of ``tenant``; else a 400 naming every bad id."""
    ids = list(dict.fromkeys(user_ids))
    users, missing = users_in_tenant(tenant_id=tenant.pk, user_ids=ids)
    if missing:
        bad = [str(uid) for uid in missing]
        raise ApplicationError(
            f"Unknown users: {', '.join(bad)}.",
            code="invalid_user_ids",
            fields={field: [f"No such user in this tenant: {uid}" for uid in bad]},
        )
    return users


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
    is not a user of ``tenant``."""
    name = name.strip()
    if not name:
        raise ApplicationError("A channel needs a name.", fields={"name": ["This field may not be blank."]})
    members = _tenant_users(tenant, member_ids, field="member_ids")

    def taken(candidate: str) -> bool:
        return Channel.objects.filter(tenant=tenant, slug=candidate).exists()

    if slug:
        if not slug_validator.regex.match(slug) or len(slug) > CHANNEL_SLUG_MAX_LENGTH:
            raise ApplicationError(
                "Invalid slug.", code="invalid_slug", fields={"slug": [str(slug_validator.message)]}
            )
        if taken(slug):
            raise _slug_taken_error(slug)
    else:
        slug = slug_from_name(name, max_length=CHANNEL_SLUG_MAX_LENGTH, taken=taken)
    try:
        with transaction.atomic():
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

    roles = {user.pk: ChannelRole.MEMBER for user in members}
    if created_by is not None and created_by.tenant_id == tenant.pk:
        roles[created_by.pk] = ChannelRole.MODERATOR
    _memberships_write(channel, roles)
    _audit(
        channel,
        "channel.created",
        {**audit_changes({}, _audited_fields(channel)), "members": [None, len(roles)]},
    )
    return channel


def _audited_fields(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "slug": channel.slug,
        "description": channel.description,
        "visibility": channel.visibility,
    }


def _audit(channel: Channel, action: str, changes: dict[str, Any]) -> None:
    audit_record(
        action=action,
        target_type="channel",
        target_id=channel.pk,
        target_repr=f"#{channel.slug}",
        tenant=channel.tenant,
        changes=changes,
    )


@transaction.atomic
def channel_update(*, channel: Channel, data: dict[str, Any]) -> Channel:
    unknown = set(data) - UPDATABLE_FIELDS
    if unknown:
        raise ApplicationError(f"Cannot update {', '.join(sorted(unknown))}.")
    before = _audited_fields(channel)
    if "name" in data:
        name = data["name"].strip()
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
        _audit(channel, "channel.updated", changes)
    return channel


@transaction.atomic
def channel_delete(*, channel: Channel) -> None:
    _audit(
        channel,
        "channel.deleted",
        audit_changes(_audited_fields(channel), dict.fromkeys(_audited_fields(channel))),
    )
    channel.delete()


@transaction.atomic
def channel_members_add(
    *, channel: Channel, user_ids: Iterable[UUID], role: str = ChannelRole.MEMBER
) -> list[Membership]:
    """Add users (all of the channel's tenant, else nobody is added) with ``role``;
    existing members take the new role. Returns the memberships of those users."""
    users = _tenant_users(channel.tenant, user_ids, field="user_ids")
    changed = _memberships_write(channel, {user.pk: ChannelRole(role) for user in users})
    if changed:
        _audit(
            channel,
            "channel.members_added",
            {"members": [None, sorted(map(str, changed))], "role": [None, role]},
        )
    return list(
        Membership.objects.filter(channel=channel, user__in=users)
        .select_related("user")
        .order_by("created_at")
    )


@transaction.atomic
def channel_join(*, channel: Channel, user: User) -> tuple[Membership, bool]:
    """A user joins a public channel of its tenant. Returns (membership, created)."""
    if channel.visibility != ChannelVisibility.PUBLIC:
        raise ApplicationError(
            "Private channels can only be joined by invitation.", code="channel_private", status_code=403
        )
    if user.tenant_id != channel.tenant_id:
        raise ApplicationError("You cannot join this channel.", code="permission_denied", status_code=403)
    existing = Membership.objects.filter(channel=channel, user=user).first()
    if existing is not None:
        return existing, False
    membership = Membership.objects.create(channel=channel, user=user, role=ChannelRole.MEMBER)
    _audit(channel, "channel.member_joined", {"member": [None, str(user.pk)]})
    return membership, True


@transaction.atomic
def channel_member_remove(*, channel: Channel, user: User) -> None:
    """Remove ``user`` from the channel; a user who is not a member is not found."""
    deleted, _ = Membership.objects.filter(channel=channel, user=user).delete()
    if not deleted:
        raise ApplicationError("Not found.", code="not_found", status_code=404)
    _audit(channel, "channel.member_removed", {"member": [str(user.pk), None]})


def _memberships_write(channel: Channel, roles: dict[UUID, ChannelRole]) -> list[UUID]:
    """Create or update memberships in bulk and announce the change; returns the
    users whose membership changed."""
    if not roles:
        return []
    existing = {m.user_id: m for m in Membership.objects.filter(channel=channel, user_id__in=roles)}
    changed = [m for uid, m in existing.items() if m.role != roles[uid]]
    now = timezone.now()
    for membership in changed:
        membership.role = roles[membership.user_id]
        membership.updated_at = now
    if changed:
        Membership.objects.bulk_update(changed, ["role", "updated_at"])
    new = [
        Membership(channel=channel, user_id=uid, role=role)
        for uid, role in roles.items()
        if uid not in existing
    ]
    Membership.objects.bulk_create(new)
    touched = [m.user_id for m in changed] + [m.user_id for m in new]
    if touched:
        channel_members_changed.send(sender=Channel, channel=channel, user_ids=touched)
    return touched
