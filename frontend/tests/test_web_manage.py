"""Tenant admins and moderators manage their organization at /manage; what
they change shows in open chat windows without a reload."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

from tests.conftest import PHONE, screenshot, sign_in


def channel_option(page, name: str):
    return page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}\."))


def test_an_admin_adds_and_removes_a_member_who_sees_the_channel_come_and_go(open_page):
    max_ = sign_in(open_page(), "max@acme.test")
    alice = sign_in(open_page(), "alice@acme.test", path="/manage")
    alice.on("dialog", lambda dialog: dialog.accept())
    name = f"Launch {secrets.token_hex(2)}"

    channels = alice.get_by_role("form", name="Create a channel")
    channels.get_by_label("Channel name").fill(name)
    channels.get_by_label("Visibility").select_option("private")
    channels.get_by_role("button", name="Create channel").click()
    alice.get_by_role("button", name=f"Members of {name}").click()
    members = alice.get_by_role("dialog", name=f"Members of #{name}")
    members.get_by_label("Add people").fill("max")
    members.get_by_role("button", name="Add Max Member").click()
    expect(members.get_by_role("button", name="Remove Max Member")).to_be_visible()
    screenshot(alice, "manage-desktop")

    expect(channel_option(max_, name)).to_be_visible()  # no reload
    members.get_by_role("button", name="Remove Max Member").click()
    expect(channel_option(max_, name)).to_have_count(0)

    # Editing and deleting from the same table.
    members.get_by_role("button", name="Close").click()
    alice.get_by_role("button", name=f"Edit {name}").click()
    edit = alice.get_by_role("dialog", name=f"Edit #{name}")
    edit.get_by_label("Channel name").fill(f"{name} renamed")
    edit.get_by_role("button", name="Save").click()
    expect(alice.get_by_role("cell", name=f"# {name} renamed")).to_be_visible()
    alice.get_by_role("button", name=f"Delete {name} renamed").click()
    expect(alice.get_by_role("cell", name=f"# {name} renamed")).to_have_count(0)


def test_a_moderator_sees_no_admin_only_control_and_a_member_has_no_manage(open_page):
    mike = sign_in(open_page(), "mike@acme.test", path="/manage")
    expect(mike.get_by_role("heading", name="People")).to_be_visible()
    expect(mike.get_by_role("cell", name="mary@acme.test")).to_be_visible()
    # No role changes, no deletions, no role choice when adding someone (members only).
    expect(mike.get_by_role("combobox", name=re.compile("^Role of"))).to_have_count(0)
    expect(mike.get_by_role("button", name=re.compile("^Delete .*@|^Delete (Mary|Max|Alice)"))).to_have_count(
        0
    )
    expect(mike.get_by_role("form", name="Add a person").get_by_label("Role")).to_have_count(0)
    # Admins and other moderators cannot be deactivated by a moderator; members can.
    mary_row = mike.get_by_role("row", name=re.compile("mary@acme.test"))
    expect(mary_row.get_by_role("button", name="Deactivate")).to_be_visible()
    alice_row = mike.get_by_role("row", name=re.compile("alice@acme.test"))
    expect(alice_row.get_by_role("button", name="Deactivate")).to_have_count(0)

    alice = sign_in(open_page(), "alice@acme.test", path="/manage")
    expect(alice.get_by_role("combobox", name="Role of Mary Member")).to_be_visible()
    expect(alice.get_by_role("button", name="Delete Mary Member")).to_be_visible()

    mary = sign_in(open_page(), "mary@acme.test")
    expect(mary.get_by_role("navigation", name="Main").get_by_role("link", name="Manage")).to_have_count(0)
    mary.goto("/manage")
    expect(mary.get_by_role("main").get_by_role("alert")).to_contain_text("Only your organization")
    expect(mary.get_by_role("heading", name="People")).to_have_count(0)


def test_a_refused_action_shows_the_servers_message(open_page):
    alice = sign_in(open_page(), "alice@acme.test", path="/manage")
    form = alice.get_by_role("form", name="Add a person")
    form.get_by_label("Email").fill("mary@acme.test")  # taken
    form.get_by_role("button", name="Create account").click()
    expect(form.get_by_role("alert")).to_have_text("This email address cannot be used for a new account.")
    # A moderator may not touch an admin: the server says so when asked anyway.
    mike = sign_in(open_page(), "mike@acme.test", path="/manage")
    refused = mike.evaluate(
        """async () => {
            const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken=')).split('=')[1];
            const me = await (await fetch('/api/auth/me')).json();
            const users = await (await fetch('/api/users/?role=admin')).json();
            const response = await fetch(`/api/users/${users.results[0].id}/`, {
                method: 'DELETE', headers: {'X-CSRFToken': csrf}});
            return [me.role, response.status];
        }"""
    )
    assert refused == ["moderator", 403]


def test_an_invitation_accepted_in_the_browser_leads_to_login_and_the_chat(open_page):
    alice = sign_in(open_page(), "alice@acme.test", path="/manage")
    email = f"newcomer-{secrets.token_hex(3)}@acme.test"
    form = alice.get_by_role("form", name="Add a person")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Full name").fill("New Comer")
    form.get_by_role("button", name="Send invitation").click()
    status = form.get_by_role("status")
    expect(status).to_contain_text(f"Invitation sent to {email}")
    link = re.search(r"https?://\S+", status.inner_text())
    assert link, status.inner_text()
    expect(alice.get_by_role("cell", name=email, exact=True)).to_be_visible()  # pending

    newcomer = open_page()
    path = re.sub(r"^https?://[^/]+", "", link.group(0))
    newcomer.goto(path)
    for field in newcomer.locator("input[type=password]").all():
        field.fill("welcome-aboard-2026")
    newcomer.get_by_role("button").click()
    newcomer.get_by_role("link", name=re.compile("Sign in", re.I)).click()
    newcomer.wait_for_url("**/login")
    newcomer.get_by_label("Email").fill(email)
    newcomer.get_by_label("Password").fill("welcome-aboard-2026")
    newcomer.get_by_role("button", name="Sign in").click()
    newcomer.wait_for_url(re.compile(r"/$"))
    expect(newcomer.get_by_role("listbox", name="Channel list")).to_be_visible()
    expect(newcomer.get_by_role("banner")).to_contain_text("New Comer")


def test_manage_fits_a_phone(open_page):
    alice = sign_in(open_page(viewport=PHONE), "alice@acme.test", path="/manage")
    expect(alice.get_by_role("cell", name="mary@acme.test")).to_be_visible()
    assert alice.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(alice, "manage-phone")
