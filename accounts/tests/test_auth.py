"""Login, refresh, logout and how the access token is accepted (cookie + CSRF, or Bearer)."""

from __future__ import annotations

import time

import argon2
import jwt
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from conftest import bearer_client
from tenants.services import tenant_suspend

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
ME = "/api/auth/me"


def login(client: APIClient, email: str, password: str = PASSWORD):
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


def cookie_names():
    conf = django_settings.JWT_COOKIE
    return conf["ACCESS_NAME"], conf["REFRESH_NAME"]


def csrf_client() -> APIClient:
    return APIClient(enforce_csrf_checks=True)


class TestLogin:
    def test_returns_user_and_access_and_sets_cookies(self, world):
        client = csrf_client()
        response = login(client, world.member.email)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"user", "access"}
        assert body["user"]["email"] == world.member.email
        assert body["user"]["role"] == "member"
        assert "password" not in body["user"]
        access, refresh = cookie_names()
        assert response.cookies[access].value == body["access"]
        assert response.cookies[refresh].value
        assert "csrftoken" in response.cookies

    def test_cookie_attributes(self, world):
        response = login(csrf_client(), world.member.email)
        access, refresh = cookie_names()
        for name in (access, refresh):
            cookie = response.cookies[name]
            assert cookie["httponly"] is True
            assert cookie["samesite"] == "Lax"
            assert cookie["secure"] is True  # DEBUG is off in tests
        assert response.cookies[access]["path"] == "/"
        assert response.cookies[refresh]["path"] == "/api/auth/"
        assert access.startswith("__Host-") and refresh.startswith("__Secure-")
        assert response.cookies["csrftoken"]["httponly"] == ""  # readable by the client

    def test_wrong_password_unknown_email_and_inactive_user_get_the_same_401(self, world):
        inactive = UserFactory(tenant=world.tenant_a, is_active=False, email="gone@acme.test")
        answers = [
            login(APIClient(), world.member.email, "wrong-password"),
            login(APIClient(), "nobody@acme.test"),
            login(APIClient(), inactive.email),
        ]
        assert [r.status_code for r in answers] == [401, 401, 401]
        assert answers[0].json() == answers[1].json() == answers[2].json()
        assert answers[0].json()["code"] == "invalid_credentials"
        assert not answers[0].cookies.get(cookie_names()[0])

    def test_email_is_case_insensitive(self, world):
        assert login(APIClient(), world.member.email.upper()).status_code == 200

    def test_suspended_tenant_is_refused(self, world):
        tenant_suspend(tenant=world.tenant_a)
        response = login(APIClient(), world.member.email)
        assert response.status_code == 403
        assert response.json()["code"] == "tenant_suspended"

    def test_suspended_tenant_with_wrong_password_gets_401_not_403(self, world):
        tenant_suspend(tenant=world.tenant_a)
        assert login(APIClient(), world.member.email, "wrong").status_code == 401

    def test_staff_without_tenant_can_log_in(self, world):
        assert login(APIClient(), world.staff.email).status_code == 200

    def test_missing_fields_are_a_400_naming_them(self):
        response = APIClient().post(LOGIN, {}, format="json")
        assert response.status_code == 400
        assert set(response.json()["fields"]) == {"email", "password"}

    def test_form_encoded_body_is_refused(self, world):
        # JSON only: a cross-site HTML form cannot log a victim in as the attacker.
        response = APIClient().post(LOGIN, {"email": world.member.email, "password": PASSWORD})
        assert response.status_code == 415


class CountingHasher(MD5PasswordHasher):
    algorithm = "counting_md5"
    calls = 0

    def verify(self, password, encoded):
        type(self).calls += 1
        return super().verify(password, encoded)


