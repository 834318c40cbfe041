"""The outbox in the admin, and each tenant's and user's sync state on their pages.

The tenant and user admins are extended here (this app subscribes to the
domain apps; they never import it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import User
from chatplatform.admin_extensions import extend_admin
from chatplatform.console import AdminMixinBase, action_entry
from streamsync.models import EntityType, OutboxEntry, OutboxStatus, SyncState, WebhookEvent
from streamsync.outbox import retry_now
from streamsync.resync import tenant_resync
from tenants.models import Tenant


class StateFilter(admin.SimpleListFilter):
    """The row's status, with pending rows told apart by whether they failed before."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("waiting", "Pending"),
            ("failing", "Failing (retrying)"),
            ("dead", "Dead"),
            ("claimed", "In progress"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxEntry]) -> QuerySet[OutboxEntry]:
        value = self.value()
        if value == "waiting":
            return queryset.filter(status=OutboxStatus.PENDING, attempts=0)
        if value == "failing":
            return queryset.filter(status=OutboxStatus.PENDING, attempts__gt=0)
        if value == "dead":
            return queryset.filter(status=OutboxStatus.DEAD)
        if value == "claimed":
            return queryset.filter(status=OutboxStatus.CLAIMED)
        return queryset


@admin.register(OutboxEntry)
class OutboxEntryAdmin(admin.ModelAdmin):
    list_display = [
        "entity_type",
        "entity_id",
        "status_badge",
        "attempts",
        "short_error",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = [StateFilter, "entity_type"]
    search_fields = ["entity_id", "last_error", "tenant_id"]
    readonly_fields = [f.name for f in OutboxEntry._meta.fields]
    actions = ["retry"]
    ordering = ["-created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Status", ordering="status")
    def status_badge(self, row: OutboxEntry) -> str:
        if row.status == OutboxStatus.DEAD:
            colour, label = "#b02a37", "dead"
        elif row.attempts:
            colour, label = "#b8860b", f"retrying ({row.attempts})"
        elif row.status == OutboxStatus.CLAIMED:
            colour, label = "#0b6bcb", "in progress"
        else:
            colour, label = "#6c757d", "pending"
        return format_html('<span style="color:{};font-weight:600">{}</span>', colour, label)

    @admin.display(description="Last error")
    def short_error(self, row: OutboxEntry) -> str:
        return row.last_error[:120]

    @admin.action(description="Retry now")
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxEntry]) -> None:
        count = retry_now(queryset)
        self.message_user(request, f"{count} row(s) queued for an immediate retry.", messages.SUCCESS)


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = ["entity_type", "entity_id", "synced_at"]
    list_filter = ["entity_type"]
    search_fields = ["entity_id"]
    readonly_fields = [f.name for f in SyncState._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["event_type", "team", "received_at", "handled_at"]
    list_filter = ["event_type", "team", ("handled_at", admin.EmptyFieldListFilter)]
    search_fields = ["webhook_id", "team"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ["mark_handled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark as handled")
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        queryset.update(handled_at=timezone.now())


def _sync_summary(rows: QuerySet[OutboxEntry], synced_at: object | None = None) -> str:
    dead = rows.filter(status=OutboxStatus.DEAD).count()
    waiting = rows.exclude(status=OutboxStatus.DEAD)
    failing = waiting.filter(attempts__gt=0).count()
    pending = waiting.count()
    if dead:
        return format_html(
            '<span style="color:#b02a37;font-weight:600">{} dead</span> (see the outbox)', dead
        )
    if failing:
        return format_html(
            '<span style="color:#b8860b;font-weight:600">retrying</span> ({} pending)', pending
        )
    if pending:
        return format_html('<span style="color:#6c757d">{} change(s) pending</span>', pending)
    if synced_at is None:
        return "not synced"
    return format_html('<span style="color:#1e7e34">in sync</span> (last {})', synced_at)


class TenantSyncAdminMixin(AdminMixinBase):
    """Adds the chat sync state and a resync action to the tenant admin."""

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "chat_sync"]

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None) -> list:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:  # nothing is synced before the tenant exists
            return fieldsets
        return [*fieldsets[:1], ("Chat service", {"fields": ["chat_sync"]}), *fieldsets[1:]]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions["resync"] = action_entry(resync_tenants, "resync")
        return actions

    @admin.display(description="Chat sync")
    def chat_sync(self, tenant: Tenant) -> str:
        if tenant.pk is None:
            return "—"
        last = (
            SyncState.objects.filter(tenant_id=tenant.pk)
            .order_by("-synced_at")
            .values_list("synced_at", flat=True)
        )
        return _sync_summary(OutboxEntry.objects.filter(tenant_id=tenant.pk), last.first())


@admin.action(description="Resync to the chat service")
def resync_tenants(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
    queued = sum(tenant_resync(tenant=tenant) for tenant in queryset)
    modeladmin.message_user(
        request, f"Queued {queued} objects to be sent to the chat service again.", messages.SUCCESS
    )


class UserSyncAdminMixin(AdminMixinBase):
    """Adds the chat sync state to the user admin."""

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "chat_sync"]

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> list:
        fieldsets = list(super().get_fieldsets(request, obj))
        return fieldsets if obj is None else [*fieldsets, ("Chat service", {"fields": ["chat_sync"]})]

    @admin.display(description="Chat sync")
    def chat_sync(self, user: User) -> str:
        if user.pk is None or user.tenant_id is None:
            return "not a chat user"
        rows = OutboxEntry.objects.filter(entity_type=EntityType.USER, entity_id=str(user.pk))
        state = SyncState.objects.filter(entity_type=EntityType.USER, entity_id=str(user.pk)).first()
        return _sync_summary(rows, state.synced_at if state else None)


extend_admin(Tenant, TenantSyncAdminMixin)
extend_admin(User, UserSyncAdminMixin)
