"""Control-plane benchmark: the hot endpoints against a bare Django view, in one run.

    make bench
    .venv/bin/python bench/controlplane/run.py [--duration 10] [--concurrency 8 32]
        [--only token me ...] [--json PATH] [--profile TARGET]

Seeds (once; later runs reuse it) a PostgreSQL database, ``cpbench_controlplane``
unless ``BENCH_DATABASE_URL`` names another: three tenants, the large one with
50,000 users, 10,000 channels and about 625,000 memberships
(``bench/controlplane/seed.py``). The cache and the throttles use Redis, as in
production: database 13 on 127.0.0.1, or ``BENCH_REDIS_URL``, which the run
empties. Then it starts the production server exactly
as the Dockerfile's ``CMD`` runs it (gunicorn, 3 workers x 4 threads, ``DEBUG``
off), on loopback, with ``bench.controlplane.settings``: the product's settings
plus a bare view and a minimal DRF view that exist only there.

``wrk`` (Debian: ``apt-get install wrk``) drives each target at each
concurrency for ``--duration`` seconds, right after the bare view for as long:
on a shared machine only a ratio measured side by side means anything, so every
figure is one (rps ratio, and p99 ratio: the target's p99 over the bare
view's). SQL per request (statements and time) is measured in this process
through Django's test client against the same database, in the large tenant
and in a 200-user one: list SQL must not grow with the tenant.

Prints a table and writes JSON (``--json``, default
``bench/controlplane/results/<time>.json``); ``--compare OLD.json`` adds the
change against an earlier run. ``--profile TARGET`` samples the server's
workers with py-spy while wrk drives TARGET and prints where the time goes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cpbench_controlplane"
PORT = int(os.environ.get("BENCH_PORT", "8760"))
BASE = f"http://127.0.0.1:{PORT}"

# What the server and this process both run with: production settings
# (DEBUG off), long-lived access tokens, and login throttles out of the way of
# the login measurement (the throttled answer is timed on its own).
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.controlplane.settings",
    "DEBUG": "0",
    "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "STREAM_API_KEY": "bench-key",
    "STREAM_API_SECRET": "benchmark-only-stream-secret-0123456789",
    "JWT_ACCESS_MINUTES": "600",
    "LOGIN_IP_RATE": "100000000/60",
    "LOGIN_FAILURE_RATE": "100000000/60",
    "THROTTLE_REFRESH_RATE": "100000000/60",
    "THROTTLE_CHAT_TOKEN_RATE": "100000000/60",
    "LOG_LEVEL": "WARNING",
    # Production runs more than one process with Redis (docs/operations.md): the
    # throttles count there, not in the database. A database of its own, since
    # the throttled-login measurement empties it; empty to run without Redis.
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
}


@dataclass
class Target:
    name: str
    path: str
    actor: str = ""  # "admin" or "member" of a tenant; "" sends no token
    method: str = "GET"
    body: str = ""
    batch: int = 0
    tenant_sql: bool = False  # also measure SQL in the small tenant
    note: str = ""


TARGETS = [
    Target("drf", "/bench/drf", "member", note="minimal DRF view + JWT (reference)"),
    Target("token", "/api/stream/token", "member"),
    Target("me", "/api/auth/me", "member"),
    Target("channels-member", "/api/channels/?page_size=50", "member", tenant_sql=True),
    Target("channels-admin", "/api/channels/?page_size=50", "admin", tenant_sql=True),
    Target("users", "/api/users/?page_size=50", "admin", tenant_sql=True),
    Target("users-search", "/api/users/?page_size=50&search=son", "admin", tenant_sql=True),
    Target(
        "channel-create",
        "/api/channels/",
        "admin",
        "POST",
        '{"name": "Bench {n}", "visibility": "private", "description": "load"}',
    ),
    # Spread over 32 channels: adds to one channel queue on its row (one at a time, by design).
    Target("members-add", "/api/channels/{channel}/members/", "admin", "POST", '{"user_ids": {ids}}', 100),
    Target(
        "login",
        "/api/auth/login",
        "",
        "POST",
        '{"email": "u00002@bench-large.example", "password": "bench-password-0123"}',
    ),
]
BARE = Target("bare", "/bench/bare")


@dataclass
class Run:
    target: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    bare_rps: float = 0.0
    bare_p99_ms: float = 0.0
    ratio: float = 0.0
    p99_ratio: float = 0.0


@dataclass
class Report:
    started: str
    command: str
    commit: str
    server: str
    load_before: list[float]
    load_after: list[float] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    sql: dict[str, dict[str, Any]] = field(default_factory=dict)
    login: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)


def django_setup(database_url: str) -> None:
    os.environ.update(SERVER_ENV, DATABASE_URL=database_url)
    # No collectstatic or web client build here: the API needs neither.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    import django

    django.setup()


def database_ensure(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def production_command(port: int) -> list[str]:
    """The Dockerfile's CMD, bound to loopback: the gunicorn line exactly as shipped."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    line = cmd[-1].split("exec ", 1)[1]
    line = line.replace("${WEB_CONCURRENCY:-3}", "3").replace("0.0.0.0:8000", f"127.0.0.1:{port}")
    argv = shlex.split(line)
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    return argv


