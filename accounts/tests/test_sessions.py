"""A password change, a reset through a link and a deactivation end every session
of the account; the session that changed its own password goes on."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.selectors import user_with_tenant
from accounts.tests.factories import PASSWORD
from conftest import bearer_client
from onboarding.set_password import set_password_url

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
ME = "/api/auth/me"
NEW_PASSWORD = "a-brand-new-long-passphrase"


def _refresh_cookie() -> str:
    return django_settings.JWT_COOKIE["REFRESH_NAME"]


def _access_cookie() -> str:
    return django_settings.JWT_COOKIE["ACCESS_NAME"]


def signed_in(user, password: str = PASSWORD) -> APIClient:
    """A browser session: the cookies of a login, with CSRF checks on."""
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"email": user.email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return client


def refresh_token_of(client: APIClient) -> str:
    return client.cookies[_refresh_cookie()].value


def refreshes(token: str) -> int:
    return APIClient().post(REFRESH, {"refresh": token}, format="json").status_code


def csrf(client: APIClient) -> dict[str, str]:
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


class TestOwnPasswordChange:
    def test_every_other_session_ends(self, world):
        laptop, phone = signed_in(world.member), signed_in(world.member)
        kept_elsewhere = refresh_token_of(phone)
        response = laptop.patch(
            f"/api/users/{world.member.pk}/", {"password": NEW_PASSWORD}, format="json", **csrf(laptop)
        )
        assert response.status_code == 200, response.content
        assert refreshes(kept_elsewhere) == 401
        assert phone.get(ME).status_code == 401

    def test_the_cookie_session_that_changed_it_goes_on(self, world):
        laptop = signed_in(world.member)
        old_refresh = refresh_token_of(laptop)
        response = laptop.patch(
            f"/api/users/{world.member.pk}/", {"password": NEW_PASSWORD}, format="json", **csrf(laptop)
        )
        assert response.status_code == 200
        # A fresh pair in the cookies, as a login sets them.
        assert response.cookies[_access_cookie()].value
        assert response.cookies[_refresh_cookie()].value not in ("", old_refresh)
        assert laptop.get(ME).status_code == 200
        assert laptop.post(REFRESH, {}, format="json", **csrf(laptop)).status_code == 200
        assert laptop.get(ME).status_code == 200
        assert refreshes(old_refresh) == 401

    def test_the_bearer_session_that_changed_it_goes_on_with_its_new_refresh_token(self, world):
        login = APIClient().post(LOGIN, {"email": world.member.email, "password": PASSWORD}, format="json")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
        response = client.patch(f"/api/users/{world.member.pk}/", {"password": NEW_PASSWORD}, format="json")
        assert response.status_code == 200
        assert refreshes(login.cookies[_refresh_cookie()].value) == 401
        # Its access token carried the old password: refused, and the new refresh token takes over.
        assert client.get(ME).json()["code"] == "password_changed"
        renewed = APIClient().post(
            REFRESH, {"refresh": response.cookies[_refresh_cookie()].value}, format="json"
        )
        assert renewed.status_code == 200
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {renewed.json()['access']}")
        assert client.get(ME).status_code == 200

    def test_a_name_change_ends_no_session_and_sets_no_cookie(self, world):
        laptop, phone = signed_in(world.member), signed_in(world.member)
        response = laptop.patch(
            f"/api/users/{world.member.pk}/", {"full_name": "Mary Q"}, format="json", **csrf(laptop)
        )
        assert response.status_code == 200
        assert _refresh_cookie() not in response.cookies
        assert refreshes(refresh_token_of(phone)) == 200

    def test_the_new_password_signs_in_and_the_old_one_does_not(self, world):
        client = bearer_client(world.member)
        client.patch(f"/api/users/{world.member.pk}/", {"password": NEW_PASSWORD}, format="json")
        old = APIClient().post(LOGIN, {"email": world.member.email, "password": PASSWORD}, format="json")
        new = APIClient().post(LOGIN, {"email": world.member.email, "password": NEW_PASSWORD}, format="json")
        assert (old.status_code, new.status_code) == (401, 200)


class TestSomeoneElsesChange:
    def test_an_admin_resetting_a_password_ends_that_users_sessions_only(self, world):
        member, admin = signed_in(world.member), signed_in(world.admin)
        response = admin.patch(
            f"/api/users/{world.member.pk}/", {"password": NEW_PASSWORD}, format="json", **csrf(admin)
        )
        assert response.status_code == 200
        assert _refresh_cookie() not in response.cookies  # the admin's own session is untouched
        assert refreshes(refresh_token_of(member)) == 401
        assert admin.get(ME).status_code == 200
        assert refreshes(refresh_token_of(admin)) == 200

    def test_a_set_password_link_ends_every_session(self, world):
        member = signed_in(world.member)
        token = set_password_url(world.member).rsplit("/", 1)[1]
        accepted = APIClient().post(
            "/api/invitations/accept", {"token": token, "password": NEW_PASSWORD}, format="json"
        )
        assert accepted.status_code == 201, accepted.content
        assert refreshes(refresh_token_of(member)) == 401

    def test_a_password_set_outside_the_api_refuses_older_refresh_tokens(self, world):
        """The console and `manage.py changepassword` set passwords on the model."""
        member = signed_in(world.member)
        world.member.set_password(NEW_PASSWORD)
        world.member.save()
        response = APIClient().post(REFRESH, {"refresh": refresh_token_of(member)}, format="json")
        assert response.status_code == 401
        assert response.json()["code"] == "password_changed"


class TestDeactivation:
    def _admin_sets(self, world, **body) -> None:
        response = bearer_client(world.admin).patch(f"/api/users/{world.member.pk}/", body, format="json")
        assert response.status_code == 200, response.content

    def test_sessions_do_not_come_back_with_reactivation(self, world):
        kept = refresh_token_of(signed_in(world.member))
        self._admin_sets(world, is_active=False)
        self._admin_sets(world, is_active=True)
        assert refreshes(kept) == 401

    def test_a_token_kept_across_deactivate_reset_reactivate_is_refused(self, world):
        kept = refresh_token_of(signed_in(world.member))
        self._admin_sets(world, is_active=False)
        self._admin_sets(world, password=NEW_PASSWORD)
        self._admin_sets(world, is_active=True)
        assert refreshes(kept) == 401
        assert signed_in(world.member, NEW_PASSWORD).get(ME).status_code == 200

    def test_a_moderator_deactivating_a_member_ends_its_sessions(self, world):
        kept = refresh_token_of(signed_in(world.member))
        response = bearer_client(world.moderator).patch(
            f"/api/users/{world.member.pk}/", {"is_active": False}, format="json"
        )
        assert response.status_code == 200
        world.member.is_active = True
        world.member.save()
        assert refreshes(kept) == 401

    def test_other_accounts_keep_their_sessions(self, world):
        other = refresh_token_of(signed_in(world.other_member))
        self._admin_sets(world, is_active=False)
        assert refreshes(other) == 200


@pytest.mark.parametrize("role", ["staff", "admin", "moderator", "member"])
class TestProfile:
    def test_everyone_changes_their_own_name_and_password(self, world, role):
        user = world.by_role(role)
        client = bearer_client(user)
        response = client.patch(f"/api/users/{user.pk}/", {"full_name": "New Name"}, format="json")
        assert (response.status_code, response.json()["full_name"]) == (200, "New Name")
        response = client.patch(f"/api/users/{user.pk}/", {"password": NEW_PASSWORD}, format="json")
        assert response.status_code == 200
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)

    def test_nobody_changes_their_own_role_or_status(self, world, role):
        user = world.by_role(role)
        client = bearer_client(user)
        for body, code in (({"role": "admin"}, "own_role"), ({"is_active": False}, "own_status")):
            if role == "admin" and "role" in body:
                body, code = {"role": "member"}, "own_role"
            response = client.patch(f"/api/users/{user.pk}/", body, format="json")
            assert response.status_code == 403
            assert response.json()["code"] == code
        user.refresh_from_db()
        assert user.is_active


class TestConsole:
    """Platform staff changing an account in the console end its sessions too."""

    def test_a_password_set_in_the_console_ends_every_session(self, world, staff_client):
        kept = refresh_token_of(signed_in(world.member))
        url = reverse("admin:auth_user_password_change", args=[world.member.pk])
        response = staff_client.post(
            url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
        )
        assert response.status_code == 302, response.content
        world.member.refresh_from_db()
        assert world.member.check_password(NEW_PASSWORD)
        assert world.member.sessions_revoked_at is not None
        assert refreshes(kept) == 401

    def test_a_deactivation_in_the_console_ends_every_session(self, world, staff_client):
        kept = refresh_token_of(signed_in(world.member))
        url = reverse("admin:accounts_user_change", args=[world.member.pk])
        response = staff_client.post(
            url, {"email": world.member.email, "full_name": world.member.full_name, "role": "member"}
        )
        assert response.status_code == 302, response.content
        world.member.refresh_from_db()
        assert not world.member.is_active
        world.member.is_active = True
        world.member.save()
        assert refreshes(kept) == 401


def test_the_user_behind_a_token_is_loaded_whole_with_its_tenant(world):
    """The authentication lookup (a prepared statement on PostgreSQL) gives
    what the ORM gives: every field of the user and of its tenant."""
    for user in (world.member, world.staff):
        loaded = user_with_tenant(user_id=user.pk)
        expected = User.objects.select_related("tenant").get(pk=user.pk)
        fields = [f.attname for f in User._meta.concrete_fields]
        assert [getattr(loaded, f) for f in fields] == [getattr(expected, f) for f in fields]
        if expected.tenant_id:
            tenant_fields = [f.attname for f in type(expected.tenant)._meta.concrete_fields]
            assert [getattr(loaded.tenant, f) for f in tenant_fields] == [
                getattr(expected.tenant, f) for f in tenant_fields
            ]
    assert user_with_tenant(user_id=uuid4()) is None
