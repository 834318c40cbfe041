"""Start real server processes for end-to-end tests."""

from __future__ import annotations

import contextlib
import io
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on: the system's pick, or, when TEST_PORTS
    names a range (``9400-9499``) for a machine whose ports are shared out, one
    of those not handed out already."""
    span = os.environ.get("TEST_PORTS", "")
    if not span:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    low, high = (int(bound) for bound in span.split("-"))
    for port in random.sample(range(low, high + 1), high - low + 1):
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port left in TEST_PORTS={span}")


def wait_for(
    url: str,
    timeout: float = 30.0,
    process: subprocess.Popen | None = None,
    output: Callable[[], str] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            printed = output() if output else process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"server exited with {process.returncode}: {printed}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  (loopback URL we built)
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def running(
    args: list[str], env: dict[str, str], ready_url: str, timeout: float = 30.0
) -> Iterator[subprocess.Popen]:
    """Run a server until the block ends. Its output is read all along (a server
    logs a line per request: a pipe nobody reads would fill and stop it) and is
    ``process.stdout`` to read once the block is over."""
    process = subprocess.Popen(  # noqa: S603
        args,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    pipe = process.stdout
    reader = threading.Thread(target=lambda: lines.extend(pipe), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        wait_for(ready_url, timeout=timeout, process=process, output=lambda: "".join(lines))
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        reader.join(timeout=10)
        process.stdout = io.StringIO("".join(lines))


def python() -> str:
    return sys.executable


def demo_database(env: dict[str, str]) -> None:
    """Migrate the database ``env`` names and load the demo data, as `make run` does."""
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run(  # noqa: S603
            [python(), "manage.py", *command],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