def server_start(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    argv = production_command(PORT)
    env = {**os.environ, **SERVER_ENV, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited; see {log}")
        try:
            with urllib.request.urlopen(f"{BASE}/bench/bare", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer within 60 s; see {log}")


def server_stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _workers_serving() -> set[str]:
    """The server processes holding the benchmark's open connections (none
    known without iproute2's ``ss``)."""
    if not shutil.which("ss"):
        return set()
    listing = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{PORT} )"], capture_output=True, text=True
    ).stdout
    return set(re.findall(r"pid=(\d+)", listing))


def wrk(target: Target, concurrency: int, duration: float, env: dict[str, str]) -> Run:
    argv = [
        "wrk",
        f"-t{min(2, concurrency)}",
        f"-c{concurrency}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "15s",
        "-s",
        str(HERE / "wrk.lua"),
        BASE + target.path.format(**env),
    ]
    run_env = {**os.environ, "BENCH_METHOD": target.method}
    if target.actor:
        run_env["BENCH_TOKEN"] = env[f"token_{target.actor}"]
    if target.body:
        run_env["BENCH_BODY"] = target.body
    if target.batch:
        run_env.update(
            BENCH_IDS=env["ids_file"], BENCH_BATCH=str(target.batch), BENCH_PATHS=env["paths_file"]
        )
    for _ in range(4):
        # gunicorn's threaded workers each accept what they can: now and then
        # one worker takes every connection of a run and serves it on one core
        # (the bare view then measured 1,000 requests per second instead of
        # 2,500, at random). Such a run says nothing about the code: run again.
        process = subprocess.Popen(argv, env=run_env, stdout=subprocess.PIPE, text=True)
        time.sleep(min(1.0, duration / 3))
        lopsided = concurrency >= 3 and len(_workers_serving()) == 1
        out, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"wrk failed for {target.name}")
        # Let the workers finish what the run left in flight before the next one connects.
        time.sleep(1)
        if not lopsided:
            break
    stats = json.loads(out.strip().splitlines()[-1])
    seconds = stats["duration_us"] / 1e6
    return Run(
        target=target.name,
        concurrency=concurrency,
        rps=stats["requests"] / seconds,
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        errors=stats["errors"],
        non_2xx=stats["non_2xx"],
    )


