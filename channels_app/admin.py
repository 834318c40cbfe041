"""Channels and memberships in the onboarding console. Every write, the members
edited inline on a channel's page included, goes through ``channels_app.services``
(see ``chatplatform.console``)."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from accounts.models import User
from channels_app.models import Channel, Membership
from channels_app.services import (
    UPDATABLE_FIELDS,
    channel_create,
    channel_delete,
    channel_member_remove,
    channel_members_add,
    channel_update,
)
from chatplatform.console import ServiceModelAdmin, changed_values


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
class ChannelAdmin(ServiceModelAdmin[Channel]):
    list_display = ["name", "slug", "tenant", "kind", "visibility", "created_by", "created_at"]
    list_filter = ["kind", "visibility", "tenant"]
    list_select_related = ["tenant", "created_by"]
    search_fields = ["name", "slug", "tenant__slug"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["id", "cid", "kind", "direct_key", "created_by", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Channel | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_direct:
            # Named after its members and private for good; only deleting it is left.
            return [*fields, "tenant", "slug", "name", "description", "visibility"]
        return [*fields, "tenant", "slug"] if obj is not None else fields

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> Channel:
        data = form.cleaned_data
        return channel_create(
            tenant=data["tenant"],
            name=data["name"],
            slug=data["slug"],
            description=data.get("description", ""),
            visibility=data["visibility"],
            created_by=cast(User, request.user),  # the console lets signed-in staff in only
        )

    def service_update(self, request: HttpRequest, obj: Channel, form: forms.ModelForm) -> None:
        data = changed_values(form, UPDATABLE_FIELDS)
        if data:
            channel_update(channel=Channel.objects.select_related("tenant").get(pk=obj.pk), data=data)

    def service_delete(self, request: HttpRequest, obj: Channel) -> None:
        channel_delete(channel=obj)

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        """The members inline: removals, then additions and role changes, one
        ``channel_members_add`` per role (each service call is audited)."""
        channel: Channel = form.instance
        roles: dict[str, list[UUID]] = {}
        changed, deleted = [], []
        for row in formset.initial_forms:
            before = Membership.objects.select_related("user").get(pk=row.instance.pk)
            if row in formset.deleted_forms:
                channel_member_remove(channel=channel, user=before.user)
                deleted.append(before)
            elif row.has_changed():
                user = row.cleaned_data["user"]
                if user.pk != before.user_id:  # another person on this row: one leaves, one joins
                    channel_member_remove(channel=channel, user=before.user)
                roles.setdefault(row.cleaned_data["role"], []).append(user.pk)
                changed.append((row.instance, row.changed_data))
        added: list[UUID] = []
        for row in formset.extra_forms:
            if row.has_changed() and row not in formset.deleted_forms:
                added.append(row.cleaned_data["user"].pk)
                roles.setdefault(row.cleaned_data["role"], []).append(row.cleaned_data["user"].pk)
        for role, user_ids in roles.items():
            channel_members_add(channel=channel, user_ids=user_ids, role=role)
        # What the admin's history entry lists.
        formset.new_objects = list(Membership.objects.filter(channel=channel, user_id__in=added))
        formset.changed_objects = changed
        formset.deleted_objects = deleted


@admin.register(Membership)
class MembershipAdmin(ServiceModelAdmin[Membership]):
    list_display = ["channel", "user", "role", "created_at"]
    list_filter = ["role", "channel__tenant"]
    search_fields = ["user__email", "channel__slug", "channel__name"]
    autocomplete_fields = ["channel", "user"]
    service_field_names = {"user_ids": "user"}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("channel", "user")

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        # Another channel or person is another membership: remove this one, add that one.
        return [*fields, "channel", "user"] if obj is not None else fields

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        # Nobody leaves a direct conversation; deleting the conversation removes everyone.
        return not (obj is not None and obj.channel.is_direct) and super().has_delete_permission(request, obj)

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> Membership:
        data = form.cleaned_data
        channel_members_add(channel=data["channel"], user_ids=[data["user"].pk], role=data["role"])
        return Membership.objects.get(channel=data["channel"], user=data["user"])

    def service_update(self, request: HttpRequest, obj: Membership, form: forms.ModelForm) -> None:
        data = changed_values(form, frozenset({"role"}))
        if data:
            before = Membership.objects.select_related("channel__tenant").get(pk=obj.pk)
            channel_members_add(channel=before.channel, user_ids=[before.user_id], role=data["role"])

    def service_delete(self, request: HttpRequest, obj: Membership) -> None:
        channel_member_remove(channel=obj.channel, user=obj.user)
