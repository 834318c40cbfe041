"""Recording audit events. Services call :func:`audit_record` inside their
transaction, so an event exists exactly when its change does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from audit.context import current_origin
from audit.models import AuditEvent

REDACTED = "***"


def audit_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, secret: Iterable[str] = ()
) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields that differ; secrets show as ``***``."""
    hidden = set(secret)
    changes: dict[str, list[Any]] = {}
    for field, new in after.items():
        old = before.get(field)
        if old != new:
            changes[field] = [REDACTED, REDACTED] if field in hidden else [_plain(old), _plain(new)]
    return changes


def audit_counts(counts: Mapping[str, int]) -> dict[str, list[Any]]:
    """The counts of a bulk action (an import, an export) as changes from nothing,
    so every event's ``changes`` has the one documented shape."""
    return {name: [None, count] for name, count in counts.items()}


def as_change_pairs(changes: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``changes`` as ``{field: [old, new]}``. Events are append-only, and some
    recorded before every writer used pairs hold a bare value: it reads as new."""
    return {
        field: list(value) if isinstance(value, list) and len(value) == 2 else [None, value]
        for field, value in changes.items()
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    return str(value)


class AuditTarget(Protocol):
    """What a model tells the audit log about itself (tenants, users, channels, invitations)."""

    pk: Any
    audit_target_type: str

    @property
    def audit_label(self) -> str: ...

    @property
    def audit_tenant(self) -> Any | None: ...


def audit_object(target: AuditTarget, action: str, changes: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event about ``target`` (see :func:`audit_record`)."""
    return audit_record(
        action=action,
        target_type=target.audit_target_type,
        target_id=target.pk,
        target_repr=target.audit_label,
        tenant=target.audit_tenant,
        changes=changes,
    )


def audit_record(
    *,
    action: str,
    target_type: str,
    target_id: Any = "",
    target_repr: str = "",
    tenant: Any | None = None,
    changes: dict[str, Any] | None = None,
    actor: Any | None = None,
) -> AuditEvent:
    """Append one event. ``tenant`` is a Tenant (or None for platform-wide events);
    the actor, IP and request id come from the current request unless given."""
    for field, value in (changes or {}).items():
        if not (isinstance(value, list) and len(value) == 2):
            raise ValueError(f"audit change {field!r} must be an [old, new] pair, not {value!r}")
    origin = current_origin()
    actor = actor if actor is not None else origin.actor
    return AuditEvent.objects.create(
        tenant_id=getattr(tenant, "pk", None),
        tenant_slug=getattr(tenant, "slug", "") or "",
        actor_id=getattr(actor, "pk", None),
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        target_repr=str(target_repr)[:200],
        changes=changes or {},
        ip=origin.ip,
        request_id=origin.request_id,
    )
