"""Web client benchmark: what the chat page weighs and how long sign-in takes.

Against a running server (`make run`, or --base), with the demo data:

- the chat page's weight: every script and stylesheet `/` loads, raw and gzipped;
- sign-in to the first message list, in headless Chromium: from the click on
  "Sign in" until the open channel's message list shows (login, session,
  chat token, WebSocket connect, queryChannels, watch), median of --runs;
- the baseline, measured the same way in the same run: loading the static
  /login page until its form shows. The ratio says how much the chat adds on
  top of a plain page load of this site on this machine.

    .venv/bin/python bench/webclient.py [--base http://127.0.0.1:8000] [--runs 7]

Prints a table and, with --json, the figures as JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import statistics
import time
import urllib.request

from playwright.sync_api import sync_playwright

DEMO_EMAIL = "mary@acme.test"
DEMO_PASSWORD = "demo-chat-2026"


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=15) as response:
        return response.read()


def page_weight(base: str) -> dict[str, int]:
    html = fetch(f"{base}/").decode()
    assets = sorted(set(re.findall(r'(?:src|href)="(/_next/static/[^"]+\.(?:js|css))"', html)))
    raw = gzipped = 0
    for path in assets:
        body = fetch(base + path)
        raw += len(body)
        gzipped += len(gzip.compress(body, compresslevel=6))
    return {"assets": len(assets), "raw_bytes": raw, "gzip_bytes": gzipped}


def timings(base: str, runs: int) -> dict[str, float]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    sign_in, baseline = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-background-networking"]
        )
        for _ in range(runs):
            context = browser.new_context(base_url=base)
            page = context.new_page()
            started = time.perf_counter()
            page.goto("/login")
            page.get_by_label("Email").wait_for()
            baseline.append(time.perf_counter() - started)

            page.get_by_label("Email").fill(DEMO_EMAIL)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            started = time.perf_counter()
            page.get_by_role("button", name="Sign in").click()
            # The open channel's message list (or its empty state) is on screen.
            page.locator(".str-chat__main-panel .str-chat__message-list").first.wait_for(timeout=30_000)
            sign_in.append(time.perf_counter() - started)
            context.close()
        browser.close()
    return {
        "sign_in_ms": statistics.median(sign_in) * 1000,
        "baseline_ms": statistics.median(baseline) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    weight = page_weight(args.base)
    times = timings(args.base, args.runs)
    ratio = times["sign_in_ms"] / times["baseline_ms"]
    print(
        f"chat page: {weight['assets']} scripts and stylesheets, {weight['raw_bytes'] / 1024:.0f} KiB, "
        f"{weight['gzip_bytes'] / 1024:.0f} KiB gzipped"
    )
    print(f"{'measure (median of ' + str(args.runs) + ')':<44} {'ms':>8} {'ratio':>7}")
    print(f"{'baseline: /login page load until its form':<44} {times['baseline_ms']:>8.0f} {1:>7.2f}")
    print(f"{'sign-in click until the first message list':<44} {times['sign_in_ms']:>8.0f} {ratio:>7.2f}")
    if args.json:
        print(json.dumps({**weight, **times, "ratio": round(ratio, 2)}))


if __name__ == "__main__":
    main()
