"""Bulk import speed: `import_users` end to end against PostgreSQL `COPY`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/importbench \\
        .venv/bin/python bench/import_users.py [--sizes 10000 100000] [--repeat 3] [--channel]

For each size, writes a CSV of new users (`email,full_name,role,channels`,
one name in seven non-ASCII), then alternately:

- COPY: the same rows, already turned into table rows (ids, unusable
  passwords, timestamps) before the clock starts, loaded with one `COPY` into
  the users table and committed. The limit nothing can beat.
- import: `manage.py import_users --tenant T FILE --report R` run in this
  process: reading and checking the file against the database, writing the
  users, one outbox row per user for the chat service, the report with a
  signed set-password link per user (links are not stored), and the audit
  event, in one transaction.
- no links: the same with `--no-links` (users who get their link later).
- floor: for reference, what the import has to write at the very least, the
  same users plus one outbox row each (and with `--channel` one membership
  each), loaded with `COPY` in one transaction (prepared before the clock
  starts).

Every run starts from the same empty tables after a CHECKPOINT; the four are
interleaved, `--repeat` times each, and the figures are medians. The load
average is printed before and after: on a shared machine, compare figures
from one run only. With `--channel` every row also joins a
`general` channel (one membership row per user on top; COPY loads only users).
Needs PostgreSQL: the database is emptied between runs, so give it its own.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TABLES = (
    "accounts_user",
    "onboarding_invitation",
    "streamsync_outboxentry",
    "channels_app_membership",
    "channels_app_channel",
    "tenants_tenant",
)
USER_COLUMNS = (
    "id, tenant_id, email, full_name, role, is_active, is_staff, is_superuser, password, created_at,"
    " updated_at"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--channel", action="store_true", help="Every user also joins #general.")
    args = parser.parse_args()

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit(
            "This benchmark compares against PostgreSQL COPY: set DATABASE_URL to a PostgreSQL database."
        )
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    print(f"{server}; {os.cpu_count()} CPUs; load {load()}; medians of {args.repeat} runs")
    print(
        f"{'users':>8} {'COPY s':>7} {'import s':>9} {'ratio':>6} {'no links s':>11} {'ratio':>6}"
        f" {'floor s':>8} {'ratio':>6}"
    )

    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    report = workdir / "report.csv"
    results: dict[int, list[float]] = {}
    for size in args.sizes:
        path = workdir / f"users-{size}.csv"
        write_csv(path, size, channel=args.channel)
        runs: list[tuple[float, float, float, float]] = []
        for _ in range(args.repeat):
            runs.append(
                (
                    time_copy(path),
                    time_import(path, report, size, channel=args.channel, links=True),
                    time_import(path, report, size, channel=args.channel, links=False),
                    time_floor(path, channel=args.channel),
                )
            )
        medians = [statistics.median(column) for column in zip(*runs, strict=True)]
        results[size] = medians
        copy_s, import_s, bare_s, floor_s = medians
        print(
            f"{size:>8} {copy_s:>7.2f} {import_s:>9.2f} {import_s / copy_s:>5.2f}x "
            f"{bare_s:>11.2f} {bare_s / copy_s:>5.2f}x {floor_s:>8.2f} {floor_s / copy_s:>5.2f}x",
            flush=True,
        )
    if len(results) >= 2:
        small, large = min(results), max(results)
        growth = [results[large][i] / results[small][i] for i in range(4)]
        print(
            f"growth {small:,} -> {large:,} users (linear: x{large / small:g}): COPY x{growth[0]:.1f}, "
            f"import x{growth[1]:.1f}, no links x{growth[2]:.1f}, floor x{growth[3]:.1f}"
        )
    print(f"load {load()}")
    reset()


def setup_django() -> None:
    """Django as the database benchmarks run it: PostgreSQL (a database of its
    own, emptied between runs), DEBUG off so that no query log grows."""
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/importbench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    # Production-like: DEBUG off (no query log), so the settings want secrets.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789")
    os.environ.setdefault("STREAM_API_KEY", "bench")
    os.environ.setdefault("STREAM_API_SECRET", "bench-secret-0123456789-0123456789")
    os.environ["LOG_LEVEL"] = "WARNING"

    import django

    django.setup()


def load() -> str:
    return " ".join(f"{figure:.1f}" for figure in os.getloadavg())


def write_csv(path: Path, size: int, *, channel: bool) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "full_name", "role", "channels"])
        for i in range(size):
            name = f"Zoë Ångström-{i}" if i % 7 == 0 else f"Person Number {i}"
            role = "moderator" if i % 100 == 0 else "member"
            writer.writerow([f"person{i}@bench.test", name, role, "general" if channel else ""])


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        cursor.execute("CHECKPOINT")


def fresh_tenant(*, channel: bool):
    from channels_app.services import channel_create
    from tenants.services import tenant_create

    reset()
    tenant = tenant_create(name="Bench", slug="bench")
    if channel:
        channel_create(tenant=tenant, name="General", slug="general")
    return tenant


# is_active, is_staff, is_superuser
FLAGS = (True, False, False)


def user_rows(path: Path, tenant) -> list[tuple]:
    """The file's rows as users-table rows, the way the import makes them."""
    from django.utils import timezone

    from accounts.bulk import unusable_password

    now = timezone.now()
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            (
                uuid.uuid4(),
                tenant.pk,
                r["email"],
                r["full_name"],
                r["role"],
                *FLAGS,
                unusable_password(),
                now,
                now,
            )
            for r in csv.DictReader(handle)
        ]


