"""The onboarding console: Django's admin site, signing people in through the
sign-in throttles (``accounts.throttling``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from accounts.forms import ConsoleAuthenticationForm, ConsolePasswordChangeForm


class _PasswordChangeView(PasswordChangeView):
    def get_form_kwargs(self) -> dict[str, Any]:
        # The client address counts too, as on the login page.
        return {**super().get_form_kwargs(), "request": self.request}


class ConsoleAdminSite(admin.AdminSite):
    site_header = "Chat platform console"
    site_title = "Chat platform console"
    index_title = "Organizations, people and the chat service"
    login_form = ConsoleAuthenticationForm

    # A redirect once the password changed, as Django's own (whose stub says TemplateResponse).
    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseBase:
        # Django's own, with the throttled form (AdminSite names its form class inline).
        defaults: dict[str, Any] = {
            "form_class": ConsolePasswordChangeForm,
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return _PasswordChangeView.as_view(**defaults)(request)
