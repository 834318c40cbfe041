from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from channels_app.models import Channel, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "tenant", "visibility", "created_by", "created_at"]
    list_filter = ["visibility", "tenant"]
    list_select_related = ["tenant", "created_by"]
    search_fields = ["name", "slug", "tenant__slug"]
    autocomplete_fields = ["tenant", "created_by"]
    readonly_fields = ["id", "cid", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Channel | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "tenant", "slug"] if obj is not None else fields


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["channel", "user", "role", "created_at"]
    list_filter = ["role", "channel__tenant"]
    search_fields = ["user__email", "channel__slug", "channel__name"]
    autocomplete_fields = ["channel", "user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("channel", "user")
