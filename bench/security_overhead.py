"""What the security headers and the request throttles cost per request.

In-process through Django's full middleware stack (no network), DEBUG off,
timed in interleaved rounds so that both sides of each ratio meet the same
machine load:

- ``GET /api/stream/token`` with its throttle (one counter increment per
  request: a database upsert, or Redis ``INCR`` with ``--redis``) against the
  same view with no throttle;
- ``GET /login`` (a web client page: policy with the page's script hashes) and
  ``GET /admin/login/`` with the Content-Security-Policy middleware against the
  same requests without it.

    .venv/bin/python bench/security_overhead.py [--rounds 7] [--requests 300] [--redis]

Uses a fresh SQLite file, or a fresh PostgreSQL database when DATABASE_URL
names one; ``--redis`` counts in TEST_REDIS_URL (default redis://127.0.0.1:6379/15).
Prints the median per-request time of each side and their ratio.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatengine.tests.live import fresh_database, migrate, server_env  # noqa: E402


def per_request_ms(call: Callable[[], object], requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        call()
    return (time.perf_counter() - started) / requests * 1000


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--redis", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fresh_database(Path(tmp)) as database_url:
        migrate(database_url)
        redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15") if args.redis else ""
        os.environ.update(
            server_env(
                database_url,
                ALLOWED_HOSTS="testserver",
                LOG_LEVEL="ERROR",
                REDIS_URL=redis_url,
                CACHE_KEY_PREFIX=f"bench-security-{os.getpid()}",
                # A limit no run reaches: every request is counted, none refused.
                THROTTLE_CHAT_TOKEN_RATE="1000000000/86400",
            )
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.db import connection
        from django.test import Client, override_settings
        from rest_framework_simplejwt.tokens import RefreshToken

        from accounts.models import User
        from streamsync.api.views import ChatTokenView
        from tenants.models import Tenant

        # The console's page names its static files; without collectstatic, by their plain names.
        override_settings(
            STORAGES={
                **settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            }
        ).enable()
        tenant = Tenant.objects.create(name="Bench", slug="bench")
        user = User.objects.create_user(email="bench@bench.test", password="x" * 20, tenant=tenant)
        bearer = f"Bearer {RefreshToken.for_user(user).access_token}"
        api = Client(HTTP_AUTHORIZATION=bearer)
        browser = Client()
        assert api.get("/api/stream/token").status_code == 200

        throttles = ChatTokenView.throttle_classes
        without_csp = [
            m for m in settings.MIDDLEWARE if m != "chatplatform.csp.ContentSecurityPolicyMiddleware"
        ]
        web_client_built = (Path(settings.WEB_CLIENT_ROOT) / "login.html").is_file()

        def token_unthrottled() -> float:
            ChatTokenView.throttle_classes = []
            try:
                return per_request_ms(lambda: api.get("/api/stream/token"), args.requests)
            finally:
                ChatTokenView.throttle_classes = throttles

        def page(path: str, csp: bool) -> float:
            if csp:
                return per_request_ms(lambda: browser.get(path), args.requests)
            with override_settings(MIDDLEWARE=without_csp):
                return per_request_ms(lambda: browser.get(path), args.requests)

        cases: dict[str, tuple[Callable[[], float], Callable[[], float]]] = {
            f"chat token, throttled ({'redis' if redis_url else connection.vendor} counter)": (
                lambda: per_request_ms(lambda: api.get("/api/stream/token"), args.requests),
                token_unthrottled,
            ),
            "/admin/login/ with CSP": (
                lambda: page("/admin/login/", True),
                lambda: page("/admin/login/", False),
            ),
        }
        if web_client_built:
            cases["/login (web client) with CSP"] = (
                lambda: page("/login", True),
                lambda: page("/login", False),
            )
        else:
            print("(the web client is not built: /login is not measured; make web)")

        results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in cases}
        for _ in range(args.rounds):
            for name, (measured, baseline) in cases.items():
                results[name][1].append(baseline())
                results[name][0].append(measured())

        print(f"{args.rounds} rounds x {args.requests} requests, in-process, DEBUG off, {connection.vendor}")
        print(f"{'case':<45} {'baseline ms':>12} {'with ms':>10} {'ratio':>7} {'added us':>9}")
        for name, (measured, baseline) in results.items():
            with_ms, base_ms = statistics.median(measured), statistics.median(baseline)
            print(
                f"{name:<45} {base_ms:>12.3f} {with_ms:>10.3f} {with_ms / base_ms:>7.2f} "
                f"{(with_ms - base_ms) * 1000:>9.0f}"
            )


if __name__ == "__main__":
    main()
