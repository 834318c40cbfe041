"""A call forced through a TURN relay: Debian's coturn on loopback with the
shared secret, the server answering ``ice_transport_policy: relay``, so the
browsers may only use relayed candidates, with the short-lived credentials
the control plane signs. The call connecting proves coturn accepted them."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from chatplatform.tests.servers import free_port
from tests.calls import (
    accept,
    browser,  # noqa: F401 (this module's Chromium, with fake devices)
    expect_live_video_from,
    open_conversation,
    remote_frames,
)
from tests.conftest import sign_in

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
TURN_PORT = free_port()
TURN_SECRET = secrets.token_hex(16)
SERVER_ENV = {
    "CALLS_TURN_URLS": f"turn:127.0.0.1:{TURN_PORT}?transport=udp,turn:127.0.0.1:{TURN_PORT}?transport=tcp",
    "CALLS_TURN_SECRET": TURN_SECRET,
    "CALLS_TURN_TTL": "600",
    "CALLS_ICE_TRANSPORT_POLICY": "relay",
}

# CI installs coturn (.ci/run) and sets REQUIRE_BROWSER: there a missing one fails.
if not Path(TURNSERVER).exists() and not os.environ.get("REQUIRE_BROWSER"):
    pytestmark = pytest.mark.skip(reason="coturn is not installed (apt-get install coturn)")


@contextmanager
def running_coturn(secret: str, directory: Path) -> Iterator[Path]:
    """coturn on loopback checking TURN REST API credentials made with ``secret``;
    yields its log (verbose: one line per allocation, with the username)."""
    log = directory / f"turn-{secrets.token_hex(3)}.log"
    args = [
        TURNSERVER,
        "-n",  # no configuration file: everything is here
        "--verbose",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={TURN_PORT}",
        "--min-port=49152",
        "--max-port=49999",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        "--realm=chat.test",
        "--fingerprint",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--allow-loopback-peers",  # both browsers are on this machine
        f"--pidfile={directory / 'turn.pid'}",
        "--simple-log",
        "--log-file=stdout",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + 10
            while "Total General servers" not in log.read_text():
                assert process.poll() is None, f"coturn did not start: {log.read_text()}"
                assert time.monotonic() < deadline, f"coturn did not start: {log.read_text()}"
                time.sleep(0.1)
            yield log
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture(scope="module")
def turn_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("coturn")


def test_a_call_forced_through_the_relay_connects(open_page, site, turn_dir):
    ice = site.session("mary@acme.test").get(site.url("/api/calls/ice-servers"), timeout=15).json()
    assert ice["ice_transport_policy"] == "relay"
    mary = sign_in(open_page(), "mary@acme.test")
    max_ = sign_in(open_page(), "max@acme.test")
    open_conversation(mary, "Max Member")
    open_conversation(max_, "Mary Member")

    with running_coturn(TURN_SECRET, turn_dir) as log:
        mary.get_by_role("button", name="Start video call").click()
        accept(max_)
        expect_live_video_from(mary, 1)
        expect_live_video_from(max_, 1)
        max_.get_by_role("button", name="Hang up").click()
        expect(mary.get_by_test_id("call-status")).to_have_text("Everyone left")

    # coturn checked Mary's signed credential and allocated her a relay.
    mary_user = ice["ice_servers"][-1]["username"].split(":", 1)[1]
    allocations = [line for line in log.read_text().splitlines() if "ALLOCATE processed, success" in line]
    assert any(f":{mary_user}>" in line for line in allocations), allocations


def test_a_relay_with_another_secret_refuses_the_call(open_page, turn_dir):
    """The control test: the same call, with coturn knowing another secret, never connects,
    so the call above did go through the relay and the HMAC is what coturn checks."""
    mary = sign_in(open_page(), "mary@acme.test")
    max_ = sign_in(open_page(), "max@acme.test")
    open_conversation(mary, "Max Member")
    open_conversation(max_, "Mary Member")
    with running_coturn("not-" + TURN_SECRET, turn_dir) as log:
        mary.get_by_role("button", name="Start video call").click()
        accept(max_)
        expect(max_.get_by_test_id("remote-tile")).to_have_count(1)
        max_.wait_for_timeout(8000)
        assert all(not video["frames"] for video in remote_frames(max_))
        expect(max_.get_by_test_id("remote-tile")).not_to_have_attribute("data-connection", "connected")
        text = log.read_text()
        assert "ALLOCATE processed, success" not in text and "401" in text, text[-2000:]
    max_.get_by_role("button", name="Hang up").click()
