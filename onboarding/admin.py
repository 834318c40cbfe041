"""The onboarding console: an "Onboard organization" page on the tenant admin,
and the invitations list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from chatplatform.admin_extensions import extend_admin
from chatplatform.console import AdminMixinBase, action_entry
from chatplatform.errors import ApplicationError
from onboarding.exports import tenant_export
from onboarding.forms import OnboardOrganizationForm
from onboarding.invitations import invitation_revoke
from onboarding.models import Invitation, InvitationStatus
from onboarding.services import organization_onboard
from tenants.models import Tenant

# Service error fields → form fields.
_FIELD_FOR = {
    "name": "name",
    "slug": "slug",
    "email": "admin_email",
    "full_name": "admin_name",
    "users_csv": "users_csv",
}


class TenantOnboardingAdminMixin(AdminMixinBase):
    """Adds the "Onboard organization" page to the tenant admin."""

    change_list_template = "admin/tenants/tenant/change_list.html"

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions["export"] = action_entry(export_tenant, "export")
        return actions

    def get_urls(self) -> list[URLPattern]:
        onboard = path(
            "onboard/",
            self.admin_site.admin_view(self.onboard_view),
            name="tenants_tenant_onboard",
        )
        return [onboard, *super().get_urls()]

    def onboard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OnboardOrganizationForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = organization_onboard(
                    name=data["name"],
                    slug=data["slug"],
                    admin_email=data["admin_email"],
                    admin_name=data["admin_name"],
                    channel_names=data["channels"],
                    users_csv=data["users_csv"].read() if data["users_csv"] else None,
                )
            except ApplicationError as exc:
                for name, problems in (exc.fields or {"": [exc.message]}).items():
                    for problem in problems:
                        form.add_error(_FIELD_FOR.get(name), problem)
            else:
                # organization_onboard has committed, so its mails have been tried.
                mailed = (
                    "also mailed"
                    if result.admin_mail.sent is not False
                    else "the mail to the admin was not sent: pass it on yourself"
                )
                messages.success(
                    request,
                    format_html(
                        "Onboarded {} with {}, {} more user(s) and {} channel(s). Set-password link for "
                        "the admin ({}; every user gets one): <a href='{}' id='admin-link'>{}</a>",
                        result.tenant.name,
                        result.admin.email,
                        len(result.imported_users),
                        len(result.channels),
                        mailed,
                        result.admin_link,
                        result.admin_link,
                    ),
                )
                if result.mails_not_sent:
                    messages.warning(
                        request,
                        f"{result.mails_not_sent} set-password mail(s) were not sent (see the server "
                        "log); the people concerned can get a new link from their tenant's admin.",
                    )
                return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[result.tenant.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": Tenant._meta,
            "title": "Onboard an organization",
            "form": form,
        }
        return TemplateResponse(request, "admin/onboarding/onboard.html", context)


@admin.action(description="Export (JSON Lines)")
def export_tenant(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Tenant]
) -> HttpResponse | None:
    """Download one tenant as JSON Lines (what `export_tenant` writes; imports read it back)."""
    if queryset.count() != 1:
        modeladmin.message_user(request, "Export one tenant at a time.", messages.WARNING)
        return None
    tenant = queryset.get()
    response = HttpResponse(content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{tenant.slug}.jsonl"'
    tenant_export(tenant=tenant, out=response)
    return response


extend_admin(Tenant, TenantOnboardingAdminMixin)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "status_badge", "expires_at", "invited_by", "created_at"]
    list_filter = ["role", "tenant"]
    list_select_related = ["tenant", "invited_by"]
    search_fields = ["email", "tenant__slug"]
    readonly_fields = [f.name for f in Invitation._meta.fields if f.name != "token_hash"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invitations carry a one-time link: create them through the API or onboarding

    def has_delete_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False  # revoke one instead: audited, and the record of who was invited stays

    @admin.display(description="Status")
    def status_badge(self, invitation: Invitation) -> str:
        colour = {
            InvitationStatus.PENDING: "#0b6bcb",
            InvitationStatus.ACCEPTED: "#1e7e34",
            InvitationStatus.REVOKED: "#6c757d",
            InvitationStatus.EXPIRED: "#b8860b",
        }[invitation.status]
        return format_html('<span style="color:{};font-weight:600">{}</span>', colour, invitation.status)

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        revoked = 0
        for invitation in queryset:
            if invitation.status == InvitationStatus.PENDING:
                invitation_revoke(invitation=invitation)
                revoked += 1
        self.message_user(request, f"Revoked {revoked} invitation(s).", messages.SUCCESS)
