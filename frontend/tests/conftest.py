"""The web client in a real browser: the server `make run` starts (`manage.py
serve`: the development server with its sync worker and the built-in chat
engine), with the demo organizations, driven by Debian's Chromium through
Playwright. Each test module gets its own server and database.

Screenshots land in ``frontend/test-artifacts/`` (``WEB_ARTIFACTS_DIR``)."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from chatengine.tests.live import fresh_database
from chatplatform.tests.servers import ROOT, demo_database, free_port, python, running

DEMO_PASSWORD = "demo-chat-2026"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
BUILT = ROOT / "frontend" / "out" / "index.html"
ARTIFACTS = Path(os.environ.get("WEB_ARTIFACTS_DIR", ROOT / "frontend" / "test-artifacts"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Long enough for a loaded 2-core machine: every wait ends as soon as the page shows the thing.
TIMEOUT_MS = 20_000


def _skip_reason() -> str | None:
    if not CHROMIUM:
        return "Chromium is not installed"
    if not BUILT.is_file():
        return "the web client is not built (make web)"
    return None


# CI sets REQUIRE_BROWSER=1: a missing browser or build fails the run instead of skipping.
if (reason := _skip_reason()) and not os.environ.get("REQUIRE_BROWSER"):
    pytestmark = pytest.mark.skip(reason=reason)


@dataclass(frozen=True)
class Site:
    base: str
    # The chat service's server-side credentials (the server runs with the test run's).
    api_key: str = os.environ.get("STREAM_API_KEY", "")
    api_secret: str = os.environ.get("STREAM_API_SECRET", "")

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def session(self, email: str, password: str = DEMO_PASSWORD) -> requests.Session:
        """An API client signed in as ``email`` (Bearer)."""
        client = requests.Session()
        response = client.post(
            self.url("/api/auth/login"), json={"email": email, "password": password}, timeout=15
        )
        assert response.status_code == 200, response.text
        client.headers["Authorization"] = f"Bearer {response.json()['access']}"
        return client

    def new_member(self, name: str, password: str) -> str:
        """A new member of acme (created by its admin); returns its email."""
        email = f"{name.lower().replace(' ', '-')}-{secrets.token_hex(3)}@acme.test"
        created = self.session("alice@acme.test").post(
            self.url("/api/users/"),
            json={"email": email, "full_name": name, "password": password},
            timeout=15,
        )
        assert created.status_code == 201, created.text
        return email

    def wait_synced(self, timeout: float = 30.0) -> None:
        """Until the sync worker has sent every change to the chat engine."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = requests.get(self.url("/api/ready"), timeout=5).json()
            if ready["checks"]["chat_sync_outbox"]["pending"] == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("the sync worker did not catch up")


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The server of one test module; a module's ``SERVER_ENV`` adds settings."""
    if reason := _skip_reason():
        pytest.fail(f"REQUIRE_BROWSER is set but {reason}")
    tmp = tmp_path_factory.mktemp("web")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with fresh_database(tmp) as database_url:
        env = {
            # What `make run` runs, on its own database and port.
            "DEBUG": "1",
            "DATABASE_URL": database_url,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": base,
            "STREAM_BASE_URL": "",
            "REDIS_URL": "",
            "MEDIA_ROOT": str(tmp / "media"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            # Every test signs in from 127.0.0.1: only the per-account limit is under test.
            "LOGIN_IP_RATE": "10000/60",
            # Fixed windows: one long enough that no test straddles two.
            "LOGIN_FAILURE_RATE": "3/86400",
            "WEB_CLIENT_ROOT": str(BUILT.parent),
            **getattr(request.module, "SERVER_ENV", {}),
        }
        demo_database(env)
        args = [python(), "manage.py", "serve", f"127.0.0.1:{port}", "--noreload"]
        with running(args, env, f"{base}/api/health"):
            site = Site(base)
            site.wait_synced()
            yield site


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-dev-shm-usage",
            ],
        )
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed  # type: ignore[attr-defined]
    return report


@pytest.fixture
def open_page(request, browser, site):
    """``open_page(viewport=...)``: a page in a fresh browser context (its own cookies).
    When the test fails, each page's last state is saved beside the screenshots."""
    contexts = []

    def open_(viewport: dict[str, int] = DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=site.base)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors  # type: ignore[attr-defined]
        return page

    yield open_
    for number, context in enumerate(contexts):
        if getattr(request.node, "failed_call", False):
            for page in context.pages:
                screenshot(page, f"failed-{request.node.name}-{number}")
        context.close()


def sign_in(page, email: str, password: str = DEMO_PASSWORD, *, path: str = "/"):
    """Sign in through /login as a person would, and wait for the chat (or ``path``)."""
    page.goto(path)
    page.wait_for_url("**/login**")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")
    if path == "/":
        # Connected, with the newest conversation open (as a person would wait to see).
        page.locator(".str-chat__channel-header__data__title").wait_for()
    return page


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