def fixtures() -> dict[str, str]:
    """Tokens for the large tenant's admin and member, a fresh channel to add
    members to, and a file of the tenant's user ids."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from bench.controlplane.seed import email
    from channels_app.services import channel_create
    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug="bench-large")
    admin = User.objects.get(email=email("bench-large", 0))
    member = User.objects.get(email=email("bench-large", 2))
    channels = [
        channel_create(tenant=tenant, name=f"Bench members {time.time_ns()}", visibility="private")
        for _ in range(32)
    ]
    paths_file = Path(tempfile.mkstemp(prefix="cpbench-paths-", suffix=".txt")[1])
    paths_file.write_text("".join(f"/api/channels/{c.pk}/members/\n" for c in channels))
    ids = list(User.objects.filter(tenant=tenant).exclude(pk=admin.pk).values_list("pk", flat=True))
    ids_file = Path(tempfile.mkstemp(prefix="cpbench-ids-", suffix=".txt")[1])
    ids_file.write_text("\n".join(map(str, ids)) + "\n")
    return {
        "token_admin": str(AccessToken.for_user(admin)),
        "token_member": str(AccessToken.for_user(member)),
        "channel": str(channels[0].pk),
        "ids_file": str(ids_file),
        "paths_file": str(paths_file),
    }


def cleanup() -> None:
    """Drop what the load wrote (channels, memberships, outbox rows, audit
    events, sessions) so the next run starts from the seeded state."""
    from django.db import connection

    from bench.controlplane.seed import TENANTS, tenant_id

    ids = [tenant_id(t.slug) for t in TENANTS]
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM channels_app_membership WHERE channel_id IN (SELECT id FROM channels_app_channel"
            " WHERE tenant_id = ANY(%s) AND slug LIKE 'bench-%%')",
            [ids],
        )
        cursor.execute(
            "DELETE FROM channels_app_channel WHERE tenant_id = ANY(%s) AND slug LIKE 'bench-%%'", [ids]
        )
        # The benchmark's own database: nothing else writes these.
        cursor.execute(
            "TRUNCATE streamsync_outboxentry, audit_auditevent, token_blacklist_blacklistedtoken,"
            " token_blacklist_outstandingtoken"
        )


def measure_sql(target: Target, env: dict[str, str], tenant: str, repeat: int = 15) -> dict[str, float]:
    """Statements and SQL time per request, through the test client in this process."""
    from django.db import connection
    from django.test import Client
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from bench.controlplane.seed import email

    if tenant == "bench-large":
        token = env[f"token_{target.actor}"] if target.actor else ""
    else:
        user = User.objects.get(email=email(tenant, 0 if target.actor == "admin" else 2))
        token = str(AccessToken.for_user(user))
    client = Client(headers={"authorization": f"Bearer {token}"} if token else {})
    timings: list[list[float]] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings[-1].append(time.perf_counter() - start)

    ids = Path(env["ids_file"]).read_text().split()
    for i in range(repeat + 2):
        timings.append([])
        body = target.body.replace("{n}", f"sql-{time.time_ns()}-{i}")
        if target.batch:
            body = body.replace("{ids}", json.dumps(ids[-(i + 1) * target.batch : -i * target.batch or None]))
        with connection.execute_wrapper(timed):
            response = client.generic(
                target.method, target.path.format(**env), body, content_type="application/json"
            )
        if response.status_code >= 300:
            raise SystemExit(f"{target.name}: {response.status_code} {response.content[:300]!r}")
    measured = timings[2:]  # the first two warm the process up
    return {
        "queries": statistics.median(len(t) for t in measured),
        "sql_ms": statistics.median(sum(t) for t in measured) * 1000,
    }


def measure_throttled_login() -> dict[str, float]:
    """Server time of a login the throttle refuses (no password is hashed)."""
    from django.core.cache import cache
    from django.test import Client, override_settings

    client = Client()
    body = {"email": "u00003@bench-large.example", "password": "wrong-password-for-the-throttle"}
    times = []
    with override_settings(LOGIN_IP_RATE="1/3600"):
        cache.clear()
        client.post("/api/auth/login", body, content_type="application/json")  # spends the one attempt
        for _ in range(20):
            start = time.perf_counter()
            response = client.post("/api/auth/login", body, content_type="application/json")
            times.append(time.perf_counter() - start)
            assert response.status_code == 429, response.status_code
    cache.clear()
    return {"throttled_ms_p50": statistics.median(times) * 1000, "throttled_ms_max": max(times) * 1000}


def profile(target: Target, server: subprocess.Popen[bytes], env: dict[str, str], duration: float) -> dict:
    """Sample every worker with py-spy while wrk drives ``target``; the functions
    that hold the most samples, by their own time and with their callees."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    out = Path(tempfile.mkstemp(prefix="cpbench-profile-", suffix=".txt")[1])
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "--subprocesses",
            "--format",
            "raw",
            "--rate",
            "200",
            "-o",
            str(out),
            "--duration",
            str(int(duration)),
            "--pid",
            str(server.pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    wrk(target, 8, duration - 1, env)
    spy.wait()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if "(" in f]
        if not any("handle_request" in f for f in frames):
            continue  # idle threads waiting for a request
        n = int(count)
        total += n
        own[_frame(frames[-1])] += n
        for name in {_frame(f) for f in frames}:
            inclusive[name] += n
    return {
        "target": target.name,
        "samples": total,
        "raw": str(out),
        "own": [(name, round(100 * n / total, 1)) for name, n in own.most_common(25)],
        "inclusive": [(name, round(100 * n / total, 1)) for name, n in inclusive.most_common(60)],
    }


