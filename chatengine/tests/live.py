"""A real engine for end-to-end tests: a fresh database, migrated, served by
daphne (HTTP and WebSocket) in its own process, with every response checked
against Stream's spec (see ``spec_check``)."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from chatplatform.tests.servers import ROOT, free_port, python

API_KEY = "test-key"
API_SECRET = "test-secret-for-the-chat-service-0123456789"


@dataclass(frozen=True)
class LiveEngine:
    origin: str  # http://127.0.0.1:port
    prefix: str  # "/chat-api", or "" when the engine is served alone
    spec_log: Path
    database_url: str
    server: EngineServer
    api_key: str = API_KEY
    api_secret: str = API_SECRET

    @property
    def base_url(self) -> str:
        return self.origin + self.prefix

    def spec_violations(self) -> list[str]:
        return self.spec_log.read_text().splitlines() if self.spec_log.exists() else []

    def spec_checked(self) -> list[str]:
        checked = self.spec_log.with_name(self.spec_log.name + ".checked")
        return checked.read_text().splitlines() if checked.exists() else []


@contextlib.contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    """A new empty database of the kind the test run uses (DATABASE_URL): its own
    PostgreSQL database, dropped afterwards, or a SQLite file."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_dir / 'engine.sqlite3'}"
        return
    parts = urlsplit(configured)
    name = f"{parts.path.lstrip('/') or 'engine'}_live_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    # Owned by the role the servers take (DATABASE_ROLE), which migrates it.
    owner = os.environ.get("DATABASE_ROLE", "")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Where live engines keep uploads: one directory per test process, not the checkout.
MEDIA_ROOT = tempfile.mkdtemp(prefix="chatengine-live-media-")


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": MEDIA_ROOT,
        "DEBUG": "0",
        "SECRET_KEY": "live-engine-test-secret-key-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "STREAM_API_KEY": API_KEY,
        "STREAM_API_SECRET": API_SECRET,
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def migrate(database_url: str) -> None:
    subprocess.run(  # noqa: S603
        [python(), "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, **server_env(database_url)},
        check=True,
    )


class EngineServer:
    """One daphne process serving the engine; ``restart`` stops it and starts a
    new one on the same port and database (what a deploy does to live sockets)."""

    def __init__(self, args: list[str], env: dict[str, str], ready_url: str, log_path: Path) -> None:
        self.args, self.env, self.ready_url, self.log_path = args, env, ready_url, log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(  # noqa: S603
                self.args, cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT
            )
        _wait_until_answering(self.ready_url, self.process, self.log_path)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def serve(
    database_url: str,
    spec_log: Path,
    *,
    standalone: bool = False,
    port: int | None = None,
    **env: str,
) -> Iterator[LiveEngine]:
    """Serve the project's ASGI app (or the standalone engine) on a free port,
    behind the spec-checking wrapper."""
    port = port or free_port()
    prefix = "" if standalone else "/chat-api"
    target = "chatengine.standalone.application" if standalone else "chatplatform.asgi.application"
    ready = f"http://127.0.0.1:{port}{prefix}/app"
    args = [
        python(),
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "chatengine.tests.spec_check:application",
    ]
    settings_env = server_env(
        database_url,
        CHATENGINE_SPEC_LOG=str(spec_log),
        CHATENGINE_SPEC_TARGET=target,
        CHATENGINE_SPEC_PREFIX=prefix,
        **env,
    )
    server = EngineServer(args, settings_env, ready, spec_log.with_suffix(f".server-{port}.log"))
    server.start()
    try:
        yield LiveEngine(
            origin=f"http://127.0.0.1:{port}",
            prefix=prefix,
            spec_log=spec_log,
            database_url=database_url,
            server=server,
        )
    finally:
        server.stop()


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_answering(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    """Until the server answers at all (any HTTP status counts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  (a loopback URL built here)
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s:\n{log_path.read_text()}")
