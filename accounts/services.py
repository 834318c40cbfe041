"""Writes to users. The API layer authorizes the actor first (see
``accounts.api.permissions``); these functions keep the invariants that hold
whoever calls them: unique emails, valid passwords, and a tenant that always
keeps at least one active admin."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import STAFF_HAVE_NO_TENANT, User, is_active_admin, normalize_email
from accounts.tokens import refresh_tokens_revoke
from audit.services import audit_changes, audit_object
from chatplatform.errors import ApplicationError, ConflictError
from chatplatform.validators import name_checked
from tenants.models import Tenant
from tenants.roles import Role

UPDATABLE_FIELDS = frozenset({"email", "full_name", "role", "is_active", "password", "is_superuser"})


EMAIL_UNAVAILABLE = "This email address cannot be used for a new account."


def _email_taken_error() -> ApplicationError:
    # One answer whether the address is taken in the caller's tenant, in another one or
    # by staff: a tenant admin learns nothing here about accounts outside its tenant.
    return ApplicationError(EMAIL_UNAVAILABLE, code="email_taken", fields={"email": [EMAIL_UNAVAILABLE]})


def _clean_email(email: str) -> str:
    email = normalize_email(email)
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ApplicationError(
            "Invalid email.", code="invalid_email", fields={"email": exc.messages}
        ) from exc
    return email


def _set_password(user: User, password: str) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ApplicationError(
            "The password is too weak.", code="invalid_password", fields={"password": exc.messages}
        ) from exc
    user.set_password(password)


@transaction.atomic
def user_create(
    *,
    tenant: Tenant | None,
    email: str,
    full_name: str = "",
    role: str = Role.MEMBER,
    password: str | None = None,
    is_staff: bool = False,
) -> User:
    """Create a user. ``tenant`` may be None only for platform staff.

    Without a password the user cannot log in until one is set.
    """
    if tenant is None and not is_staff:
        raise ApplicationError(
            "A tenant is required.", code="tenant_required", fields={"tenant": ["This field is required."]}
        )
    if tenant is not None and is_staff:
        raise ApplicationError(
            STAFF_HAVE_NO_TENANT, code="staff_with_tenant", fields={"is_staff": [STAFF_HAVE_NO_TENANT]}
        )
    email = _clean_email(email)
    if User.objects.filter(email=email).exists():
        raise _email_taken_error()
    user = User(
        tenant=tenant,
        email=email,
        full_name=name_checked(full_name, field="full_name"),
        role=Role(role),
        is_staff=is_staff,
    )
    if password:
        _set_password(user, password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent create took the email
        raise _email_taken_error() from exc
    audit_object(user, "user.created", audit_changes({}, _audited_fields(user)))
    return user


AUDITED_FIELDS = ("email", "full_name", "role", "is_active", "is_staff")


def _audited_fields(user: User) -> dict[str, Any]:
    return {field: getattr(user, field) for field in AUDITED_FIELDS}


@transaction.atomic
def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Apply ``data`` (a subset of email, full_name, role, is_active, password,
    is_superuser; the last for platform staff only: the console's permissions).

    A new password or a deactivation ends every session of the user (see
    :func:`user_sessions_end`); a caller that changed its own password issues
    its own session a fresh pair. Raises ConflictError (``last_admin``) when
    the change would leave the tenant without an active admin.
    """
    unknown = set(data) - UPDATABLE_FIELDS
    if unknown:
        raise ApplicationError(f"Cannot update {', '.join(sorted(unknown))}.")
    new_role = Role(data.get("role", user.role))
    new_active = bool(data.get("is_active", user.is_active))
    _ensure_tenant_keeps_an_admin(user, role=new_role, is_active=new_active)
    ends_sessions = bool(data.get("password")) or (user.is_active and not new_active)
    if data.get("is_superuser") and not user.is_staff:
        message = "Only platform staff can be superusers."
        raise ApplicationError(message, code="superuser_not_staff", fields={"is_superuser": [message]})
    before = {**_audited_fields(user), "is_superuser": user.is_superuser}

    if "email" in data:
        email = _clean_email(data["email"])
        if email != user.email and User.objects.filter(email=email).exclude(pk=user.pk).exists():
            raise _email_taken_error()
        user.email = email
    if "full_name" in data:
        user.full_name = name_checked(data["full_name"], field="full_name")
    user.role = new_role
    user.is_active = new_active
    if "is_superuser" in data:
        user.is_superuser = bool(data["is_superuser"])
    if data.get("password"):
        _set_password(user, data["password"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise _email_taken_error() from exc
    if ends_sessions:
        user_sessions_end(user=user)
    changes = audit_changes(before, {**_audited_fields(user), "is_superuser": user.is_superuser})
    if data.get("password"):
        changes["password"] = ["***", "***"]
    if changes:
        audit_object(user, _update_action(changes), changes)
    return user


def _update_action(changes: dict[str, Any]) -> str:
    """One event per update, named for its most significant change."""
    if "role" in changes:
        return "user.role_changed"
    if "is_active" in changes:
        return "user.reactivated" if changes["is_active"][1] else "user.deactivated"
    if list(changes) == ["password"]:
        return "user.password_changed"
    return "user.updated"


@transaction.atomic
def user_sessions_end(*, user: User) -> None:
    """End every session of ``user``: its refresh tokens are blacklisted, and its
    chat tokens issued before now stop working (``sessions_revoked_at`` reaches
    the chat service through the outbox). For a password change, a reset and a
    deactivation; sessions begun after it are not affected."""
    user.sessions_revoked_at = timezone.now()
    user.save(update_fields=["sessions_revoked_at", "updated_at"])
    refresh_tokens_revoke(user_ids=[user.pk])


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    return user_update(user=user, data={"is_active": False})


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete the user and its channel memberships. Refused for the last active admin."""
    _ensure_tenant_keeps_an_admin(user, role=None, is_active=False)
    audit_object(user, "user.deleted", audit_changes(_audited_fields(user), dict.fromkeys(AUDITED_FIELDS)))
    user.delete()


def _ensure_tenant_keeps_an_admin(user: User, *, role: Role | None, is_active: bool) -> None:
    """Refuse a change that removes the tenant's last active admin.

    Locks the tenant row so two concurrent demotions cannot both pass the check.
    """
    if user.tenant_id is None or user.pk is None:
        return
    was_active_admin = is_active_admin(user.role, user.is_active)
    stays_active_admin = is_active_admin(role, is_active)
    if not was_active_admin or stays_active_admin:
        return
    Tenant.objects.select_for_update().filter(pk=user.tenant_id).first()
    others = User.objects.for_tenant(user.tenant_id).active_admins().exclude(pk=user.pk)
    if not others.exists():
        raise ConflictError(
            "This is the tenant's last active admin: promote another admin first.",
            code="last_admin",
        )
