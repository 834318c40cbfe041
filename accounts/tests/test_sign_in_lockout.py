"""One lockout per account and one throttle per client address for every way of
signing in: the API login, the console's login page, and the console's own
password check when staff change their password."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_auth import CountingHasher, login

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
WAIT = "Too many sign-in attempts"


def console_login(email: str, password: str = PASSWORD, **client_kwargs) -> tuple[Client, str]:
    client = Client(**client_kwargs)
    response = client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"})
    return client, response.content.decode() if response.status_code == 200 else ""


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def staff(world):
    world.staff.is_superuser = True
    world.staff.save()
    return world.staff


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = [f"{CountingHasher.__module__}.CountingHasher"]
    CountingHasher.calls = 0
    return CountingHasher


class TestConsoleLogin:
    def test_an_account_locked_through_the_api_is_locked_on_the_console(
        self, staff, settings, counting_hasher
    ):
        staff.set_password(PASSWORD)
        staff.save()
        settings.LOGIN_FAILURE_RATE = "3/3600"
        assert [login(APIClient(), staff.email, "guess").status_code for _ in range(3)] == [401] * 3
        hashed_so_far = counting_hasher.calls
        client, page = console_login(staff.email)  # the right password
        assert not signed_in(client)
        assert WAIT in page and "minute" in page
        assert counting_hasher.calls == hashed_so_far  # refused before any hashing

    def test_console_failures_lock_the_api_login(self, staff, settings):
        settings.LOGIN_FAILURE_RATE = "3/3600"
        for _ in range(3):
            client, page = console_login(staff.email.upper(), "guess")
            assert "correct email" in page and not signed_in(client)
        locked = login(APIClient(), staff.email)
        assert locked.status_code == 429
        assert locked.json()["code"] == "throttled"
        assert 1 <= int(locked["Retry-After"]) <= 3600

    def test_console_attempts_count_per_client_address(self, staff, settings):
        settings.LOGIN_IP_RATE = "3/3600"
        for i in range(3):
            console_login(f"someone{i}@x.test", "guess", REMOTE_ADDR="198.51.100.9")
        client, page = console_login(staff.email, REMOTE_ADDR="198.51.100.9")
        assert WAIT in page and not signed_in(client)
        # The address is one counter for every way in: the API login waits too.
        assert (
            APIClient(REMOTE_ADDR="198.51.100.9")
            .post("/api/auth/login", {"email": staff.email, "password": PASSWORD}, format="json")
            .status_code
            == 429
        )
        # Another address is not affected.
        client, _ = console_login(staff.email, REMOTE_ADDR="198.51.100.10")
        assert signed_in(client)

    def test_a_good_console_login_resets_the_failure_count(self, staff, settings):
        settings.LOGIN_FAILURE_RATE = "3/3600"
        for _ in range(2):
            console_login(staff.email, "guess")
        client, _ = console_login(staff.email)
        assert signed_in(client)
        for _ in range(2):
            assert login(APIClient(), staff.email, "guess").status_code == 401

    def test_console_lockout_is_audited(self, staff, settings):
        from audit.models import AuditEvent

        settings.LOGIN_FAILURE_RATE = "2/3600"
        for _ in range(3):
            console_login(staff.email, "guess")
        assert list(
            AuditEvent.objects.filter(action="auth.lockout").values_list("target_repr", flat=True)
        ) == [staff.email]


class TestConsolePasswordChange:
    def test_old_password_guesses_count_against_the_account(self, staff, settings, counting_hasher):
        staff.set_password(PASSWORD)  # with the counting hasher
        staff.save()
        settings.LOGIN_FAILURE_RATE = "2/3600"
        client = Client()
        client.force_login(staff)
        form = {
            "old_password": "guess",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        }
        for _ in range(2):
            page = client.post("/admin/password_change/", form).content.decode()
            assert "Your old password was entered incorrectly" in page
        hashed_so_far = counting_hasher.calls
        page = client.post("/admin/password_change/", {**form, "old_password": PASSWORD}).content.decode()
        assert WAIT in page
        assert counting_hasher.calls == hashed_so_far
        staff.refresh_from_db()
        assert staff.check_password(PASSWORD)


def test_an_unknown_console_user_is_counted_like_a_known_one(world, settings):
    settings.LOGIN_FAILURE_RATE = "2/3600"
    for _ in range(2):
        console_login("nobody@platform.test", "guess")
    _, page = console_login("nobody@platform.test", "guess")
    assert WAIT in page
    UserFactory(tenant=None, is_staff=True, email="late@platform.test")  # unrelated account unaffected
    client, _ = console_login("late@platform.test")
    assert signed_in(client)


def test_the_right_old_password_still_changes_it(staff):
    client = Client()
    client.force_login(staff)
    new = "a-new-long-passphrase"
    response = client.post(
        "/admin/password_change/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(new)


@pytest.mark.parametrize(
    ("seconds", "wait"), [(1, "a minute"), (60, "a minute"), (61, "2 minutes"), (300, "5 minutes")]
)
def test_a_refusal_says_how_long_to_wait_in_minutes(seconds, wait):
    from accounts.throttling import SignInRefused

    assert SignInRefused(seconds).message == f"Too many sign-in attempts. Wait {wait} and try again."