def _frame(frame: str) -> str:
    """'func (path/to/module.py:12)' -> 'module.py:func', with the package folder."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame.strip())
    if not match:
        return frame
    func, path = match.groups()
    parts = Path(path).parts
    return f"{'/'.join(parts[-2:])}:{func}"


def table(report: Report, previous: Report | None) -> str:
    lines = []
    header = (
        f"{'target':<16} {'c':>3} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'err':>5} {'ratio':>7} "
        f"{'p99/bare':>8} {'SQL/req':>7} {'SQL ms':>7} {'small':>7}"
    )
    if previous:
        header += f" {'was':>7}"
    lines.append(header)
    lines.append("-" * len(header))
    old = {(r.target, r.concurrency): r for r in previous.runs} if previous else {}
    for run in report.runs:
        sql = report.sql.get(run.target, {})
        large, small = sql.get("bench-large", {}), sql.get("bench-small", {})
        line = (
            f"{run.target:<16} {run.concurrency:>3} {run.rps:>8.1f} {run.p50_ms:>8.2f} {run.p99_ms:>8.2f} "
            f"{run.errors + run.non_2xx:>5} {run.ratio:>7.3f} {run.p99_ratio:>8.2f} "
            f"{large.get('queries', ''):>7} {_ms(large):>7} {_ms(small):>7}"
        )
        if previous:
            was = old.get((run.target, run.concurrency))
            line += f" {was.ratio:>7.3f}" if was else f" {'':>7}"
        lines.append(line)
    if report.login:
        lines.append("")
        lines.append(
            "login: "
            + ", ".join(
                f"c={c}: {v['rps']:.1f}/s p50 {v['p50_ms']:.0f} ms" for c, v in report.login["load"].items()
            )
            + f"; throttled answer {report.login['throttled_ms_p50']:.2f} ms server time (max "
            f"{report.login['throttled_ms_max']:.2f})"
        )
    return "\n".join(lines)


def _ms(sql: dict[str, float]) -> str:
    return f"{sql['sql_ms']:.2f}" if sql else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--only", nargs="+", help="targets to run (default: all)")
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument("--compare", type=Path, help="an earlier run's JSON, to compare ratios with")
    parser.add_argument("--profile", help="sample the server with py-spy while this target runs")
    parser.add_argument("--reseed", action="store_true", help="seed the database again")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit(
            "The benchmark drives the server with wrk: install it (Debian: apt-get install wrk)."
        )
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    targets = [t for t in TARGETS if not args.only or t.name in args.only]

    database_ensure(database_url)
    django_setup(database_url)
    from django.core.management import call_command

    from bench.controlplane.seed import seed

    call_command("migrate", verbosity=0)
    seed(reseed=args.reseed)
    env = fixtures()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    report = Report(
        started=datetime.now(tz=UTC).isoformat(timespec="seconds"),
        command=" ".join(["python", "bench/controlplane/run.py", *sys.argv[1:]]),
        commit=commit.stdout.strip(),
        server=" ".join(production_command(PORT)),
        load_before=list(os.getloadavg()),
    )
    print(f"server: {report.server}")
    print(f"load average before: {report.load_before}")

    for target in targets:
        if target.name == "login":
            continue
        sizes = ("bench-large", "bench-small") if target.tenant_sql else ("bench-large",)
        report.sql[target.name] = {size: measure_sql(target, env, size) for size in sizes}

    log = Path(tempfile.mkstemp(prefix="cpbench-server-", suffix=".log")[1])
    server = server_start(database_url, log)
    try:
        for concurrency in args.concurrency:
            wrk(BARE, concurrency, 3, env)  # warm every worker up
            for target in targets:
                if target.name == "login":
                    continue
                wrk(target, concurrency, 2, env)  # warm-up
                bare = wrk(BARE, concurrency, args.duration, env)
                run = wrk(target, concurrency, args.duration, env)
                run.bare_rps, run.bare_p99_ms = bare.rps, bare.p99_ms
                run.ratio = run.rps / bare.rps
                run.p99_ratio = run.p99_ms / bare.p99_ms
                report.runs.append(run)
                print(
                    f"  {target.name:<16} c={concurrency:<3} {run.rps:8.1f} rps  ratio {run.ratio:.3f}  "
                    f"p99 {run.p99_ms:.1f} ms ({run.p99_ratio:.1f}x bare)  errors {run.errors + run.non_2xx}",
                    flush=True,
                )
        if args.profile:
            target = next(t for t in TARGETS if t.name == args.profile)
            report.profile = profile(target, server, env, max(args.duration, 10))
        login = next((t for t in targets if t.name == "login"), None)
        if login:
            report.login = {
                "load": {str(c): asdict(wrk(login, c, args.duration, env)) for c in args.concurrency},
                **measure_throttled_login(),
            }
    finally:
        server_stop(server)
        cleanup()
        Path(env["ids_file"]).unlink(missing_ok=True)
        Path(env["paths_file"]).unlink(missing_ok=True)
    report.load_after = list(os.getloadavg())

    previous = None
    if args.compare:
        data = json.loads(args.compare.read_text())
        previous = Report(**{**data, "runs": [Run(**r) for r in data["runs"]]})
    print()
    print(table(report, previous))
    print(f"\nload average after: {report.load_after}")
    if report.profile:
        print(
            f"\nprofile of {report.profile['target']}: {report.profile['samples']} samples in request threads"
        )
        print("own time:")
        for name, share in report.profile["own"]:
            print(f"  {share:5.1f}%  {name}")
        print("with callees:")
        for name, share in report.profile["inclusive"]:
            print(f"  {share:5.1f}%  {name}")
    out = args.json or HERE / "results" / f"{report.started.replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(asdict(report), indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
