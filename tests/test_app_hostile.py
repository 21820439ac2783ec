"""A hostile browser (issue 18): Chromium driven by Playwright against `corridors app`'s
server, doing what a student with the browser's console could do: send widget values the page
never offered (paths, other sessions' ids), oversized inputs, markup in names, and many
sessions. Nothing may leak, nothing may run, and the server's memory stays bounded.

Widgets are tampered with the way a console would: through the Vue component behind the
element (``el.__vue__.$emit('input', value)``), which sends the value to the server exactly as
a user's choice would be sent.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

pytest.importorskip("solara")

from test_app_browser import (
    ARTIFACTS,
    TIMEOUT_MS,
    browser,  # noqa: F401 - a fixture
    require,
    start_app_server,
    stop_app_server,
)

LIBRARY = Path(__file__).resolve().parents[1] / "corridors" / "scenarios" / "library"
SECRET = "SECRET-LINE-18-XYZZY"
MAX_SESSIONS = 4
CULL = "4s"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Server:
    def __init__(self, url: str, proc: subprocess.Popen, root: Path) -> None:
        self.url, self.proc, self.root = url, proc, root

    @property
    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def kernels(self) -> int:
        with urllib.request.urlopen(self.url + "resourcez", timeout=10) as response:
            return json.load(response)["kernels"]["total"]

    def uploads(self) -> list[Path]:
        return [p for p in (self.root / "uploads").rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    from corridors.app import assets
    from corridors.app.serve import offline_env

    gone = assets.missing()
    require(not gone, f"offline assets missing (run `make assets`): {gone}")
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.yaml"
    secret.write_text(f"{SECRET}: 1\nroot: x\n")
    sweeps = root / "sweeps"
    (sweeps / "s1" / "runs").mkdir(parents=True)
    (sweeps / "s1" / "outcomes").mkdir()
    (sweeps / "outside").symlink_to(root, target_is_directory=True)
    env = offline_env(session_timeout=CULL, max_sessions=MAX_SESSIONS)
    env.update(
        CORRIDORS_UPLOAD_ROOT=str(root / "uploads"),
        CORRIDORS_SWEEP_ROOT=str(sweeps),
    )
    (ARTIFACTS / "hostile-server.log").unlink(missing_ok=True)
    url, proc = start_app_server(env, "hostile-server.log")
    yield Server(url, proc, root)
    stop_app_server(proc)


class Watch:
    """What a page must never do: run injected script, open a dialog, show a traceback."""

    def __init__(self, page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def text(self) -> str:
        return self.page.locator("body").inner_text()

    def check(self) -> None:
        text = self.text()
        assert SECRET not in text
        assert "root:x" not in text and "root:" not in text
        assert "Traceback" not in text
        assert not self.dialogs, self.dialogs
        assert self.page.evaluate("() => window.__pwned === undefined")


def open_page(browser, url: str):  # noqa: F811 - browser is the fixture's value
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    watch = Watch(page)
    page.goto(url)
    page.locator(".corridors-day", has_text=re.compile(r"^Day 0 of ")).wait_for()
    return context, page, watch


def tamper(page, selector: str, value) -> None:
    """Send ``value`` as the widget's new value, as a console could (not one it offered)."""
    page.locator(selector).first.evaluate(
        """(el, value) => {
            let vm = el.__vue__;
            while (vm && !(vm.$listeners || {}).input) vm = vm.$parent;
            vm.$emit('input', value);
        }""",
        value,
    )


def drop_file(page, name: str, data: bytes, size: int | None = None) -> None:
    """Put a file in the drop zone as a drop would (the size can be a lie)."""
    page.locator(".solara-file-drop").evaluate(
        """(el, [name, text, size]) => {
            const vm = el.__vue__;
            const file = new File([text], name);
            vm.native_file_info = [file];
            vm.file_info = [{name, isFile: true, size: size === null ? file.size : size}];
        }""",
        [name, data.decode(), size],
    )


def scenario_error(page) -> str:
    box = page.locator(".corridors-scenario-error")
    box.wait_for()
    return box.inner_text()


