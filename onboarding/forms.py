"""The onboarding console's form."""

from __future__ import annotations

from django import forms

from chatplatform.validators import validate_name
from tenants.models import SLUG_MAX_LENGTH, slug_validator

MAX_CHANNELS = 20
MAX_CSV_BYTES = 5_000_000


class OnboardOrganizationForm(forms.Form):
    name = forms.CharField(label="Organization name", max_length=200, validators=[validate_name])
    slug = forms.CharField(
        label="Slug",
        max_length=SLUG_MAX_LENGTH,
        required=False,
        validators=[slug_validator],
        help_text="Lowercase letters, digits and hyphens; derived from the name when empty. Never changes.",
    )
    admin_email = forms.EmailField(label="First admin's email")
    admin_name = forms.CharField(label="First admin's name", max_length=150, validators=[validate_name])
    channels = forms.CharField(
        label="Default channels",
        initial="general, random",
        required=False,
        help_text="Comma-separated names; everyone joins them.",
    )
    users_csv = forms.FileField(
        label="Users (optional CSV)",
        required=False,
        help_text="Header: email,full_name,role,channels (channels separated by |; the default channels "
        "are joined anyway). Every row must be valid, or nothing is created.",
    )

    def clean_channels(self) -> list[str]:
        names = [part.strip() for part in self.cleaned_data["channels"].split(",") if part.strip()]
        if len(names) > MAX_CHANNELS:
            raise forms.ValidationError(f"At most {MAX_CHANNELS} default channels.")
        too_long = [n for n in names if len(n) > 100]
        if too_long:
            raise forms.ValidationError(f"Channel names are at most 100 characters: {too_long[0][:30]}…")
        for name in names:
            validate_name(name)
        return names

    def clean_users_csv(self) -> object:
        upload = self.cleaned_data.get("users_csv")
        if upload and upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(
                f"The file is over {MAX_CSV_BYTES // 1_000_000} MB: import it with manage.py import_users."
            )
        return upload

    def clean_admin_email(self) -> str:
        return self.cleaned_data["admin_email"].strip().lower()
