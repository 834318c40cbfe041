"""Scoped throttles on refresh, chat token, invitation and set-password endpoints:
the request past the limit gets 429 with ``Retry-After`` in the error envelope,
and nobody else's budget moves (another user, another address, another tenant)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import SignInCounter
from conftest import bearer_client
from onboarding.set_password import set_password_url

pytestmark = pytest.mark.django_db

PASSWORD = "a-fine-long-passphrase"
# A window no test run straddles: the N+1-th request is always in the first one's window.
WINDOW = 86400


@pytest.fixture
def rates(settings):
    """``rates(chat_token=2)``: those scopes get ``<n>/<WINDOW>``."""

    def set_(**limits: int) -> None:
        conf = django_settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **conf,
            "DEFAULT_THROTTLE_RATES": {
                **conf["DEFAULT_THROTTLE_RATES"],
                **{scope: f"{n}/{WINDOW}" for scope, n in limits.items()},
            },
        }

    return set_


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled"
    wait = int(response["Retry-After"])
    assert 1 <= wait <= WINDOW
    # The message says when to try again, in the envelope every other error uses.
    assert set(body) == {"detail", "code"}
    assert f"{wait} seconds" in body["detail"]


def refresh(user=None, *, raw: str | None = None, address: str = "198.51.100.1"):
    raw = raw if raw is not None else str(RefreshToken.for_user(user))
    return APIClient(REMOTE_ADDR=address).post("/api/auth/refresh", {"refresh": raw}, format="json")


class TestChatToken:
    def test_the_request_past_the_limit_waits_and_others_do_not(self, world, rates):
        rates(chat_token=3)
        member = bearer_client(world.member)
        assert [member.get("/api/stream/token").status_code for _ in range(3)] == [200] * 3
        assert_throttled(member.get("/api/stream/token"))
        # A colleague, and a user of another tenant, keep their own budgets.
        assert bearer_client(world.other_member).get("/api/stream/token").status_code == 200
        assert bearer_client(world.outsider_member).get("/api/stream/token").status_code == 200

    def test_anonymous_callers_get_401_not_a_count(self, world, rates):
        rates(chat_token=1)
        for _ in range(3):
            assert APIClient().get("/api/stream/token").status_code == 401
        assert bearer_client(world.member).get("/api/stream/token").status_code == 200

    def test_the_default_fits_the_web_client(self):
        """One token per page load and one an hour per tab: reloads and many tabs fit."""
        from accounts.throttling import parse_rate

        count, seconds = parse_rate(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["chat_token"])
        assert count / seconds * 60 >= 20
        count, seconds = parse_rate(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_refresh"])
        assert count / seconds * 60 >= 20


class TestRefresh:
    def test_per_account_past_the_limit(self, world, rates):
        rates(auth_refresh=2)
        assert refresh(world.member).status_code == 200
        assert refresh(world.member).status_code == 200
        assert_throttled(refresh(world.member))
        # Same address, another account; and another tenant's account: unaffected.
        assert refresh(world.other_member).status_code == 200
        assert refresh(world.outsider_member).status_code == 200

    def test_the_budget_follows_the_account_not_the_address(self, world, rates):
        rates(auth_refresh=2)
        for address in ("198.51.100.1", "198.51.100.2"):
            assert refresh(world.member, address=address).status_code == 200
        assert_throttled(refresh(world.member, address="198.51.100.3"))

    def test_the_refresh_cookie_is_counted_like_the_body(self, world, rates):
        rates(auth_refresh=1)
        assert refresh(world.member).status_code == 200
        client = APIClient(enforce_csrf_checks=True)
        client.cookies[django_settings.JWT_COOKIE["REFRESH_NAME"]] = str(RefreshToken.for_user(world.member))
        assert_throttled(client.post("/api/auth/refresh", {}, format="json"))

    def test_forged_tokens_share_their_address_budget(self, world, rates):
        rates(auth_refresh=2)
        forged = str(RefreshToken.for_user(world.member))[:-4] + "AAAA"
        assert [refresh(raw=forged).status_code for _ in range(2)] == [401, 401]
        assert_throttled(refresh(raw=forged))
        # A forged token naming a victim does not spend the victim's budget...
        assert refresh(world.member, address="203.0.113.9").status_code == 200
        # ...and another address is not refused.
        assert refresh(raw=forged, address="203.0.113.9").status_code == 401


def _invite(admin, email="newbie@acme.test") -> str:
    response = bearer_client(admin).post("/api/invitations/", {"email": email}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["url"].rsplit("/", 1)[1]


def accept(token: str, *, password: str = PASSWORD, address: str = "198.51.100.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/invitations/accept", {"token": token, "password": password}, format="json"
    )


class TestInvitationAccept:
    def test_uses_per_address_past_the_limit(self, world, rates):
        rates(invitation=3)
        for guess in ("guess-1", "guess-2", "guess-3"):
            assert accept(guess).status_code == 400
        token = _invite(world.admin)
        assert_throttled(accept(token))
        # The same link from another address works: the limit is the address's.
        assert accept(token, address="198.51.100.2").status_code == 201

    def test_passwords_per_link_past_the_limit(self, world, rates):
        rates(set_password=2)
        token = _invite(world.admin)
        assert [accept(token, password="short").status_code for _ in range(2)] == [400, 400]
        # Even with a good password, from a new address, that link waits...
        assert_throttled(accept(token, address="198.51.100.7"))
        # ...while another tenant's link is untouched.
        other = _invite(world.outsider, email="newbie@globex.test")
        assert accept(other).status_code == 201

    def test_set_password_links_are_limited_alike(self, world, rates):
        rates(set_password=1)
        token = set_password_url(world.member).rsplit("/", 1)[1]
        assert accept(token, password="short").status_code == 400
        assert_throttled(accept(token))
        other = set_password_url(world.outsider_member).rsplit("/", 1)[1]
        assert accept(other).status_code == 201


class TestInvitationPage:
    def test_looking_at_links_is_counted_per_address(self, world, client, rates):
        rates(invitation=2)
        token = _invite(world.admin)
        assert client.get(f"/invite/{token}").status_code == 200
        assert client.get("/invite/guessed").status_code == 400
        refused = client.get(f"/invite/{token}")
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= WINDOW
        assert "Too many attempts. Wait" in refused.content.decode()
        other = APIClient(REMOTE_ADDR="198.51.100.2")
        assert other.get(f"/invite/{token}").status_code == 200

    def test_passwords_per_link_on_the_page(self, world, client, rates):
        rates(set_password=1)
        token = _invite(world.admin)
        form = {"password": "short", "password_again": "short"}
        assert client.post(f"/invite/{token}", form).status_code == 200  # the form, with its errors
        refused = client.post(f"/invite/{token}", {"password": PASSWORD, "password_again": PASSWORD})
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) >= 1
        # The API counts the same link's passwords.
        assert_throttled(accept(token, address="198.51.100.9"))


def test_documented_in_the_schema():
    schema = APIClient().get("/api/schema/?format=json").json()
    for path, method in [
        ("/api/auth/refresh", "post"),
        ("/api/stream/token", "get"),
        ("/api/invitations/accept/", "post"),
    ]:
        assert "429" in schema["paths"][path][method]["responses"], path


def test_a_mistyped_rate_stops_the_process_at_start():
    import subprocess
    import sys

    env = {**os.environ, "THROTTLE_CHAT_TOKEN_RATE": "thirty a minute"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "chatplatform.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert 'write "<count>/<seconds>"' in result.stderr


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_pass_more_than_the_limit(world, rates):
    """Counted by the increment's own result: N parallel requests, at most the limit pass."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes the writers anyway")
    rates(chat_token=5)
    token = str(RefreshToken.for_user(world.member).access_token)

    def fetch(_: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            return client.get("/api/stream/token").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(fetch, range(16)))
    assert statuses.count(200) == 5 and statuses.count(429) == 11, statuses