def copy_rows(table: str, columns: str, rows: list[tuple]) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def time_copy(path: Path) -> float:
    """COPY the file's rows into the users table; only the COPY and its commit are timed."""
    from django.db import transaction

    from accounts.models import User

    tenant = fresh_tenant(channel=False)
    rows = user_rows(path, tenant)
    started = time.perf_counter()
    with transaction.atomic():
        copy_rows("accounts_user", USER_COLUMNS, rows)
    elapsed = time.perf_counter() - started
    assert User.objects.filter(tenant=tenant).count() == len(rows)
    return elapsed


def time_floor(path: Path, *, channel: bool) -> float:
    """COPY what an import writes at the least: users and outbox rows (and with
    ``channel``, memberships)."""
    from django.db import transaction
    from django.utils import timezone

    from channels_app.models import Channel

    tenant = fresh_tenant(channel=channel)
    users = user_rows(path, tenant)
    now = timezone.now()
    outbox = [("user", str(u[0]), tenant.pk, "pending", 0, "", now, "", "", now, now) for u in users]
    general = Channel.objects.filter(tenant=tenant).values_list("pk", flat=True).first()
    memberships = [(general, u[0], "member", now, now) for u in users] if channel else []
    started = time.perf_counter()
    with transaction.atomic():
        copy_rows("accounts_user", USER_COLUMNS, users)
        copy_rows(
            "streamsync_outboxentry",
            "entity_type, entity_id, tenant_id, status, attempts, last_error, next_attempt_at,"
            " claimed_by, claim_token, created_at, updated_at",
            outbox,
        )
        if memberships:
            copy_rows(
                "channels_app_membership", "channel_id, user_id, role, created_at, updated_at", memberships
            )
    return time.perf_counter() - started


def time_import(path: Path, report: Path, size: int, *, channel: bool, links: bool) -> float:
    from django.core.management import call_command

    from accounts.models import User
    from streamsync.models import OutboxEntry

    tenant = fresh_tenant(channel=channel)
    arguments = ["--tenant", tenant.slug, str(path), "--report", str(report)]
    if not links:
        arguments.append("--no-links")
    with open(os.devnull, "w") as devnull:
        started = time.perf_counter()
        call_command("import_users", *arguments, stdout=devnull)
        elapsed = time.perf_counter() - started
    # What the import wrote, checked outside the timing.
    expected_links = size if links else 0
    assert User.objects.filter(tenant=tenant).count() == size
    assert OutboxEntry.objects.filter(tenant_id=tenant.pk, entity_type="user").count() == size
    with report.open(newline="", encoding="utf-8") as handle:
        assert sum(1 for row in csv.DictReader(handle) if row["set_password_link"]) == expected_links
    return elapsed


if __name__ == "__main__":
    main()
