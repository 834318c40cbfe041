"""The console's sign-in forms, checking passwords through ``authenticate()`` so
the sign-in throttles (``accounts.throttling``) hold there too."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.throttling import SignInRefused


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    """The console's login page: a locked account or a throttled address gets a
    form error that says how long to wait, and no password is checked."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except SignInRefused as refused:
            raise ValidationError(refused.message, code="too_many_attempts") from None


class ConsolePasswordChangeForm(AdminPasswordChangeForm):
    """Changing one's own password in the console: guesses at the old one count
    against the account like login attempts."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        try:
            checked = authenticate(self.request, email=self.user.email, password=old_password)
        except SignInRefused as refused:
            raise ValidationError(refused.message, code="too_many_attempts") from None
        if checked is None or checked.pk != self.user.pk:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password