@pytest.mark.redis
def test_counted_in_redis_when_it_is_configured(world, rates, settings):
    import redis

    url = os.environ["TEST_REDIS_URL"]
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running")
    settings.REDIS_URL = url
    settings.CACHE_KEY_PREFIX = f"test-{os.getpid()}-{time.time_ns()}"
    rates(chat_token=1)
    member = bearer_client(world.member)
    assert member.get("/api/stream/token").status_code == 200
    assert_throttled(member.get("/api/stream/token"))
    assert not SignInCounter.objects.filter(key__startswith="throttle:chat_token").exists()
    server = redis.Redis.from_url(url)
    (key,) = server.keys(f"{settings.CACHE_KEY_PREFIX}:throttle:chat_token:*")
    assert server.get(key) == b"2"
    assert 0 < server.ttl(key) <= WINDOW + 1  # gone when its window ends
    server.script_flush()  # Redis restarted: the counting script is sent again
    assert_throttled(member.get("/api/stream/token"))
    assert server.get(key) == b"3"


def test_counted_in_the_database_while_redis_cannot_be_reached(world, rates, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    rates(chat_token=1)
    member = bearer_client(world.member)
    assert member.get("/api/stream/token").status_code == 200
    assert_throttled(member.get("/api/stream/token"))
    assert SignInCounter.objects.get(key__startswith="throttle:chat_token").count == 2


@pytest.mark.django_db(transaction=True)
def test_the_database_counter_relaxes_durability_only_for_its_own_commit():
    """Outside a transaction the count's commit does not wait for the disk; inside the
    caller's transaction nothing about that transaction's durability changes."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from django.db import transaction

    from accounts.throttling import DatabaseStore

    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    store = DatabaseStore()
    assert [store.incr("throttle:test:a", int(time.time()) + 60) for _ in range(2)] == [1, 2]
    assert synchronous_commit() == "on"  # the setting ended with the upsert's own transaction
    with transaction.atomic():
        assert store.incr("throttle:test:a", int(time.time()) + 60) == 3
        assert synchronous_commit() == "on"