def test_tampered_widgets_read_no_file(hostile_server, browser):  # noqa: F811
    context, page, watch = open_page(browser, hostile_server.url)
    try:
        title = page.locator(".corridors-title").inner_text()
        for value in (
            "/etc/passwd",
            "../../../../../etc/shadow",
            str(hostile_server.root / "secret.yaml"),
            str(LIBRARY / "template.yaml"),
            "README.md",
            {"name": "lachin-2023"},
        ):
            tamper(page, ".corridors-scenario-select", value)
            page.locator(
                ".corridors-scenario-error", has_text="choose a built-in scenario"
            ).wait_for()
            assert page.locator(".corridors-title").inner_text() == title
            watch.check()
        tamper(page, ".corridors-variants", [str(hostile_server.root / "secret.yaml")])
        page.locator(".corridors-scenario-error", has_text="no variant").wait_for()
        assert "variants:" not in page.locator(".corridors-app").inner_text().split("\n")[1]

        field = page.locator(".corridors-overrides textarea")
        field.fill(f"extends={hostile_server.root / 'secret.yaml'}")
        field.press("Tab")
        page.locator(
            ".corridors-scenario-error", has_text="cannot be set by an override"
        ).wait_for()
        watch.check()

        # the Compare tab goes through the same catalog
        page.get_by_role("tab", name="Compare").click()
        page.locator(".corridors-compare-run").wait_for()
        tamper(page, ".corridors-compare-a .v-select", str(hostile_server.root / "secret.yaml"))
        page.get_by_label("Seeds (count, 1-5 or 1,2,7)").fill("1")
        page.locator(".corridors-compare-run").click()
        page.locator(".corridors-compare-error", has_text="choose a built-in scenario").wait_for()
        watch.check()

        # and the Sweeps tab opens only directories it listed itself
        page.get_by_role("tab", name="Sweeps").click()
        page.locator(".corridors-sweep-open").wait_for()
        for value in ("outside", "..", str(hostile_server.root)):
            tamper(page, ".corridors-sweep-dir", value)
            page.locator(".corridors-sweep-open").click()
            page.locator(".corridors-sweep-error", has_text="choose one of").wait_for()
        watch.check()
        page.screenshot(path=str(ARTIFACTS / "hostile-tampered.png"))
    finally:
        context.close()


