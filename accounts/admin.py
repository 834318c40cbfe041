from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm as DjangoAdminPasswordChangeForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.contrib.auth.forms import UserCreationForm as DjangoUserCreationForm
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from accounts.services import user_sessions_end


class UserCreationForm(DjangoUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "tenant", "role", "is_staff")


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AdminPasswordChangeForm(DjangoAdminPasswordChangeForm):
    """A password set from the console ends the user's sessions, as one set through the API does."""

    def save(self, commit: bool = True) -> Any:
        with transaction.atomic():
            user = super().save(commit=commit)
            if commit:
                user_sessions_end(user=user)
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["email", "full_name", "tenant", "role", "is_active", "is_staff", "created_at"]
    list_filter = ["role", "is_active", "is_staff", "tenant"]
    list_select_related = ["tenant"]
    search_fields = ["email", "full_name", "tenant__slug", "tenant__name"]
    ordering = ["email"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["id", "chat_user_id", "last_login", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "tenant", "role"]}),
        ("Status", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        (
            "Record",
            {
                "fields": ["id", "chat_user_id", "last_login", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "tenant", "role", "is_staff", "password1", "password2"],
            },
        ),
    ]
    filter_horizontal: list[str] = []

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "tenant"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_sessions_end(user=obj)  # a deactivation from the console, as through the API
