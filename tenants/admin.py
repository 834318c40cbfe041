from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from tenants.models import Tenant, TenantStatus
from tenants.selectors import tenants_with_counts

PREVIEW_ROWS = 20


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status_badge", "user_count", "channel_count", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["name", "slug"]
    ordering = ["name"]
    readonly_fields = ["id", "created_at", "updated_at", "users_preview", "channels_preview"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "status"]}),
        ("People and channels", {"fields": ["users_preview", "channels_preview"]}),
        ("Record", {"fields": ["id", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return tenants_with_counts(super().get_queryset(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "slug"] if obj is not None else fields

    @admin.display(description="Status", ordering="status")
    def status_badge(self, tenant: Tenant) -> str:
        colour = "#1e7e34" if tenant.status == TenantStatus.ACTIVE else "#b02a37"
        return format_html(
            '<span style="color:#fff;background:{};padding:1px 8px;border-radius:8px">{}</span>',
            colour,
            tenant.get_status_display(),
        )

    @admin.display(description="Users", ordering="user_count")
    def user_count(self, tenant: Tenant) -> int:
        return tenant.user_count  # type: ignore[attr-defined]

    @admin.display(description="Channels", ordering="channel_count")
    def channel_count(self, tenant: Tenant) -> int:
        return tenant.channel_count  # type: ignore[attr-defined]

    def _preview(self, rows: list, changelist: str, tenant: Tenant, label: str, total: int) -> str:
        items = format_html_join("", '<li><a href="{}">{}</a> <span style="color:#666">{}</span></li>', rows)
        link = f"{reverse(changelist)}?tenant__id__exact={tenant.pk}"
        return format_html(
            '<ul style="margin:0">{}</ul><a href="{}">All {} {} →</a>', items, link, total, label
        )

    @admin.display(description="Users")
    def users_preview(self, tenant: Tenant) -> str:
        if tenant.pk is None:
            return "—"
        users = tenant.users.order_by("email")[:PREVIEW_ROWS]
        rows = [(reverse("admin:accounts_user_change", args=[u.pk]), u.email, u.role) for u in users]
        return self._preview(rows, "admin:accounts_user_changelist", tenant, "users", tenant.users.count())

    @admin.display(description="Channels")
    def channels_preview(self, tenant: Tenant) -> str:
        if tenant.pk is None:
            return "—"
        channels = tenant.channels.order_by("name")[:PREVIEW_ROWS]
        rows = [
            (reverse("admin:channels_app_channel_change", args=[c.pk]), f"#{c.slug}", c.visibility)
            for c in channels
        ]
        return self._preview(
            rows, "admin:channels_app_channel_changelist", tenant, "channels", tenant.channels.count()
        )
