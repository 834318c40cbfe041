"""Runs the JavaScript contract suite (``tests/js``: the official ``stream-chat``
npm package, pinned) with ``node --test`` against a live engine, and fails with
node's output if any JavaScript test fails.

The suite may restart the server mid-run (to check that clients recover from
dropped sockets): it asks a small control endpoint served here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chatengine.tests.live import LiveEngine

pytestmark = pytest.mark.slow

JS_DIR = Path(__file__).parent / "js"
STAMP = JS_DIR / "node_modules" / ".installed-lock-sha256"
NODE_TIMEOUT = 240


def _install() -> None:
    """``npm ci`` when node_modules is missing or was installed from another lock file."""
    digest = hashlib.sha256((JS_DIR / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    result = subprocess.run(  # noqa: S603
        [_tool("npm"), "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    STAMP.write_text(digest)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is required for the JavaScript SDK tests (Node 20+)")
    return path


@pytest.fixture
def control_url(live_engine: LiveEngine) -> Iterator[str]:
    """``POST /restart`` restarts the engine's server process on the same port."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/restart":
                self.send_error(404)
                return
            live_engine.server.restart()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_stream_chat_js_client_works_against_the_engine(live_engine: LiveEngine, control_url: str) -> None:
    _install()
    # --test-force-exit: after a refused handshake the SDK keeps a 15 s timer
    # alive (its connect timeout), which would hold the run open for nothing.
    result = subprocess.run(  # noqa: S603
        [_tool("node"), "--test", "--test-reporter=spec", "--test-concurrency=1", "--test-force-exit"],
        cwd=JS_DIR,
        env={
            **os.environ,
            "CHAT_BASE_URL": live_engine.base_url,
            "CHAT_API_KEY": live_engine.api_key,
            "CHAT_API_SECRET": live_engine.api_secret,
            "CHAT_CONTROL_URL": control_url,
        },
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
    )
    assert result.returncode == 0, f"JavaScript SDK tests failed:\n{result.stdout}\n{result.stderr}"
