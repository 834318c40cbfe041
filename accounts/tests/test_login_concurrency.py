"""The per-account limit holds under real concurrency: several server processes
(gunicorn workers), many attempts at once, no Redis. At most the limit of them
may reach the password check; every other one is refused before it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from chatplatform.tests.servers import ROOT, free_port, python, running

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIMIT = 5
ATTEMPTS = 30
EMAIL = "victim@acme.test"


def _database_url(tmp_path) -> str:
    """The database the servers share: this test's own on PostgreSQL; a migrated
    file on SQLite (the test database there lives in this process's memory)."""
    if connection.vendor == "postgresql":
        conf = connection.settings_dict
        return f"postgres://{conf['USER']}@{conf['HOST']}:{conf['PORT']}/{conf['NAME']}"
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    subprocess.run(  # noqa: S603
        [python(), "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    return url


def _create_victim(env: dict[str, str]) -> None:
    # Through the server's own settings, so the hash is Argon2 as in production.
    code = (
        "from accounts.models import User; "
        f"User.objects.create_user({EMAIL!r}, 'the-right-passphrase', is_staff=True)"
    )
    subprocess.run(  # noqa: S603
        [python(), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def _attempt_all_at_once(url: str) -> list[int]:
    start = threading.Barrier(10)

    def attempt(_: int) -> int:
        with requests.Session() as session:
            with contextlib.suppress(threading.BrokenBarrierError):
                start.wait(timeout=10)
            return session.post(
                url, json={"email": EMAIL, "password": "a-wrong-guess"}, timeout=60
            ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(attempt, range(ATTEMPTS)))


@pytest.mark.parametrize("store", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_concurrent_wrong_passwords_reach_the_check_at_most_the_limit(tmp_path, store):
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": _database_url(tmp_path),
        "REDIS_URL": "",
        "LOGIN_FAILURE_RATE": f"{LIMIT}/3600",
        "LOGIN_IP_RATE": "1000/60",
    }
    if store == "redis":
        import redis

        url = os.environ["TEST_REDIS_URL"]
        try:
            redis.Redis.from_url(url).ping()
        except redis.exceptions.ConnectionError:
            pytest.skip("Redis is not running")
        env |= {"REDIS_URL": url, "CACHE_KEY_PREFIX": f"test-{tmp_path.name}"}
    _create_victim(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # --preload: the workers fork from one loaded app, which starts faster on a busy machine.
    args = [python(), "-m", "gunicorn", "chatplatform.wsgi:application", "--preload", "-w", "3"]
    args += ["-b", f"127.0.0.1:{port}"]
    with running(args, env, base + "/api/health", timeout=120):
        statuses = _attempt_all_at_once(base + "/api/auth/login")
    assert set(statuses) <= {401, 429}, statuses
    # 401 means the password was checked; 429, refused before it.
    assert statuses.count(401) <= LIMIT, statuses
    assert statuses.count(429) >= ATTEMPTS - LIMIT
