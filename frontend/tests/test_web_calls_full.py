"""The mesh has a size (``CALLS_MAX_PARTICIPANTS``, here 2): the first to
accept joins, the next one is told the call is full and the two stay connected."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.calls import (
    accept,
    browser,  # noqa: F401 (this module's Chromium, with fake devices)
    call_view,
    expect_live_video_from,
    open_conversation,
)
from tests.conftest import sign_in

SERVER_ENV = {"CALLS_MAX_PARTICIPANTS": "2"}


def test_a_joiner_beyond_the_mesh_size_is_told_the_call_is_full(open_page):
    mary = sign_in(open_page(), "mary@acme.test")
    max_ = sign_in(open_page(), "max@acme.test")
    mike = sign_in(open_page(), "mike@acme.test")
    for page in (mary, max_, mike):
        open_conversation(page, "General")
    mary.get_by_role("button", name="Start video call").click()
    accept(max_)
    expect_live_video_from(mary, 1)
    accept(mike)
    expect(call_view(mike).get_by_role("status")).to_have_text("The call is full")
    expect_live_video_from(mary, 1)
    expect_live_video_from(max_, 1)
    mary.get_by_role("button", name="Hang up").click()
