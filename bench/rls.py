"""What row-level security costs: API requests and bulk loads, scoped and not.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rlsbench DATABASE_ROLE=rlsbench_owner \\
        .venv/bin/python bench/rls.py [--requests 200] [--repeat 5] [--rows 20000]

The role must exist, without SUPERUSER or BYPASSRLS, with CREATEDB (the
database is created for it if missing, and emptied first):

    psql -U postgres -c "CREATE ROLE rlsbench_owner NOLOGIN NOSUPERUSER NOBYPASSRLS CREATEDB"

Two tenants of 1,000 users and 200 channels each (10 members a channel).
Interleaved, ``--repeat`` times, medians:

- requests: a tenant admin's ``GET /api/users/`` and ``GET /api/channels/``
  (a page of 50, in-process through the whole middleware stack), scoped as
  in production, against the same requests with the scoping switched off
  (the policies then let every row through with the bypass): the ratio is
  what the scope statements and the policies cost a request;
- bulk: ``rows_insert`` of ``--rows`` users into a table under the policies
  (COPY into a temporary table, then ``INSERT ... SELECT``) against a straight
  ``COPY`` into the same table with its policies lifted for the transaction
  (rolled back both times).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

USERS, CHANNELS, MEMBERS = 1000, 200, 10


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Row-level security is PostgreSQL's: set DATABASE_URL to a PostgreSQL database.")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            sys.exit("The role bypasses row-level security: set DATABASE_ROLE (see the docstring).")
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    admin = populate()
    print(f"{server}; {os.cpu_count()} CPUs; load {load()}; medians of {args.repeat} runs")

    from django.test import Client
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts import authentication
    from tenants import rls

    client = Client(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(admin).access_token}")
    scope, lookup = rls.scope_for_actor, authentication.user_with_tenant
    print(f"{'request':<16} {'unscoped ms':>12} {'scoped ms':>10} {'ratio':>6}")
    for path in ("/api/users/", "/api/channels/"):
        runs = []
        for _ in range(args.repeat):
            # The lookup of the user scopes the connection in its own statement: off too.
            rls.scope_for_actor = lambda actor, request=None: None
            authentication.user_with_tenant = lambda *, user_id, scope=False: lookup(user_id=user_id)
            plain = time_requests(client, path, args.requests)
            rls.scope_for_actor, authentication.user_with_tenant = scope, lookup
            scoped = time_requests(client, path, args.requests)
            runs.append((plain, scoped))
        plain, scoped = (statistics.median(column) for column in zip(*runs, strict=True))
        print(f"{path:<16} {plain:>12.2f} {scoped:>10.2f} {scoped / plain:>5.2f}x", flush=True)

    print(f"{'bulk':<16} {'COPY s':>12} {'staged s':>10} {'ratio':>6}")
    runs = []
    for _ in range(args.repeat):
        runs.append(
            (
                time_rows_insert(admin.tenant_id, args.rows, lifted=True),
                time_rows_insert(admin.tenant_id, args.rows, lifted=False),
            )
        )
    plain, staged = (statistics.median(column) for column in zip(*runs, strict=True))
    print(f"{f'{args.rows:,} users':<16} {plain:>12.2f} {staged:>10.2f} {staged / plain:>5.2f}x")
    print(f"load {load()}")


def populate():
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from channels_app.models import Channel, Membership
    from tenants.models import Tenant
    from tenants.roles import Role

    password = make_password(None)
    admin = None
    for name in ("Acme", "Globex"):
        tenant = Tenant.objects.create(name=name, slug=name.lower())
        users = User.objects.bulk_create(
            User(
                tenant=tenant,
                email=f"user{n}@{tenant.slug}.test",
                full_name=f"User {n}",
                role=Role.ADMIN if n == 0 else Role.MEMBER,
                password=password,
            )
            for n in range(USERS)
        )
        admin = admin or users[0]
        channels = Channel.objects.bulk_create(
            Channel(tenant=tenant, slug=f"channel-{n}", name=f"Channel {n}") for n in range(CHANNELS)
        )
        Membership.objects.bulk_create(
            Membership(channel=channel, user=users[(n * MEMBERS + k) % USERS])
            for n, channel in enumerate(channels)
            for k in range(MEMBERS)
        )
    return User.objects.select_related("tenant").get(pk=admin.pk)


def time_requests(client, path: str, count: int) -> float:
    """Milliseconds per request."""
    started = time.perf_counter()
    for _ in range(count):
        response = client.get(path, secure=True, HTTP_HOST="127.0.0.1")
        assert response.status_code == 200, response.content
    return (time.perf_counter() - started) * 1000 / count


def time_rows_insert(tenant_id, rows: int, *, lifted: bool) -> float:
    from django.db import connection, connections, transaction
    from django.utils import timezone

    from accounts.models import User
    from chatplatform.db import rows_insert

    now = timezone.now()
    data = [(uuid.uuid4(), f"bulk{n}@bench.test", f"Bulk {n}", "!") for n in range(rows)]
    connections["default"].__dict__.pop("_row_security_active", None)
    try:
        with transaction.atomic():
            if lifted:
                with connection.cursor() as cursor:
                    cursor.execute("ALTER TABLE accounts_user NO FORCE ROW LEVEL SECURITY")
            started = time.perf_counter()
            rows_insert(
                User,
                ("id", "email", "full_name", "password"),
                data,
                constants={
                    "tenant": tenant_id,
                    "role": "member",
                    "is_active": True,
                    "is_staff": False,
                    "is_superuser": False,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
    finally:
        connections["default"].__dict__.pop("_row_security_active", None)
    return elapsed


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rlsbench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789")
    os.environ.setdefault("STREAM_API_KEY", "bench")
    os.environ.setdefault("STREAM_API_SECRET", "bench-secret-0123456789-0123456789")
    os.environ["LOG_LEVEL"] = "WARNING"
    ensure_database()

    import django

    django.setup()


def ensure_database() -> None:
    """Create the database, owned by DATABASE_ROLE, if it does not exist."""
    import psycopg
    from psycopg import sql

    url = os.environ["DATABASE_URL"]
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        owner = os.environ.get("DATABASE_ROLE")
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if owner:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        conn.execute(statement)


def load() -> str:
    return " ".join(f"{figure:.1f}" for figure in os.getloadavg())


if __name__ == "__main__":
    main()
