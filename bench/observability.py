"""What observability costs a request, and what a scrape costs.

    .venv/bin/python bench/observability.py [--requests 3000] [--rounds 5]

In one process, through Django's WSGI handler (no server, no network), with
production settings (DEBUG off, JSON logs written to /dev/null):

- ``GET /api/health`` (the cheapest view: no database) with the project's
  middleware, against the same stack without ``RequestIdMiddleware`` (no
  request id, access line or request metrics): the ratio and the cost per
  request in microseconds, split into the access line and the rest (a third
  stack: the project's, with the access logger off). Rounds alternate between
  the stacks, so a shared machine's noise falls on all of them;
- ``GET /metrics`` on a database with an empty outbox: its time against one
  ``GET /api/health``, and its SQL statements.

A fresh SQLite database by default (migrated); ``BENCH_DATABASE_URL`` for another.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _environ(path: str, **extra: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **extra,
    }


def _run(handler: Any, path: str, count: int) -> float:
    """Seconds per request over ``count`` requests."""

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        assert status.startswith("200"), status

    started = time.perf_counter()
    for _ in range(count):
        body = handler(_environ(path), start_response)
        for _chunk in body:
            pass
        body.close()
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="requests per round and stack")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="obs-bench-"))
    default_database = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", default_database)
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-0123456789abcdef",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        STREAM_API_KEY="bench-key",
        STREAM_API_SECRET="bench-secret-0123456789abcdef",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        DJANGO_SETTINGS_MODULE="chatplatform.settings",
    )
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import override_settings

    call_command("migrate", "--noinput", verbosity=0)
    # The JSON lines are formatted and written, to nowhere.
    (console,) = [h for h in logging.getLogger().handlers if h.name == "console"]
    console.setStream(open(os.devnull, "w"))  # noqa: SIM115  (for the process's life)

    observed = WSGIHandler()
    bare_middleware = [m for m in settings.MIDDLEWARE if m != "chatplatform.middleware.RequestIdMiddleware"]
    with override_settings(MIDDLEWARE=bare_middleware):
        bare = WSGIHandler()

    for handler in (observed, bare):  # warm up: imports, URL resolver, first connection
        _run(handler, "/api/health", 200)
    access = logging.getLogger("chatplatform.request")
    with_obs, without, silent = [], [], []
    for _ in range(args.rounds):
        with_obs.append(_run(observed, "/api/health", args.requests))
        without.append(_run(bare, "/api/health", args.requests))
        access.disabled = True  # the request id and the metrics, without the access line
        silent.append(_run(observed, "/api/health", args.requests))
        access.disabled = False
    a, b, c = statistics.median(with_obs), statistics.median(without), statistics.median(silent)

    _run(observed, "/metrics", 20)
    scrape = statistics.median(_run(observed, "/metrics", 50) for _ in range(args.rounds))
    connection.force_debug_cursor = True
    reset_queries()
    _run(observed, "/metrics", 1)
    statements = len(connection.queries)
    connection.force_debug_cursor = False

    print(f"{'measure':<44} {'value':>12}")
    print(f"{'GET /api/health, observed (us/request)':<44} {a * 1e6:>12.1f}")
    print(f"{'GET /api/health, bare stack (us/request)':<44} {b * 1e6:>12.1f}")
    print(f"{'ratio observed / bare':<44} {a / b:>12.3f}")
    print(f"{'cost per request (us)':<44} {(a - b) * 1e6:>12.1f}")
    print(f"{'  of which the access line (us)':<44} {(a - c) * 1e6:>12.1f}")
    print(f"{'  of which request id and metrics (us)':<44} {(c - b) * 1e6:>12.1f}")
    print(f"{'GET /metrics (ms/scrape)':<44} {scrape * 1e3:>12.2f}")
    print(f"{'ratio scrape / observed health request':<44} {scrape / a:>12.1f}")
    print(f"{'SQL statements per scrape':<44} {statements:>12d}")


if __name__ == "__main__":
    main()
