"""Signing in and out of the web client, and what a failed sign-in says."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD, sign_in

# Chat tokens that expire within the test, to see them renewed.
CHAT_TOKEN_SECONDS = 20
SERVER_ENV = {"STREAM_TOKEN_TTL": str(CHAT_TOKEN_SECONDS)}


def submit_login(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def login_error(page):
    return page.get_by_role("form", name="Sign in").get_by_role("alert")


def has_session(page) -> bool:
    return page.request.get("/api/auth/me").status == 200


def test_signed_out_visitors_land_on_login_and_come_back_where_they_were(open_page):
    page = open_page()
    page.goto("/profile")
    page.wait_for_url(re.compile(r"/login\?next=%2Fprofile$"))
    page.get_by_label("Email").fill("mary@acme.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/profile")
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()


def test_wrong_password_says_so_and_leaves_no_session(open_page):
    page = open_page()
    submit_login(page, "mary@acme.test", "not-her-password")
    expect(login_error(page)).to_have_text("Wrong email or password.")
    assert page.url.endswith("/login")
    assert not has_session(page)


def test_a_suspended_organization_cannot_sign_in(open_page, site):
    staff = site.session("staff@demo.test")
    globex = next(
        t for t in staff.get(site.url("/api/tenants/"), timeout=15).json()["results"] if t["slug"] == "globex"
    )
    assert (
        staff.post(site.url(f"/api/tenants/{globex['id']}/suspend/"), json={}, timeout=15).status_code == 200
    )
    try:
        page = open_page()
        submit_login(page, "gina@globex.test", DEMO_PASSWORD)
        expect(login_error(page)).to_contain_text("Your organization is suspended")
        assert not has_session(page)
    finally:
        staff.post(site.url(f"/api/tenants/{globex['id']}/reactivate/"), json={}, timeout=15)


def test_too_many_attempts_says_how_long_to_wait(open_page, site):
    email = site.new_member("Guesser", "right-pass-2026")
    page = open_page()
    for _ in range(3):  # LOGIN_FAILURE_RATE of the test server: 3 a day
        submit_login(page, email, "wrong-guess")
        expect(login_error(page)).to_have_text("Wrong email or password.")
    submit_login(page, email, "right-pass-2026")  # even the right password waits now
    expect(login_error(page)).to_have_text(
        re.compile(r"Too many sign-in attempts\. Try again in \d+ (seconds?|minutes?)\.")
    )
    assert not has_session(page)


def test_a_server_that_cannot_be_reached_is_named(open_page):
    page = open_page()
    page.route("**/api/auth/login", lambda route: route.abort("connectionrefused"))
    submit_login(page, "mary@acme.test", DEMO_PASSWORD)
    expect(login_error(page)).to_contain_text("The server cannot be reached")
    assert not has_session(page)


def test_sign_out_ends_the_session_and_the_chat_connection(open_page):
    page = sign_in(open_page(), "mary@acme.test")
    sockets = []
    page.on(
        "websocket", lambda socket: sockets.append(socket)
    )  # none yet: it opened before; watch for reconnects
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    assert not has_session(page)
    # The refresh cookie is revoked too: refreshing cannot bring the session back.
    csrf = next((c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"), "")
    assert page.request.post("/api/auth/refresh", headers={"X-CSRFToken": csrf}).status == 401
    page.goto("/")
    page.wait_for_url("**/login")
    assert sockets == []  # nothing reconnected to chat


def test_profile_changes_the_name_and_the_password_ends_other_sessions(open_page, site):
    email = site.new_member("Old Name", "first-pass-2026")
    here = sign_in(open_page(), email, "first-pass-2026", path="/profile")
    elsewhere = sign_in(open_page(), email, "first-pass-2026", path="/profile")

    here.get_by_label("Full name").fill("New Name")
    here.get_by_role("button", name="Save name").click()
    expect(here.get_by_role("region", name="Name").get_by_role("status")).to_have_text("Your name is saved.")
    expect(here.get_by_role("banner")).to_contain_text("New Name")

    here.get_by_label("New password", exact=True).fill("second-pass-2026")
    here.get_by_label("Repeat the new password").fill("second-pass-2026")
    here.get_by_role("button", name="Change password").click()
    expect(here.get_by_role("region", name="Password").get_by_role("status")).to_contain_text(
        "Your password is changed"
    )

    # This session goes on; the other one cannot refresh any more.
    here.reload()
    expect(here.get_by_role("heading", name="Profile")).to_be_visible()
    csrf = next((c["value"] for c in elsewhere.context.cookies() if c["name"] == "csrftoken"), "")
    assert elsewhere.request.post("/api/auth/refresh", headers={"X-CSRFToken": csrf}).status == 401
    assert site.session(email, "second-pass-2026")  # the new password works


def test_an_expiring_chat_token_is_renewed_without_a_reload(open_page):
    page = open_page()
    with page.expect_request("**/api/stream/token") as first:
        sign_in(page, "mary@acme.test")
    issued = first.value.response().json()
    # Renewed before it runs out, by the page itself.
    with page.expect_request("**/api/stream/token", timeout=CHAT_TOKEN_SECONDS * 1000) as renewed:
        pass
    assert renewed.value.response().json()["token"] != issued["token"]
    # Past the first token's expiry the chat still works: a message goes through.
    page.wait_for_timeout(CHAT_TOKEN_SECONDS * 1000)
    text = f"still here {secrets.token_hex(3)}"
    composer = page.locator(".str-chat__main-panel").get_by_placeholder("Send a message")
    composer.fill(text)
    composer.press("Enter")
    message = page.locator(".str-chat__main-panel .str-chat__message", has_text=text)
    expect(message).to_have_class(re.compile(r"str-chat__message--received"))


def test_the_api_docs_send_the_current_csrf_token_after_signing_in_there(open_page):
    """Swagger UI's "Try it out": signing in from the page rotates the CSRF
    token, and the next unsafe request must carry the new one, without a reload."""
    page = open_page()
    page.goto("/swagger/")
    page.wait_for_function("() => typeof ui !== 'undefined' && !!ui.getConfigs().requestInterceptor")
    statuses = page.evaluate(
        """async (password) => {
            const json = {"Content-Type": "application/json"};
            const send = (url, body) => {
                // What Swagger UI does for each request it sends.
                const request = ui.getConfigs().requestInterceptor({
                    url, method: "POST", credentials: "same-origin", headers: {...json}, body,
                });
                return fetch(request.url, {
                    method: "POST", credentials: "same-origin", headers: request.headers, body,
                });
            };
            const login = await send("/api/auth/login", JSON.stringify({email: "alice@acme.test", password}));
            const channel = await send("/api/channels/", JSON.stringify({name: "From the API docs"}));
            return [login.status, channel.status, await channel.text()];
        }""",
        DEMO_PASSWORD,
    )
    assert statuses[:2] == [200, 201], statuses
