"""Every surface a browser opens works under the Content-Security-Policy: the
console (admin), Swagger UI, ReDoc, the invitation page and the web client
(signed in, connected to the chat engine over WebSocket, sending a message).
Each page reports every ``securitypolicyviolation`` it sees, and the browser
logs the ones a page cannot see (workers, blocked loads): neither may report any.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD, sign_in

# Before any script of the page runs: every violation the document sees.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
      + ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def csp_page(open_page):
    """``csp_page()``: a page that records CSP violations; ``assert_no_violations(page)`` checks them."""

    def open_():
        page = open_page()
        page.context.add_init_script(COLLECT_VIOLATIONS)
        logged: list[str] = []
        page.on(
            "console",
            lambda message: (
                logged.append(message.text)
                if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
                else None
            ),
        )
        page.csp_console = logged  # type: ignore[attr-defined]
        return page

    return open_


def assert_no_violations(page) -> None:
    seen = page.evaluate("window.__cspViolations")
    assert seen == [], seen
    assert page.csp_console == [], page.csp_console  # type: ignore[attr-defined]
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_every_page_names_its_policy(site):
    import requests

    for path in ("/", "/login", "/admin/login/", "/swagger/", "/redoc/", "/invite/unknown"):
        response = requests.get(site.url(path), timeout=10)
        policy = response.headers["Content-Security-Policy"]
        scripts = next(d for d in policy.split("; ") if d.startswith("script-src "))
        assert scripts.startswith("script-src 'self'") and "unsafe" not in scripts, path
        assert "camera=(self)" in response.headers["Permissions-Policy"], path


def test_the_console_works_under_the_policy(csp_page, site):
    page = csp_page()
    page.goto("/admin/login/")
    page.get_by_label("Email").fill("staff@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    page.goto("/admin/tenants/tenant/")
    page.get_by_role("link", name=re.compile("Acme")).first.click()
    page.wait_for_url(re.compile(r"/admin/tenants/tenant/[^/]+/change/$"))
    expect(page.locator("#content h2, #content h1").first).to_be_visible()
    # The admin's own scripts run: its theme toggle switches the theme.
    before = page.locator("html").get_attribute("data-theme")
    page.locator("button.theme-toggle").first.click()
    expect(page.locator("html")).not_to_have_attribute("data-theme", before or "")
    page.goto("/admin/accounts/user/add/")
    expect(page.locator("#user_form")).to_be_visible()
    assert_no_violations(page)


def test_swagger_ui_renders_its_operations(csp_page):
    page = csp_page()
    page.goto("/swagger/")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 30
    # Try it out: a request from the page reaches the API.
    page.locator(".opblock-get", has_text="/api/health").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text(
        re.compile("200")
    )
    assert_no_violations(page)


def test_redoc_renders_its_operations(csp_page):
    page = csp_page()
    page.goto("/redoc/")
    expect(page.get_by_role("heading", name=re.compile("Chat platform API"))).to_be_visible()
    expect(page.locator("[data-section-id^='tag/']").first).to_be_attached()
    # The search runs in a worker started from a blob, which indexes the schema after
    # the page shows: type again (as a person would) until it answers.
    search, result = (
        page.get_by_placeholder("Search..."),
        page.locator("[data-role='search:results'] [role=menuitem]"),
    )
    for _ in range(40):
        search.fill("")
        search.press_sequentially("login")
        try:
            result.first.wait_for(timeout=500)
            break
        except PlaywrightTimeout:
            continue
    expect(result.first).to_contain_text("auth_login_create")
    assert_no_violations(page)


def test_the_web_client_signs_in_and_chats_under_the_policy(csp_page, site):
    page = csp_page()
    sign_in(page, "alice@acme.test")
    text = "Under the policy"
    composer = page.locator(".str-chat__textarea textarea, textarea").first
    composer.fill(text)
    composer.press("Enter")
    expect(page.locator(".str-chat__message-text", has_text=text).first).to_be_visible()
    page.goto("/manage")
    expect(page.get_by_role("heading").first).to_be_visible()
    assert_no_violations(page)


def test_the_invitation_page_works_under_the_policy(csp_page, site):
    created = site.session("alice@acme.test").post(
        site.url("/api/invitations/"), json={"email": "csp-invitee@acme.test"}, timeout=15
    )
    assert created.status_code == 201, created.text
    page = csp_page()
    page.goto(created.json()["url"])
    page.get_by_label("Password", exact=True).fill("a-fine-long-passphrase")
    page.get_by_label("Password again").fill("a-fine-long-passphrase")
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#done")).to_be_visible()
    assert_no_violations(page)
