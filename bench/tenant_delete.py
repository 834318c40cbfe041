"""Deleting a tenant: its users, their memberships, its channels, and one
outbox row per deleted entity for the chat service.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/importbench \\
        .venv/bin/python bench/tenant_delete.py [--sizes 1000 10000]

For each size, imports that many users into a fresh tenant (every one a member
of ``general``, through ``import_users``), empties the outbox, then times
``tenant_delete`` in one transaction and prints the seconds and the outbox
rows it wrote. Needs its own database: the tables are emptied between runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    args = parser.parse_args()

    from bench.import_users import fresh_tenant, load, setup_django, write_csv

    setup_django()
    from django.core.management import call_command
    from django.db import connection, transaction

    from streamsync.models import OutboxEntry
    from tenants.services import tenant_delete

    call_command("migrate", verbosity=0, interactive=False)
    print(f"{connection.vendor}; {os.cpu_count()} CPUs; load {load()}")
    print(f"{'users':>8} {'delete s':>9} {'outbox rows':>12}")
    workdir = Path(tempfile.mkdtemp(prefix="tenant-delete-bench-"))
    for size in args.sizes:
        path = workdir / f"users-{size}.csv"
        write_csv(path, size, channel=True)
        tenant = fresh_tenant(channel=True)
        with open(os.devnull, "w") as devnull:
            call_command("import_users", "--tenant", tenant.slug, str(path), "--no-links", stdout=devnull)
        OutboxEntry.objects.all().delete()
        started = time.perf_counter()
        with transaction.atomic():
            tenant_delete(tenant=tenant)
        elapsed = time.perf_counter() - started
        print(f"{size:>8} {elapsed:>9.2f} {OutboxEntry.objects.count():>12}", flush=True)
    print(f"load {load()}")


if __name__ == "__main__":
    main()
