"""The page an invitation or set-password link opens."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from accounts.throttling import (
    InvitationThrottle,
    SetPasswordThrottle,
    SignInRefused,
    sign_in_address_admit,
    wait_message,
)
from chatplatform.errors import ApplicationError
from onboarding.invitations import invitation_accept, link_for_token

# Where the web client signs people in (frontend/: the /login route); this page
# is served from the same origin.
SIGN_IN_PATH = "/login"


class AcceptForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    password = forms.CharField(widget=forms.PasswordInput, label="Password", strip=False)
    password_again = forms.CharField(widget=forms.PasswordInput, label="Password again", strip=False)

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


@never_cache
@csrf_protect
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    # Every look at a link counts per client address (guessing links is looking at
    # many); each use also counts on the sign-in address limit, as on the API and
    # the login pages, and on the link's own limit of passwords set.
    wait = InvitationThrottle().hit(InvitationThrottle().ident(request, None))
    message = wait_message(wait) if wait is not None else ""
    if request.method == "POST" and wait is None:
        try:
            sign_in_address_admit(request)
        except SignInRefused as refused:
            wait, message = refused.retry_after, refused.message
        else:
            wait = SetPasswordThrottle().hit(SetPasswordThrottle.link_ident(token))
            message = wait_message(wait) if wait is not None else ""
    if wait is not None:
        response = render(request, "onboarding/accept.html", {"wait": message}, status=429)
        response["Retry-After"] = str(wait)
        return response
    try:
        link = link_for_token(token)
    except ApplicationError as exc:
        return render(request, "onboarding/accept.html", {"problem": exc.message}, status=exc.status_code)
    form = AcceptForm(request.POST or None, initial={"full_name": link.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token, password=form.cleaned_data["password"], full_name=form.cleaned_data["full_name"]
            )
        except ApplicationError as exc:
            for field, messages in (exc.fields or {"__all__": [exc.message]}).items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            return render(
                request,
                "onboarding/accept.html",
                {"done": True, "user": user, "tenant": link.tenant, "sign_in_url": SIGN_IN_PATH},
            )
    return render(
        request,
        "onboarding/accept.html",
        {"form": form, "link": link, "password_help": password_validators_help_texts()},
    )