def _nasty_scenario() -> bytes:
    """The template with a state named in HTML and mathtext, and a title with a script."""
    nasty = "Isla<img src=x onerror=window.__pwned=1>$\\frac{$"
    data = yaml.safe_load((LIBRARY / "template.yaml").read_text())

    def rename(value):
        if isinstance(value, dict):
            return {rename(k): rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return nasty if value == "Islandia" else value

    data = rename(data)
    data["meta"]["title"] = f"<script>window.__pwned=2</script>{SECRET[:6]}-title"
    return yaml.safe_dump(data, allow_unicode=True).encode()


def test_two_sessions_keep_their_uploads_and_markup_stays_text(hostile_server, browser):  # noqa: F811
    context_a, page_a, watch_a = open_page(browser, hostile_server.url)
    context_b, page_b, watch_b = open_page(browser, hostile_server.url)
    try:
        drop_file(page_a, "island.yaml", _nasty_scenario())
        shown = f"<script>window.__pwned=2</script>{SECRET[:6]}-title"
        page_a.locator(".corridors-title", has_text=shown).wait_for()
        assert hostile_server.uploads(), "the upload is stored on the server"
        # its state's name is text on the map, the charts and the inspector: nothing runs
        page_a.locator(".corridors-step").click()
        page_a.locator(".corridors-day", has_text=re.compile(r"^Day 1 of ")).wait_for()
        assert "Isla<img" in page_a.locator("body").inner_text()
        watch_a.check()

        # session B cannot choose A's upload by its id, nor see it listed
        page_b.locator(".corridors-scenario-select").click()
        options = page_b.locator(".menuable__content__active [role=option]").all_inner_texts()
        page_b.keyboard.press("Escape")
        assert not [o for o in options if "upload" in o], options
        tamper(page_b, ".corridors-scenario-select", "island (upload 1)")
        assert "choose a built-in scenario" in scenario_error(page_b)
        for path in hostile_server.uploads():
            tamper(page_b, ".corridors-scenario-select", str(path))
            assert "choose a built-in scenario" in scenario_error(page_b)
        assert shown not in watch_b.text()
        watch_b.check()
        page_a.screenshot(path=str(ARTIFACTS / "hostile-upload-a.png"))
        page_b.screenshot(path=str(ARTIFACTS / "hostile-upload-b.png"))
    finally:
        context_a.close()
        context_b.close()
    # A's page is closed: its session ends and its upload is deleted
    deadline = time.monotonic() + 30
    while hostile_server.uploads() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not hostile_server.uploads()


def test_oversized_inputs_are_refused_and_memory_stays_bounded(hostile_server, browser):  # noqa: F811
    context, page, watch = open_page(browser, hostile_server.url)
    try:
        before = hostile_server.rss_mb
        page.get_by_role("tab", name="Compare").click()
        seeds = page.get_by_label("Seeds (count, 1-5 or 1,2,7)")
        for text in ("1-30000000", "1-99999999999", "100000"):
            seeds.fill(text)
            seeds.press("Tab")
            time.sleep(0.5)  # the value reaches the server before the click
            started = time.monotonic()
            page.locator(".corridors-compare-run").click()
            page.locator(".corridors-compare-error", has_text="between 1 and 50 seeds").wait_for()
            assert time.monotonic() - started < 10
        page.get_by_role("tab", name="Run").click()

        big = "x" * 1_000_000
        field = page.locator(".corridors-overrides textarea")
        field.fill("meta.title=" + big)
        field.press("Tab")
        assert "the limit is" in scenario_error(page)

        for _ in range(3):
            page.locator(".corridors-interventions input").last.fill(big)
            page.locator(".corridors-apply").click()
            page.locator(".corridors-intervention-error", has_text="reason").wait_for()
        assert page.locator(".tl-intervention").count() == 0

        many = "meta: {title: many}\nstates:\n" + "".join(
            f"- {{name: s{i}, code: c{i}}}\n" for i in range(5_000)
        )
        started = time.monotonic()
        drop_file(page, "many.yaml", many.encode())
        page.locator(".corridors-scenario-error", has_text="more than 200 items").wait_for()
        assert time.monotonic() - started < 15
        drop_file(page, "liar.yaml", b"meta: {}\n", size=10**12)
        page.locator(".corridors-scenario-error", has_text="the limit is").wait_for()
        watch.check()
        grown = hostile_server.rss_mb - before
        assert grown < 80, f"server memory grew by {grown:.0f} MB"
    finally:
        page.screenshot(path=str(ARTIFACTS / "hostile-oversized.png"))
        context.close()


def wait_until_no_sessions(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while server.kernels() > 0:
        assert time.monotonic() < deadline, f"{server.kernels()} sessions never ended"
        time.sleep(0.5)


def test_sessions_end_and_the_cap_has_a_clear_message(hostile_server, browser):  # noqa: F811
    # earlier tests' sessions end (closed pages; culled after CULL at worst)
    wait_until_no_sessions(hostile_server)
    baseline = hostile_server.rss_mb
    open_pages = [open_page(browser, hostile_server.url) for _ in range(MAX_SESSIONS)]
    extra = browser.new_context()
    try:
        page = extra.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(hostile_server.url)
        page.locator(".corridors-full", has_text="The app is full").wait_for()
        assert page.locator(".corridors-day").count() == 0
        page.screenshot(path=str(ARTIFACTS / "hostile-full.png"))
        page.close()
        # one page goes away: its seat comes back
        open_pages.pop()[0].close()
        page = extra.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        deadline = time.monotonic() + 30
        while True:
            page.goto(hostile_server.url)
            page.locator(".corridors-full, .corridors-day").first.wait_for()
            if page.locator(".corridors-day").count():
                break
            assert time.monotonic() < deadline, "the seat never came back"
            time.sleep(1)
    finally:
        extra.close()
        for context, _, _ in open_pages:
            context.close()
    # many page loads later, sessions are gone and memory has come back
    for _ in range(3):
        wait_until_no_sessions(hostile_server)
        batch = [open_page(browser, hostile_server.url) for _ in range(MAX_SESSIONS)]
        for context, page, _ in batch:
            page.locator(".corridors-step").click()
            context.close()
    wait_until_no_sessions(hostile_server)
    time.sleep(2)
    grown = hostile_server.rss_mb - baseline
    assert grown < 120, f"server memory grew by {grown:.0f} MB after 12 sessions ended"


def test_a_disconnected_page_is_culled(hostile_server, browser):  # noqa: F811
    """A page that vanishes without saying goodbye (network gone) ends after the timeout."""
    wait_until_no_sessions(hostile_server)
    context, page, _ = open_page(browser, hostile_server.url)
    assert hostile_server.kernels() == 1
    # the page goes without its goodbye (the close beacon Solara sends on pagehide)
    page.evaluate("() => { navigator.sendBeacon = () => true; }")
    context.close()
    time.sleep(1)
    assert hostile_server.kernels() == 1, "ended at once: not the disconnect path"
    started = time.monotonic()
    while hostile_server.kernels() > 0 and time.monotonic() - started < 60:
        time.sleep(0.5)
    assert hostile_server.kernels() == 0, "the disconnected session was never culled"
