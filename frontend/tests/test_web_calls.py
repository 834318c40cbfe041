"""Calls in the browser, with Chromium's fake camera and microphone: people of
one organization ring, join, see and hear each other (frames of the received
tracks), mute and hang up; a declined call ends for the caller; the
conversation records the call; another organization's member hears nothing.

The set-up time (click to first remote frame) is printed: run with ``-s``."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.calls import (
    accept,
    arm_setup_timer,
    browser,  # noqa: F401 (this module's Chromium, with fake devices)
    call_view,
    expect_live_video_from,
    open_conversation,
    prompt,
    setup_ms,
)
from tests.conftest import PHONE, screenshot, sign_in


def records(page, action: str):
    return page.locator(f'.str-chat__main-panel [data-testid="call-record"][data-action="{action}"]')


def test_a_video_call_in_a_channel_connects_mutes_and_hangs_up(open_page, site):
    mary = sign_in(open_page(), "mary@acme.test")
    max_ = sign_in(open_page(), "max@acme.test")
    greta = sign_in(open_page(), "greta@globex.test")
    for page in (mary, max_):
        open_conversation(page, "General")

    arm_setup_timer(mary, 2)
    mary.get_by_role("button", name="Start video call").click()
    expect(call_view(mary).get_by_role("status")).to_have_text("Ringing…")
    expect(prompt(max_)).to_contain_text("Mary Member is calling (video)")
    expect(prompt(max_)).to_contain_text("in General")
    accept(max_)

    expect_live_video_from(mary, 1)
    expect_live_video_from(max_, 1)
    print(f"\ncall set-up, 2 participants: {setup_ms(mary):.0f} ms (click to first remote frame)")
    screenshot(mary, "call-two-desktop")

    # Muting shows on the other side; so does the camera going off.
    mary.get_by_role("button", name="Mute microphone").click()
    tile = max_.get_by_test_id("remote-tile")
    expect(tile).to_have_attribute("data-muted", "true")
    expect(tile).to_contain_text("muted")
    mary.get_by_role("button", name="Unmute microphone").click()
    expect(tile).to_have_attribute("data-muted", "false")
    mary.get_by_role("button", name="Camera off").click()
    expect(tile).to_have_attribute("data-camera", "false")
    mary.get_by_role("button", name="Camera on").click()
    expect(tile).to_have_attribute("data-camera", "true")

    # Screen sharing replaces the camera track; the other side keeps receiving frames.
    mary.get_by_role("button", name="Share screen").click()
    expect(mary.get_by_role("button", name="Stop sharing")).to_be_visible()
    expect_live_video_from(max_, 1)
    mary.get_by_role("button", name="Stop sharing").click()

    # Another organization's member was never rung.
    expect(prompt(greta)).to_have_count(0)
    expect(call_view(greta)).to_have_count(0)

    max_.get_by_role("button", name="Hang up").click()
    expect(call_view(mary).get_by_role("status")).to_have_text("Everyone left")
    expect(call_view(mary)).to_have_count(0)  # the ended view closes by itself

    # The conversation records the call: who started it, and how long it lasted.
    for page in (mary, max_):
        expect(records(page, "started").last).to_have_text(re.compile(r"Mary Member started a video call"))
        expect(records(page, "ended").last).to_have_text(re.compile(r"Video call ended · \d+( min \d+)? s"))
    assert greta.errors == [] and mary.errors == [] and max_.errors == []


def test_a_declined_call_ends_for_the_caller(open_page):
    mary = sign_in(open_page(), "mary@acme.test")
    max_ = sign_in(open_page(), "max@acme.test")
    for page in (mary, max_):
        open_conversation(page, "Max Member" if page is mary else "Mary Member")
    mary.get_by_role("button", name="Start audio call").click()
    expect(prompt(max_)).to_contain_text("Mary Member is calling (audio)")
    prompt(max_).get_by_role("button", name="Decline").click()
    expect(prompt(max_)).to_have_count(0)
    expect(call_view(mary).get_by_role("status")).to_have_text("Call declined")
    expect(records(mary, "ended").last).to_have_text("📞 Audio call ended · not answered")
    expect(call_view(max_)).to_have_count(0)


def test_three_people_in_one_call_see_each_other(open_page):
    mary = sign_in(open_page(), "mary@acme.test")
    max_ = sign_in(open_page(), "max@acme.test")
    mike = sign_in(open_page(viewport=PHONE), "mike@acme.test")
    for page in (mary, max_):
        open_conversation(page, "General")
    mike.get_by_role("button", name="Conversations").click()
    open_conversation(mike, "General")

    arm_setup_timer(mary, 3)
    mary.get_by_role("button", name="Start video call").click()
    accept(max_)
    accept(mike)
    for page in (mary, max_, mike):
        expect_live_video_from(page, 2)
    print(f"\ncall set-up, 3 participants: {setup_ms(mary):.0f} ms (click to first frame of both)")
    expect(call_view(mike).get_by_role("status")).to_have_text("3 in the call")
    screenshot(mike, "call-three-phone")

    # One leaves: the other two stay connected; the last one alone ends the call.
    mike.get_by_role("button", name="Hang up").click()
    expect(mary.get_by_test_id("remote-tile")).to_have_count(1)
    expect_live_video_from(max_, 1)
    mary.get_by_role("button", name="Hang up").click()
    expect(call_view(max_).get_by_role("status")).to_have_text("Everyone left")
    expect(records(max_, "ended").last).to_be_visible()


def test_closing_the_tab_leaves_the_call(open_page):
    mary = sign_in(open_page(), "mary@acme.test")
    max_ = sign_in(open_page(), "max@acme.test")
    for page in (mary, max_):
        open_conversation(page, "Max Member" if page is mary else "Mary Member")
    mary.get_by_role("button", name="Start video call").click()
    accept(max_)
    expect_live_video_from(mary, 1)
    max_.close()  # pagehide: the hang-up leaves with the tab
    expect(call_view(mary).get_by_role("status")).to_have_text("Everyone left")


def test_an_organization_that_turned_calls_off_shows_no_call_buttons(open_page, site):
    alice = site.session("alice@acme.test")
    tenant = alice.get(site.url("/api/auth/me"), timeout=15).json()["tenant"]

    def switch(enabled: bool) -> None:
        changed = alice.patch(
            site.url(f"/api/tenants/{tenant}/"), json={"calls_enabled": enabled}, timeout=15
        )
        assert changed.status_code == 200, changed.text

    switch(False)
    try:
        max_ = sign_in(open_page(), "max@acme.test")
        open_conversation(max_, "General")
        expect(max_.get_by_role("button", name="Start video call")).to_have_count(0)
        expect(max_.get_by_role("button", name="Start audio call")).to_have_count(0)
    finally:
        switch(True)
    max_.reload()
    open_conversation(max_, "General")
    expect(max_.get_by_role("button", name="Start video call")).to_be_visible()
