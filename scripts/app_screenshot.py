"""Take the README's screenshot of the app (docs/img/app.png) in headless Chromium.

Usage: .venv/bin/python scripts/app_screenshot.py [OUT.png]   (needs `make assets` and Debian's
chromium). It starts `corridors app`'s server on a free port, runs the Lachin scenario to
mid-June 2023, selects the Lachin road on the map, and saves the page.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from corridors.app.serve import command, offline_env

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def main(out: str = "docs/img/app.png") -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        command("127.0.0.1", port), env=offline_env(), stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.25)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1050})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.locator(".corridors-day", has_text=re.compile("^Day 0 of")).wait_for()
            page.locator(".corridors-speed").click()
            page.locator(".menuable__content__active [role=option]", has_text="1 month").click()
            for n in range(30, 210, 30):
                page.locator(".corridors-step").click()
                page.locator(".corridors-day", has_text=re.compile(rf"^Day {n} of")).wait_for()
            page.locator(".map-zoom-in").click()
            page.locator(".map-link-lachin").click()
            page.locator(".corridors-inspector-body", has_text="road link").wait_for()
            page.mouse.move(5, 5)
            page.screenshot(path=out)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=15)
    print(f"wrote {Path(out).resolve()}")


if __name__ == "__main__":
    main(*sys.argv[1:])
