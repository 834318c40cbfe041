from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from audit.models import AuditEvent
from chatplatform.console import ObjectActionsMixin, ServiceModelAdmin, changed_values
from tenants.models import Tenant, TenantStatus
from tenants.selectors import tenants_with_counts
from tenants.services import (
    tenant_create,
    tenant_delete,
    tenant_reactivate,
    tenant_suspend,
    tenant_update,
)

PREVIEW_ROWS = 20
AUDIT_ROWS = 15


class ConfirmDeleteForm(forms.Form):
    slug = forms.CharField(label="Type the tenant's slug to confirm", max_length=40)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip()
        if slug != self.tenant.slug:
            raise forms.ValidationError("That is not this tenant's slug.")
        return slug


@admin.register(Tenant)
class TenantAdmin(ObjectActionsMixin, ServiceModelAdmin[Tenant]):
    list_display = ["name", "slug", "status_badge", "user_count", "channel_count", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["name", "slug"]
    ordering = ["name"]
    readonly_fields = ["id", "created_at", "updated_at", "users_preview", "channels_preview", "recent_events"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "status", "calls_enabled"]}),
        ("People and channels", {"fields": ["users_preview", "channels_preview"]}),
        ("Recent audit events", {"fields": ["recent_events"]}),
        ("Record", {"fields": ["id", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    actions = ["suspend", "reactivate"]
    # Also buttons on a tenant's page ("resync" and "export" come from the apps
    # that extend this admin).
    object_actions = ("suspend", "reactivate", "resync", "export")
    delete_confirmation_template = "admin/tenants/tenant/delete_confirmation.html"

    def object_action_applies(self, name: str, obj: Tenant) -> bool:
        if name == "suspend":
            return obj.status == TenantStatus.ACTIVE
        if name == "reactivate":
            return obj.status == TenantStatus.SUSPENDED
        return True

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None) -> list:
        if obj is not None:
            return list(super().get_fieldsets(request, obj))
        onboard = reverse("admin:tenants_tenant_onboard")
        description = format_html(
            "Creates the organization alone. To create it with its first admin, its channels and "
            'its users in one step, <a href="{}">onboard the organization</a> instead.',
            onboard,
        )
        return [(None, {"fields": ["name", "slug", "status"], "description": description})]

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        # Deleting a tenant deletes its people: one at a time, with the slug typed in.
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Suspend (users signed out, chat deactivated)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        changed = [tenant_suspend(tenant=t) for t in queryset if t.status != TenantStatus.SUSPENDED]
        self.message_user(request, f"Suspended {len(changed)} tenant(s).", messages.SUCCESS)

    @admin.action(description="Reactivate")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        changed = [tenant_reactivate(tenant=t) for t in queryset if t.status != TenantStatus.ACTIVE]
        self.message_user(request, f"Reactivated {len(changed)} tenant(s).", messages.SUCCESS)

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> Tenant:
        data = form.cleaned_data
        tenant = tenant_create(name=data["name"], slug=data["slug"])
        if data.get("status") == TenantStatus.SUSPENDED:
            tenant_suspend(tenant=tenant)
        return tenant

    def service_update(self, request: HttpRequest, obj: Tenant, form: forms.ModelForm) -> None:
        """A rename, calls on or off and a status change go through ``tenant_update``
        (the status through the lifecycle: suspension signs the tenant's users out)."""
        data = changed_values(form, frozenset({"name", "status", "calls_enabled"}))
        if data:
            tenant_update(tenant=Tenant.objects.get(pk=obj.pk), **data)

    def service_delete(self, request: HttpRequest, obj: Tenant) -> None:
        tenant_delete(tenant=obj)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        """Two steps: a page that says what goes, then the slug typed in to confirm."""
        tenant = self.get_object(request, object_id)
        if tenant is None:
            # Django's own answer for a missing object, as its delete_view gives (not in the stubs).
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_delete_permission(request, tenant):
            raise PermissionDenied
        form = ConfirmDeleteForm(request.POST or None, tenant=tenant)
        if request.method == "POST" and form.is_valid():
            name = str(tenant)
            tenant_delete(tenant=tenant)
            self.message_user(
                request,
                f"Deleted {name} with its users and channels; the chat service follows through the sync.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:tenants_tenant_changelist"))

        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": tenant,
            "title": f"Delete {tenant}?",
            "form": form,
            "counts": {
                "users": tenant.users.count(),
                "channels": tenant.channels.count(),
                "memberships": tenant.channels.aggregate(n=Count("memberships"))["n"],
                "invitations": tenant.invitations.count() if hasattr(tenant, "invitations") else 0,
            },
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.delete_confirmation_template, context)

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
        return tenant.user_count  # type: ignore[attr-defined]  # annotated by tenants_with_counts

    @admin.display(description="Channels", ordering="channel_count")
    def channel_count(self, tenant: Tenant) -> int:
        return tenant.channel_count  # type: ignore[attr-defined]  # annotated by tenants_with_counts

    def _preview(
        self, rows: list, changelist: str, tenant: Tenant, label: str, total: int, narrow: str = ""
    ) -> str:
        items = format_html_join("", '<li><a href="{}">{}</a> <span style="color:#666">{}</span></li>', rows)
        link = f"{reverse(changelist)}?tenant__id__exact={tenant.pk}{narrow}"
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

    @admin.display(description="Latest")
    def recent_events(self, tenant: Tenant) -> str:
        if tenant.pk is None:
            return "—"
        events = AuditEvent.objects.filter(tenant_id=tenant.pk)[:AUDIT_ROWS]
        rows = [
            (f"{e.created_at:%Y-%m-%d %H:%M}", e.action, e.target_repr, e.actor_email or "system")
            for e in events
        ]
        if not rows:
            return "No events yet."
        items = format_html_join(
            "", "<li>{} <strong>{}</strong> {} <span style='color:#666'>by {}</span></li>", rows
        )
        link = f"{reverse('admin:audit_auditevent_changelist')}?tenant_slug={tenant.slug}"
        return format_html('<ul style="margin:0">{}</ul><a href="{}">Full history →</a>', items, link)

    @admin.display(description="Channels")
    def channels_preview(self, tenant: Tenant) -> str:
        if tenant.pk is None:
            return "—"
        # Ordinary channels: direct conversations are the people's own (the channel list has them).
        ordinary = tenant.channels.ordinary()
        channels = ordinary.order_by("name")[:PREVIEW_ROWS]
        rows = [
            (reverse("admin:channels_app_channel_change", args=[c.pk]), f"#{c.slug}", c.visibility)
            for c in channels
        ]
        return self._preview(
            rows,
            "admin:channels_app_channel_changelist",
            tenant,
            "channels",
            ordinary.count(),
            narrow="&kind__exact=channel",
        )
