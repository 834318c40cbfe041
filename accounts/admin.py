"""Users in the onboarding console. Every write goes through ``accounts.services``
with the API's rules for the signed-in staff user (see ``chatplatform.console``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm as DjangoAdminPasswordChangeForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.contrib.auth.forms import UserCreationForm as DjangoUserCreationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from rest_framework.exceptions import ErrorDetail, PermissionDenied

from accounts.api.permissions import check_can_create, check_can_update
from accounts.models import User
from accounts.services import user_create, user_delete, user_update
from chatplatform.console import ServiceModelAdmin, changed_values, refusal_message
from chatplatform.errors import ApplicationError

# What the change page edits; the tenant and staff status are fixed at creation
# (staff have no tenant, everyone else has one for good), the password has its own page.
CONSOLE_EDITABLE = frozenset({"email", "full_name", "role", "is_active", "is_superuser"})


def _as_refusal(check: Callable[[], None]) -> None:
    """Run one of the API's permission checks; its refusal becomes the console's."""
    try:
        check()
    except PermissionDenied as exc:
        code = exc.detail.code if isinstance(exc.detail, ErrorDetail) else "permission_denied"
        raise ApplicationError(str(exc.detail), code=code, status_code=403) from exc


class UserCreationForm(DjangoUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "tenant", "role", "is_staff")


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AdminPasswordChangeForm(DjangoAdminPasswordChangeForm):
    """A password set from the console goes through ``user_update``: validated,
    audited, and every session of the user ended, as through the API.

    Django's choice to disable password sign-in is left out: deactivating the
    account is how the console stops access (it also reaches the chat service).
    """

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields.pop("usable_password", None)
        self.fields["password1"].required = self.fields["password2"].required = True

    def save(self, commit: bool = True) -> User:
        return user_update(user=self.user, data={"password": self.cleaned_data["password1"]})


@admin.register(User)
class UserAdmin(ServiceModelAdmin[User], DjangoUserAdmin):
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
    filter_horizontal = ()

    service_field_names = {"password": "password1"}

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        # Superuser status means something for staff only (tenant users never reach the console).
        return [*fields, "tenant", "is_staff", *([] if obj.is_staff else ["is_superuser"])]

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> User:
        data = form.cleaned_data
        staff = cast(User, request.user)  # the console lets signed-in staff in only
        _as_refusal(lambda: check_can_create(staff, role=data["role"]))
        return user_create(
            tenant=data.get("tenant"),
            email=data["email"],
            full_name=data.get("full_name", ""),
            role=data["role"],
            password=data.get("password1"),
            is_staff=bool(data.get("is_staff")),
        )

    def service_update(self, request: HttpRequest, obj: User, form: forms.ModelForm) -> None:
        user = User.objects.select_related("tenant").get(pk=obj.pk)
        data = changed_values(form, CONSOLE_EDITABLE)
        if not data:
            return
        staff = cast(User, request.user)  # the console lets signed-in staff in only
        _as_refusal(lambda: check_can_update(staff, user, data))
        user_update(user=user, data=data)

    def service_delete(self, request: HttpRequest, obj: User) -> None:
        user_delete(user=obj)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        try:
            return super().user_change_password(request, id, form_url)
        except ApplicationError as refusal:  # the form validates the same: a race at most
            self.message_user(request, f"Not changed: {refusal_message(refusal)}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
