"""Writes to tenants. Callers authorize first; these keep the invariants."""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack
from typing import cast

from django.db import IntegrityError, transaction

from audit.services import audit_changes, audit_object
from chatplatform.errors import ApplicationError
from chatplatform.slugs import slug_from_name
from chatplatform.validators import name_checked
from tenants.models import SLUG_MAX_LENGTH, SLUG_PATTERN, Tenant, TenantStatus, slug_validator
from tenants.signals import tenant_deleting, tenant_status_changed


def _slug_taken(slug: str) -> bool:
    return Tenant.objects.filter(slug=slug).exists()


def tenant_create(*, name: str, slug: str | None = None) -> Tenant:
    """Create an active tenant. ``slug`` defaults to one derived from ``name``.

    Raises ApplicationError (``fields.slug``) when the slug is malformed or taken.
    """
    name = name_checked(name)
    if not name:
        raise ApplicationError("A tenant needs a name.", fields={"name": ["This field may not be blank."]})
    if slug:
        slug = slug.strip()
        _validate_slug(slug)
        if _slug_taken(slug):
            raise _slug_taken_error(slug)
    else:
        slug = slug_from_name(name, max_length=SLUG_MAX_LENGTH, taken=_slug_taken)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug)
            audit_object(tenant, "tenant.created", audit_changes({}, {"name": name, "slug": slug}))
            return tenant
    except IntegrityError as exc:  # a concurrent create took the slug
        raise _slug_taken_error(slug) from exc


def _validate_slug(slug: str) -> None:
    if len(slug) > SLUG_MAX_LENGTH:
        raise ApplicationError(
            "Invalid slug.",
            code="invalid_slug",
            fields={"slug": [f"Ensure this field has no more than {SLUG_MAX_LENGTH} characters."]},
        )
    if not SLUG_PATTERN.match(slug):
        raise ApplicationError(
            "Invalid slug.", code="invalid_slug", fields={"slug": [str(slug_validator.message)]}
        )


def _slug_taken_error(slug: str) -> ApplicationError:
    return ApplicationError(
        f"The slug {slug!r} is taken.",
        code="slug_taken",
        fields={"slug": ["A tenant with this slug already exists."]},
    )


@transaction.atomic
def tenant_update(
    *,
    tenant: Tenant,
    name: str | None = None,
    status: str | None = None,
    calls_enabled: bool | None = None,
) -> Tenant:
    """Rename, turn calls on or off and/or change the status. The slug never changes."""
    if name is not None:
        name = name_checked(name)
        if not name:
            raise ApplicationError(
                "A tenant needs a name.", fields={"name": ["This field may not be blank."]}
            )
        if name != tenant.name:
            audit_object(tenant, "tenant.updated", audit_changes({"name": tenant.name}, {"name": name}))
        tenant.name = name
    if calls_enabled is not None and calls_enabled != tenant.calls_enabled:
        audit_object(
            tenant,
            "tenant.updated",
            audit_changes({"calls_enabled": tenant.calls_enabled}, {"calls_enabled": calls_enabled}),
        )
        tenant.calls_enabled = calls_enabled
    if status is not None and status != tenant.status:
        return _tenant_set_status(tenant=tenant, status=TenantStatus(status))
    tenant.save()
    return tenant


def tenant_suspend(*, tenant: Tenant) -> Tenant:
    """Suspend: the tenant's users can no longer log in, refresh or get chat tokens,
    and tokens already issued stop working on their next request."""
    return _tenant_set_status(tenant=tenant, status=TenantStatus.SUSPENDED)


def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    return _tenant_set_status(tenant=tenant, status=TenantStatus.ACTIVE)


@transaction.atomic
def _tenant_set_status(*, tenant: Tenant, status: TenantStatus) -> Tenant:
    previous = tenant.status
    tenant.status = status
    tenant.save()
    if previous != status:
        action = "tenant.suspended" if status == TenantStatus.SUSPENDED else "tenant.reactivated"
        audit_object(tenant, action, audit_changes({"status": previous}, {"status": status.value}))
        tenant_status_changed.send(sender=Tenant, tenant=tenant, previous=previous)
    return tenant


@transaction.atomic
def tenant_delete(*, tenant: Tenant) -> None:
    """Delete the tenant with its users, channels and memberships (their chat
    data follows through the outbox). The audit log keeps the record."""
    audit_object(tenant, "tenant.deleted", {"name": [tenant.name, None], "slug": [tenant.slug, None]})
    with ExitStack() as stack:
        for _receiver, response in tenant_deleting.send(sender=Tenant, tenant=tenant):
            # A receiver of tenant_deleting returns the context the deletion runs in, or None.
            wrapper = cast("AbstractContextManager[None] | None", response)
            if wrapper is not None:
                stack.enter_context(wrapper)
        tenant.delete()