class TestLoginThrottling:
    def test_failed_attempts_per_email_are_limited_before_hashing(self, world, settings):
        settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
        settings.LOGIN_FAILURE_RATE = "3/300"
        victim = UserFactory(tenant=world.tenant_a, email="victim@acme.test")
        bystander = UserFactory(tenant=world.tenant_a, email="bystander@acme.test")
        CountingHasher.calls = 0
        statuses = [login(APIClient(), victim.email, "guess").status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        hashed_so_far = CountingHasher.calls
        blocked = login(APIClient(), victim.email, "guess")
        assert blocked.status_code == 429
        assert blocked.json()["code"] == "throttled"
        assert 1 <= int(blocked["Retry-After"]) <= 300
        # The right password is refused too while locked, and nothing is hashed.
        assert login(APIClient(), victim.email).status_code == 429
        assert CountingHasher.calls == hashed_so_far
        # Other accounts are unaffected.
        assert login(APIClient(), bystander.email).status_code == 200

    def test_success_resets_the_failure_count(self, world, settings):
        settings.LOGIN_FAILURE_RATE = "3/300"
        for _ in range(2):
            login(APIClient(), world.member.email, "guess")
        assert login(APIClient(), world.member.email).status_code == 200
        for _ in range(2):
            assert login(APIClient(), world.member.email, "guess").status_code == 401

    def test_all_attempts_per_address_are_limited(self, world, settings):
        settings.LOGIN_IP_RATE = "5/3600"
        statuses = [login(APIClient(), f"someone{i}@x.test", "p").status_code for i in range(6)]
        assert statuses == [401] * 5 + [429]
        assert (
            int(login(APIClient(), world.member.email).get("Retry-After", 0)) >= 1
        )  # even a good login waits

    def test_forwarded_header_is_ignored_without_trusted_proxies(self, world, settings):
        # By default no proxy is trusted: a client rotating X-Forwarded-For is still one address.
        settings.LOGIN_IP_RATE = "3/3600"
        statuses = [
            APIClient(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
            .post(LOGIN, {"email": f"someone{i}@x.test", "password": "p"}, format="json")
            .status_code
            for i in range(4)
        ]
        assert statuses == [401] * 3 + [429]

    def test_trusted_proxy_gives_the_address_it_saw(self, world, settings):
        settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        settings.LOGIN_IP_RATE = "2/3600"

        def attempt(forwarded: str) -> int:
            client = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
            return client.post(LOGIN, {"email": "x@x.test", "password": "p"}, format="json").status_code

        # The proxy appends the address it saw; what the client put before it is not trusted.
        assert [attempt(f"{i}.{i}.{i}.{i}, 198.51.100.7") for i in range(1, 4)] == [401, 401, 429]
        assert attempt("198.51.100.8") == 401

    def test_default_limits_fit_an_office_behind_one_address(self):
        from accounts.throttling import parse_rate

        count, seconds = parse_rate(django_settings.LOGIN_IP_RATE)
        assert count / seconds * 60 >= 60
        count, seconds = parse_rate(django_settings.LOGIN_FAILURE_RATE)
        assert 5 <= count <= 20 and 60 <= seconds <= 900

    @pytest.mark.redis
    def test_throttle_counts_in_redis_when_it_is_configured(self, world, settings):
        import os

        import redis

        from accounts.models import SignInCounter

        url = os.environ["TEST_REDIS_URL"]
        try:
            redis.Redis.from_url(url).ping()
        except redis.exceptions.ConnectionError:
            pytest.skip("Redis is not running")
        settings.REDIS_URL = url
        settings.CACHE_KEY_PREFIX = f"test-{os.getpid()}-{time.time_ns()}"
        settings.LOGIN_FAILURE_RATE = "2/300"
        assert [login(APIClient(), world.member.email, "x").status_code for _ in range(3)] == [401, 401, 429]
        assert not SignInCounter.objects.exists()
        assert redis.Redis.from_url(url).keys(f"{settings.CACHE_KEY_PREFIX}:throttle:login-fail:*")

    def test_without_redis_the_counts_are_database_rows(self, world, settings):
        from accounts.models import SignInCounter

        settings.REDIS_URL = ""
        settings.LOGIN_FAILURE_RATE = "2/300"
        assert [login(APIClient(), world.member.email, "x").status_code for _ in range(3)] == [401, 401, 429]
        assert sorted(SignInCounter.objects.values_list("count", flat=True)) == [3, 3]  # address, account

    def test_with_redis_down_sign_ins_are_counted_in_the_database(self, world, settings, caplog):
        from accounts.models import SignInCounter

        # Nothing listens on port 1: every Redis call fails to connect.
        settings.REDIS_URL = "redis://127.0.0.1:1/0"
        settings.LOGIN_FAILURE_RATE = "2/300"
        assert [login(APIClient(), world.member.email, "x").status_code for _ in range(3)] == [401, 401, 429]
        assert sorted(SignInCounter.objects.values_list("count", flat=True)) == [3, 3]
        assert "Redis" in caplog.text
        assert login(APIClient(), world.admin.email).status_code == 200

    def test_ended_windows_are_removed(self, world, settings):
        from accounts.models import SignInCounter

        settings.REDIS_URL = ""
        SignInCounter.objects.create(key="throttle:login-ip:old:0", count=7, expires_at=int(time.time()) - 1)
        login(APIClient(), world.member.email, "x")
        assert not SignInCounter.objects.filter(key="throttle:login-ip:old:0").exists()


class TestBearer:
    def test_bearer_needs_no_csrf(self, world):
        access = login(APIClient(), world.admin.email).json()["access"]
        client = csrf_client()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        response = client.patch(f"/api/users/{world.admin.pk}/", {"full_name": "Renamed"}, format="json")
        assert response.status_code == 200

    def test_me(self, world):
        access = login(APIClient(), world.member.email).json()["access"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        assert client.get(ME).json()["id"] == str(world.member.pk)

    @pytest.mark.parametrize("role", ["admin", "moderator", "member"])
    def test_me_says_what_the_client_needs_to_show_role_dependent_controls(self, world, role):
        user = world.by_role(role)
        me = bearer_client(user).get(ME).json()
        assert {k: me[k] for k in ("id", "email", "role", "tenant", "tenant_slug", "tenant_name")} == {
            "id": str(user.pk),
            "email": user.email,
            "role": role,
            "tenant": str(world.tenant_a.pk),
            "tenant_slug": "acme",
            "tenant_name": "Acme",
        }
        assert me["is_staff"] is False
        assert me["chat_user_id"] == str(user.pk)

    def test_me_for_platform_staff_has_no_tenant(self, world):
        me = bearer_client(world.staff).get(ME).json()
        assert (me["is_staff"], me["tenant"], me["tenant_slug"], me["tenant_name"]) == (
            True,
            None,
            None,
            None,
        )

    def test_me_is_one_query(self, world):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = bearer_client(world.member)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(ME).status_code == 200
        assert len(ctx.captured_queries) == 1  # the user with its tenant, by authentication

    def test_login_answers_the_same_user(self, world):
        body = login(APIClient(), world.member.email).json()
        assert body["user"]["tenant_name"] == "Acme"
        assert body["user"] == bearer_client(world.member).get(ME).json()

    def test_anonymous_gets_401(self):
        response = APIClient().get(ME)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
    @pytest.mark.parametrize("algorithm", ["none", "HS512"])
    def test_tokens_with_other_algorithms_are_refused(self, world, algorithm):
        payload = {
            "token_type": "access",
            "user_id": str(world.admin.pk),
            "exp": int(time.time()) + 300,
            "jti": "x",
        }
        token = jwt.encode(
            payload, django_settings.SECRET_KEY if algorithm != "none" else None, algorithm=algorithm
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get(ME).status_code == 401

    def test_refresh_token_is_not_an_access_token(self, world):
        client = APIClient()
        login(client, world.member.email)
        refresh = client.cookies[cookie_names()[1]].value
        bearer = APIClient()
        bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh}")
        assert bearer.get(ME).status_code == 401

    @pytest.mark.parametrize("through", ["bearer", "cookie"])
    def test_an_expired_access_token_says_it_expired(self, world, through):
        from datetime import timedelta

        from rest_framework_simplejwt.tokens import AccessToken

        token = AccessToken.for_user(world.member)
        token.set_exp(lifetime=-timedelta(seconds=5))
        client = APIClient()
        if through == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        else:
            client.cookies[cookie_names()[0]] = str(token)
        response = client.get(ME)
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"  # what clients watch for to refresh
        assert "expired" in response.json()["detail"]
        assert "refresh" in response.json()["detail"]

    def test_a_token_that_expires_after_it_verified_says_it_expired(self, world, monkeypatch):
        from types import SimpleNamespace

        from rest_framework_simplejwt.tokens import AccessToken

        token = AccessToken.for_user(world.member)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get(ME).status_code == 200  # verified, and remembered
        # Past its expiry and the leeway, for the check of a remembered token only.
        later = token["exp"] + django_settings.SIMPLE_JWT["LEEWAY"]
        monkeypatch.setattr("accounts.jwt.time", SimpleNamespace(time=lambda: later))
        response = client.get(ME)
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"
        assert "expired" in response.json()["detail"]
        assert "refresh" in response.json()["detail"]

    def test_a_token_signature_is_checked_once_and_a_changed_one_still_refused(self, world, monkeypatch):
        from rest_framework_simplejwt.tokens import AccessToken

        checks = []
        verify = jwt.api_jws.PyJWS._verify_signature

        def counted(self, *args, **kwargs):
            checks.append(1)
            return verify(self, *args, **kwargs)

        monkeypatch.setattr(jwt.api_jws.PyJWS, "_verify_signature", counted)

        def me(token: str) -> int:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            return client.get(ME).status_code

        token = str(AccessToken.for_user(world.member))
        assert [me(token) for _ in range(3)] == [200, 200, 200]
        assert len(checks) == 1
        header, payload, signature = token.split(".")
        forged = f"{header}.{payload}.{'B' if signature[0] != 'B' else 'C'}{signature[1:]}"
        assert me(forged) == 401
        assert len(checks) == 2
        assert me(str(AccessToken.for_user(world.admin))) == 200  # another token, checked
        assert len(checks) == 3

    def test_a_garbled_access_token_says_so(self, world):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        response = client.get(ME)
        assert response.status_code == 401
        assert response.json() == {
            "detail": "The access token is not valid: sign in again.",
            "code": "token_not_valid",
        }


class TestCookieAuthAndCsrf:
    def test_cookie_authenticates_safe_requests(self, world):
        client = csrf_client()
        login(client, world.member.email)
        assert client.get(ME).status_code == 200

    def test_unsafe_request_without_csrf_token_is_refused(self, world):
        client = csrf_client()
        login(client, world.admin.email)
        response = client.patch(f"/api/users/{world.admin.pk}/", {"full_name": "X"}, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"

    def test_unsafe_request_with_wrong_csrf_token_is_refused(self, world):
        client = csrf_client()
        login(client, world.admin.email)
        response = client.patch(
            f"/api/users/{world.admin.pk}/", {"full_name": "X"}, format="json", HTTP_X_CSRFTOKEN="x" * 32
        )
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"

    def test_unsafe_request_with_csrf_token_passes(self, world):
        client = csrf_client()
        login(client, world.admin.email)
        response = client.patch(
            f"/api/users/{world.admin.pk}/",
            {"full_name": "X"},
            format="json",
            HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
        )
        assert response.status_code == 200

    def test_foreign_origin_is_refused_even_with_the_token(self, world, settings):
        settings.COOKIE_SECURE = True
        client = csrf_client()
        login(client, world.admin.email)
        response = client.patch(
            f"/api/users/{world.admin.pk}/",
            {"full_name": "X"},
            format="json",
            HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
            HTTP_ORIGIN="https://evil.example",
        )
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"


class TestRefresh:
    def test_refresh_from_cookie_needs_csrf_and_rotates(self, world):
        client = csrf_client()
        login(client, world.member.email)
        old_refresh = client.cookies[cookie_names()[1]].value
        assert client.post(REFRESH, {}, format="json").json()["code"] == "csrf_failed"
        response = client.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
        assert response.status_code == 200
        assert set(response.json()) == {"access"}
        new_refresh = response.cookies[cookie_names()[1]].value
        assert new_refresh != old_refresh
        # The used token is refused from now on.
        replay = APIClient().post(REFRESH, {"refresh": old_refresh}, format="json")
        assert replay.status_code == 401
        assert replay.json()["code"] == "token_not_valid"

    def test_refresh_from_body_returns_the_new_pair_in_the_body(self, world):
        client = APIClient()
        login(client, world.member.email)
        old = client.cookies[cookie_names()[1]].value
        first = APIClient().post(REFRESH, {"refresh": old}, format="json")
        assert first.status_code == 200
        assert set(first.json()) == {"access", "refresh"}
        second = APIClient().post(REFRESH, {"refresh": first.json()["refresh"]}, format="json")
        assert second.status_code == 200
        assert APIClient().post(REFRESH, {"refresh": old}, format="json").status_code == 401

    def test_new_access_token_works(self, world):
        client = APIClient()
        login(client, world.member.email)
        access = (
            APIClient()
            .post(REFRESH, {"refresh": client.cookies[cookie_names()[1]].value}, format="json")
            .json()["access"]
        )
        bearer = APIClient()
        bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        assert bearer.get(ME).status_code == 200

    def test_missing_or_garbage_token(self):
        assert APIClient().post(REFRESH, {}, format="json").status_code == 401
        assert APIClient().post(REFRESH, {"refresh": "garbage"}, format="json").status_code == 401

    def test_suspended_tenant_cannot_refresh(self, world):
        client = APIClient()
        login(client, world.member.email)
        tenant_suspend(tenant=world.tenant_a)
        response = APIClient().post(
            REFRESH, {"refresh": client.cookies[cookie_names()[1]].value}, format="json"
        )
        assert response.status_code == 403
        assert response.json()["code"] == "tenant_suspended"

    def test_deactivated_user_cannot_refresh(self, world):
        client = APIClient()
        login(client, world.member.email)
        world.member.is_active = False
        world.member.save()
        response = APIClient().post(
            REFRESH, {"refresh": client.cookies[cookie_names()[1]].value}, format="json"
        )
        assert response.status_code == 401


class TestRefreshReuse:
    """A rotated refresh token that comes back was copied: every session of the account ends."""

    @staticmethod
    def _age_the_blacklist(seconds: int = 60) -> None:
        from datetime import timedelta

        from django.utils import timezone
        from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

        BlacklistedToken.objects.update(blacklisted_at=timezone.now() - timedelta(seconds=seconds))

    def test_reuse_after_rotation_ends_every_session_of_the_account(self, world):
        from audit.models import AuditEvent

        laptop, phone, other = APIClient(), APIClient(), APIClient()
        login(laptop, world.member.email)
        login(phone, world.member.email)
        login(other, world.other_member.email)
        stolen = laptop.cookies[cookie_names()[1]].value
        rotated = APIClient().post(REFRESH, {"refresh": stolen}, format="json").json()["refresh"]
        self._age_the_blacklist()

        replay = APIClient().post(REFRESH, {"refresh": stolen}, format="json")
        assert replay.status_code == 401
        assert replay.json()["code"] == "token_not_valid"
        assert "every session of the account has ended" in replay.json()["detail"]
        for token in (rotated, phone.cookies[cookie_names()[1]].value):
            assert APIClient().post(REFRESH, {"refresh": token}, format="json").status_code == 401
        # Another account keeps its session.
        other_token = other.cookies[cookie_names()[1]].value
        assert APIClient().post(REFRESH, {"refresh": other_token}, format="json").status_code == 200
        event = AuditEvent.objects.get(action="auth.refresh_reused")
        assert (event.target_id, event.tenant_id) == (str(world.member.pk), world.tenant_a.pk)
        assert event.changes == {"sessions_ended": [None, 2]}
        # And the owner logs in again.
        assert login(APIClient(), world.member.email).status_code == 200

    def test_two_tabs_refreshing_at_once_only_lose_the_race(self, world):
        from audit.models import AuditEvent

        client = APIClient()
        login(client, world.member.email)
        token = client.cookies[cookie_names()[1]].value
        winner = APIClient().post(REFRESH, {"refresh": token}, format="json").json()["refresh"]
        loser = APIClient().post(REFRESH, {"refresh": token}, format="json")
        assert loser.status_code == 401
        assert "every session" not in loser.json()["detail"]
        assert APIClient().post(REFRESH, {"refresh": winner}, format="json").status_code == 200
        assert not AuditEvent.objects.filter(action="auth.refresh_reused").exists()

    def test_a_forged_copy_of_a_used_token_ends_nothing(self, world):
        client = APIClient()
        login(client, world.member.email)
        token = client.cookies[cookie_names()[1]].value
        APIClient().post(REFRESH, {"refresh": token}, format="json")
        self._age_the_blacklist()
        header, payload, _signature = token.split(".")
        forged = f"{header}.{payload}.{'A' * 43}"
        assert APIClient().post(REFRESH, {"refresh": forged}, format="json").status_code == 401
        login(client, world.member.email)
        fresh = client.cookies[cookie_names()[1]].value
        assert APIClient().post(REFRESH, {"refresh": fresh}, format="json").status_code == 200


class TestLogout:
    def test_logout_blacklists_refresh_and_clears_cookies(self, world):
        client = csrf_client()
        login(client, world.member.email)
        refresh = client.cookies[cookie_names()[1]].value
        response = client.post(LOGOUT, {}, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
        assert response.status_code == 204
        access_name, refresh_name = cookie_names()
        assert response.cookies[access_name].value == ""
        assert response.cookies[refresh_name].value == ""
        assert response.cookies[refresh_name]["max-age"] == 0
        assert APIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code == 401

    def test_logout_with_body_token(self, world):
        client = APIClient()
        login(client, world.member.email)
        refresh = client.cookies[cookie_names()[1]].value
        assert APIClient().post(LOGOUT, {"refresh": refresh}, format="json").status_code == 204
        assert APIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code == 401

    def test_cookie_logout_needs_csrf(self, world):
        client = csrf_client()
        login(client, world.member.email)
        assert client.post(LOGOUT, {}, format="json").status_code == 403


class TestImmediateRevocation:
    def _bearer(self, user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(APIClient(), user.email).json()['access']}")
        return client

    def test_deactivation_ends_access_at_once(self, world):
        client = self._bearer(world.member)
        assert client.get(ME).status_code == 200
        world.member.is_active = False
        world.member.save()
        response = client.get(ME)
        assert response.status_code == 401
        assert response.json()["code"] == "user_inactive"

    def test_suspension_ends_access_at_once(self, world):
        client = self._bearer(world.member)
        tenant_suspend(tenant=world.tenant_a)
        response = client.get(ME)
        assert response.status_code == 403
        assert response.json()["code"] == "tenant_suspended"

    def test_password_change_ends_other_sessions(self, world):
        client = self._bearer(world.member)
        world.member.set_password("a-brand-new-passphrase")
        world.member.save()
        response = client.get(ME)
        assert response.status_code == 401
        assert response.json()["code"] == "password_changed"

    def test_role_change_applies_on_next_request(self, world):
        client = self._bearer(world.moderator)
        assert client.post("/api/channels/", {"name": "x"}, format="json").status_code == 201
        world.moderator.role = "member"
        world.moderator.save()
        assert client.post("/api/channels/", {"name": "y"}, format="json").status_code == 403


def test_argon2_is_the_first_password_hasher():
    from chatplatform import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0] == "accounts.hashers.Argon2PasswordHasher"


def test_argon2id_with_the_login_sized_parameters(db, settings):
    from chatplatform import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    parameters = argon2.extract_parameters(
        UserFactory(password="a-strong-passphrase-1").password[len("argon2") :]
    )
    assert (parameters.type, parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        argon2.Type.ID,
        19 * 1024,
        2,
        1,
    )


def test_a_hash_with_django_default_parameters_logs_in_and_is_rewritten(db, settings):
    from chatplatform import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = UserFactory()
    user.password = DjangoArgon2().encode("a-strong-passphrase-1", DjangoArgon2().salt())
    user.save()
    assert login(APIClient(), user.email, "a-strong-passphrase-1").status_code == 200
    user.refresh_from_db()
    assert argon2.extract_parameters(user.password[len("argon2") :]).memory_cost == 19 * 1024


def test_argon2_hashes_new_passwords(db, settings):
    from chatplatform import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = UserFactory(password="a-strong-passphrase-1")
    assert user.password.startswith("argon2")
    assert login(APIClient(), user.email, "a-strong-passphrase-1").status_code == 200
