"""What the call tests share: a Chromium with fake camera and microphone, and
ways to look at a call from the page (frames of received tracks, not only DOM)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import CHROMIUM, TIMEOUT_MS

MEDIA_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # Share screen picks the whole screen without a picker.
    "--auto-select-desktop-capture-source=Entire screen",
]


@pytest.fixture(scope="module")
def browser():
    """Replaces the suite's browser in a call module: Chromium with fake devices."""
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=MEDIA_ARGS)
        yield chromium
        chromium.close()


def open_conversation(page, name: str) -> None:
    page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}\.")).click()
    expect(page.locator(".str-chat__channel-header__data__title")).to_have_text(name)


def call_view(page):
    return page.get_by_test_id("call-view")


def prompt(page):
    return page.get_by_role("dialog", name=re.compile("is calling"))


def accept(page) -> None:
    expect(prompt(page)).to_be_visible()
    prompt(page).get_by_role("button", name="Accept").click()


# Counts the frames each received video track renders over ``ms``
# (requestVideoFrameCallback fires once per frame presented).
FRAMES_JS = """async (ms) => {
  const videos = [...document.querySelectorAll('[data-testid="remote-video"]')];
  return Promise.all(videos.map((video) => new Promise((resolve) => {
    let frames = 0;
    const tick = () => { frames += 1; video.requestVideoFrameCallback(tick); };
    video.requestVideoFrameCallback(tick);
    setTimeout(() => {
      const track = video.srcObject && video.srcObject.getVideoTracks()[0];
      resolve({ frames, live: !!track && track.readyState === 'live', width: video.videoWidth });
    }, ms);
  })));
}"""


def remote_frames(page, ms: int = 1500) -> list[dict]:
    return page.evaluate(FRAMES_JS, ms)


def expect_live_video_from(page, count: int) -> None:
    """``count`` remote tiles, each one's track live and rendering frames."""
    expect(page.get_by_test_id("remote-tile")).to_have_count(count)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        seen = remote_frames(page)
        if len(seen) == count and all(v["live"] and v["frames"] >= 5 and v["width"] > 0 for v in seen):
            return
        tiles = page.get_by_test_id("remote-tile").evaluate_all(
            "(tiles) => tiles.map((t) => [t.dataset.userId, t.dataset.connection])"
        )
        assert time.monotonic() < deadline, (
            f"remote video is not playing: {seen} {tiles} {page.get_by_test_id('call-view').inner_text()}"
        )


# Marks the moment of the click and resolves once every one of ``n`` remote
# videos presented a frame: the call's set-up time as a person sees it.
ARM_TIMER_JS = """(n) => {
  window.__callSetup = { start: performance.now(), done: null };
  const seen = new Set();
  const check = () => {
    for (const video of document.querySelectorAll('[data-testid="remote-video"]')) {
      if (seen.has(video) || !video.requestVideoFrameCallback) continue;
      seen.add(video);
      video.requestVideoFrameCallback(() => {
        video.dataset.firstFrame = '1';
        const shown = document.querySelectorAll('[data-testid="remote-video"][data-first-frame="1"]').length;
        if (shown >= n && window.__callSetup.done === null) window.__callSetup.done = performance.now();
      });
    }
  };
  new MutationObserver(check).observe(document.body, { childList: true, subtree: true });
}"""


def arm_setup_timer(page, participants: int) -> None:
    page.evaluate(ARM_TIMER_JS, participants - 1)


def setup_ms(page) -> float:
    page.wait_for_function("() => window.__callSetup && window.__callSetup.done !== null")
    return page.evaluate("() => window.__callSetup.done - window.__callSetup.start")
