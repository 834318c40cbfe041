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

    # A direct conversation's members are fixed: shown, never edited.
    def has_add_permission(self, request: HttpRequest, obj: Channel | None = None) -> bool:
        return not (obj is not None and obj.is_direct) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Channel | None = None) -> bool:
        return not (obj is not None and obj.is_direct) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Channel | None = None) -> bool:
        return not (obj is not None and obj.is_direct) and super().has_delete_permission(request, obj)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "tenant", "kind", "visibility", "created_by", "created_at"]
    list_filter = ["kind", "visibility", "tenant"]
    list_select_related = ["tenant", "created_by"]
    search_fields = ["name", "slug", "tenant__slug"]
    autocomplete_fields = ["tenant", "created_by"]
    readonly_fields = ["id", "cid", "kind", "direct_key", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Channel | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_direct:
            # Named after its members and private for good; only deleting it is left.
            return [*fields, "tenant", "slug", "name", "description", "visibility"]
        return [*fields, "tenant", "slug"] if obj is not None else fields


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["channel", "user", "role", "created_at"]
    list_filter = ["role", "channel__tenant"]
    search_fields = ["user__email", "channel__slug", "channel__name"]
    autocomplete_fields = ["channel", "user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("channel", "user")

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        # Nobody leaves a direct conversation; deleting the conversation removes everyone.
        return not (obj is not None and obj.channel.is_direct) and super().has_delete_permission(request, obj)
