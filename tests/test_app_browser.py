"""The app in a real browser: Debian's Chromium driven by Playwright against `corridors app`'s
server, with every request that leaves 127.0.0.1 blocked (and failing the test).

Screenshots go to test-artifacts/. Without Chromium or Playwright these tests skip, except in
CI (``CI`` set), where they must run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest.importorskip("solara")

from corridors import load_scenario

IN_CI = bool(os.environ.get("CI"))
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
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
TIMEOUT_MS = 45_000
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def require(ok: bool, reason: str) -> None:
    """Skip when something the browser tests need is missing, but never in CI."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


def chromium() -> str | None:
    for candidate in (os.environ.get("CORRIDORS_CHROMIUM"), shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app_server(
    env: dict[str, str], log_name: str, port: int | None = None, timeout: float = 90
) -> tuple[str, subprocess.Popen]:
    """Start `corridors app`'s server (production mode) with ``env`` on ``port`` (default: a
    free one), its output in test-artifacts/``log_name``; return its URL once it answers."""
    from corridors.app.serve import command

    ARTIFACTS.mkdir(exist_ok=True)
    port = port or free_port()
    with (ARTIFACTS / log_name).open("a") as log:
        proc = subprocess.Popen(
            command("127.0.0.1", port), env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the app server exited ({proc.returncode}); see test-artifacts/{log_name}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return url, proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_app_server(proc)
            pytest.fail(f"the app server did not answer within {timeout:g} s")
        time.sleep(0.25)


def stop_app_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def server():
    """`corridors app`'s server (production mode, offline environment) on a free port."""
    from corridors.app import assets
    from corridors.app.serve import offline_env

    gone = assets.missing()
    require(not gone, f"offline assets missing (run `make assets`): {gone}")
    (ARTIFACTS / "server.log").unlink(missing_ok=True)
    url, proc = start_app_server(offline_env(), "server.log")
    yield url
    stop_app_server(proc)


@pytest.fixture(scope="module")
def browser():
    exe = chromium()
    require(exe is not None, "Chromium not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Offline:
    """Aborts every request that does not go to this machine, and remembers it."""

    def __init__(self, page) -> None:
        self.external: list[str] = []
        self.failed: list[str] = []
        page.route("**/*", self._route)
        page.on("response", self._response)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))

    def _route(self, route) -> None:
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url} ({response.status})")

    def check(self) -> None:
        assert not self.external, f"the app asked for outside resources: {self.external}"
        assert not self.failed, f"requests failed: {self.failed}"


def open_app(browser, url: str, start_day: int | None = 0):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    guard = Offline(page)
    page.goto(url)
    if start_day is not None:
        day(page, start_day)
    return context, page, guard


def day(page, n: int) -> None:
    """Wait until the run controls say day ``n``."""
    page.locator(".corridors-day", has_text=re.compile(rf"^Day {n} of ")).wait_for()


def current_day(page) -> int:
    text = page.locator(".corridors-day").inner_text()
    return int(re.match(r"Day (\d+) of", text).group(1))


def choose(page, field_class: str, option: str, close: bool = False) -> None:
    """Pick ``option`` in the Vuetify select with class ``field_class``."""
    page.locator(f".{field_class}").click()
    menu = page.locator(".menuable__content__active")
    menu.locator("[role=option]", has_text=re.compile(rf"^\s*{re.escape(option)}\s*$")).click()
    if close:
        page.keyboard.press("Escape")
    menu.wait_for(state="hidden")


def food_stock(page) -> float:
    """NKR's food stock (t), as the inspector shows it for the selected state."""
    text = page.locator(".corridors-inspector-body").inner_text()
    match = re.search(r"stock \(t\)\s+food: ([\d,.]+)", text)
    assert match, text
    return float(match.group(1).replace(",", ""))


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def open_offline(context, path: Path):
    """Open a saved file in a new page of ``context`` with the network cut; return the page and
    the list of URLs it tried to fetch (a self-contained file fetches none)."""
    viewer = context.new_page()
    fetched: list[str] = []
    viewer.route(
        "**/*",
        lambda route: (
            (fetched.append(route.request.url), route.abort())
            if not route.request.url.startswith("file:")
            else route.continue_()
        ),
    )
    viewer.goto(path.as_uri())
    return viewer, fetched


def test_blockade_toggled_mid_run_offline(server, browser):
    context, page, guard = open_app(browser, server)
    try:
        shot(page, "app-loaded.png")
        # a scenario, its counterfactual variant (the road stays open), and a faster step
        choose(page, "corridors-scenario-select", "lachin-2023")
        choose(page, "corridors-variants", "no-blockade", close=True)
        page.get_by_text("variants: no-blockade").wait_for()
        choose(page, "corridors-speed", "1 week")
        for n in (7, 14, 21):
            page.locator(".corridors-step").click()
            day(page, n)

        # inspect Nagorno-Karabakh on the map (zoomed in), as a user would
        page.locator(".map-zoom-in").click()
        page.locator(".map-zoom-in").click()
        page.locator(".map-state-NKR circle").click()
        page.locator(
            ".corridors-inspector-body", has_text="Nagorno-Karabakh — de facto state"
        ).wait_for()
        food_open = food_stock(page)
        stocks_before = page.locator(".chart-stocks .corridors-echart").get_attribute("data-points")
        assert page.locator(".map-link-lachin.status-open").count() == 1

        # the blockade, mid-run, from the interventions panel
        choose(page, "corridors-action", "Close link")
        choose(page, "corridors-field-link", "lachin")
        page.get_by_label("Reason (shown in the timeline)").fill("browser test: blockade")
        page.locator(".corridors-apply").click()
        page.locator(".corridors-intervention-ok", has_text="link lachin closed").wait_for()
        page.locator(".map-link-lachin.status-closed").wait_for()
        page.locator(".tl-intervention", has_text="browser test: blockade").wait_for()

        for n in (28, 35):
            page.locator(".corridors-step").click()
            day(page, n)
        page.locator(
            ".corridors-inspector-body", has_text="Nagorno-Karabakh — de facto state"
        ).wait_for()
        food_closed = food_stock(page)
        # need 66 t/day, local farming 20: closed for two weeks, the stock falls by ~640 t
        assert food_closed < food_open - 400, (food_open, food_closed)
        # the chart drawn in the browser got the new days
        chart = page.locator(".chart-stocks .corridors-echart")
        assert chart.get_attribute("data-points") != stocks_before
        shot(page, "blockade-closed.png")

        # ... and lifted again
        choose(page, "corridors-action", "Open link")
        choose(page, "corridors-field-link", "lachin")
        page.locator(".corridors-apply").click()
        page.locator(".corridors-intervention-ok", has_text="link lachin reopened").wait_for()
        page.locator(".map-link-lachin.status-open").wait_for()
        assert page.locator(".tl-intervention").count() == 2
        page.locator(".corridors-step").click()
        day(page, 42)
        # supplies flow again: the stock falls far more slowly than during the blockade
        weekly_fall_closed = (food_open - food_closed) / 2
        assert food_closed - food_stock(page) < weekly_fall_closed / 2
        shot(page, "blockade-lifted.png")
        guard.check()
    finally:
        context.close()


def test_two_sessions_do_not_share_a_model(server, browser):
    context_a, page_a, guard_a = open_app(browser, server)
    context_b, page_b, guard_b = open_app(browser, server)
    try:
        for n in (1, 2, 3):
            page_a.locator(".corridors-step").click()
            day(page_a, n)
        choose(page_a, "corridors-action", "Close link")
        choose(page_a, "corridors-field-link", "lachin")
        page_a.locator(".corridors-apply").click()
        page_a.locator(".tl-intervention").first.wait_for()

        page_b.reload()
        day(page_b, 0)
        assert page_b.locator(".tl-intervention").count() == 0
        page_b.locator(".corridors-step").click()
        day(page_b, 1)
        assert current_day(page_a) == 3
        assert page_b.locator(".map-link-lachin.status-open").count() == 1
        assert page_a.locator(".map-link-lachin.status-closed").count() == 1

        # play and pause in session A: it runs on its own, session B stays where it was
        page_a.locator(".corridors-play").click()
        page_a.locator(".corridors-day", has_text=re.compile(r"^Day ([4-9]|\d\d+) of")).wait_for()
        page_a.locator(".corridors-play", has_text="Pause").click()
        page_a.locator(".corridors-play", has_text="Play").wait_for()
        page_a.locator(".corridors-step:not([disabled])").wait_for()
        # the last play tick may still be on its way to the page: one step to settle, then
        # every step advances exactly one day
        shown = current_day(page_a)
        page_a.locator(".corridors-step").click()
        page_a.locator(
            ".corridors-day", has_text=re.compile(rf"^Day ({shown + 1}|{shown + 2}) of")
        ).wait_for()
        paused = current_day(page_a)
        page_a.locator(".corridors-step").click()
        day(page_a, paused + 1)
        assert current_day(page_b) == 1
        shot(page_a, "session-a.png")
        shot(page_b, "session-b.png")
        guard_a.check()
        guard_b.check()
    finally:
        context_a.close()
        context_b.close()


def test_reload_and_a_shared_link_restore_the_run(server, browser):
    context, page, guard = open_app(browser, server)
    other = None
    try:
        choose(page, "corridors-speed", "1 week")
        page.locator(".corridors-step").click()
        day(page, 7)
        choose(page, "corridors-action", "Close link")
        choose(page, "corridors-field-link", "lachin")
        page.get_by_label("Reason (shown in the timeline)").fill("browser test: reload")
        page.locator(".corridors-apply").click()
        page.locator(".tl-intervention", has_text="browser test: reload").wait_for()
        page.locator(".corridors-step").click()
        day(page, 14)
        # the form kept its selection after Apply
        assert "lachin" in page.locator(".corridors-field-link").inner_text()
        page.wait_for_function("() => location.search.includes('run=')")
        link = page.url
        food = food_stock_of_run(page)
        lachin = page.locator(".map-link-lachin").get_attribute("class")

        page.reload()
        day(page, 14)
        page.locator(".tl-intervention", has_text="browser test: reload").wait_for()
        assert page.locator(".map-link-lachin").get_attribute("class") == lachin
        assert food_stock_of_run(page) == food
        shot(page, "reloaded.png")

        # the same link in another browser (another machine running the app): the same run
        other, page_b, guard_b = open_app(browser, link, start_day=None)
        day(page_b, 14)
        page_b.locator(".tl-intervention", has_text="browser test: reload").wait_for()
        assert food_stock_of_run(page_b) == food
        guard.check()
        guard_b.check()
    finally:
        context.close()
        if other is not None:
            other.close()


def food_stock_of_run(page) -> float:
    page.locator(".map-state-NKR circle").click(force=True)
    page.locator(".corridors-inspector-body", has_text="Nagorno-Karabakh").wait_for()
    return food_stock(page)


def test_one_day_numbering_in_header_timeline_and_charts(server, browser):
    context, page, guard = open_app(browser, server)
    try:
        choose(page, "corridors-speed", "1 week")
        page.locator(".corridors-step").click()
        day(page, 7)
        page.locator(".corridors-step").click()
        day(page, 14)
        header = page.locator(".corridors-header-day").inner_text()
        n_days = load_scenario("lachin-2023").calendar.n_days
        assert header == f"Day 14 of {n_days} · 2022-12-14"
        assert page.locator(".corridors-day").first.inner_text().startswith(header)
        # the blockade on 12 December is day 12 in the timeline, as in the header's count
        row = page.locator(".tl-event").first
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        assert cells[:2] == ["2022-12-12", "12"]
        # the charts hold day 0 to day 14, drawn in the browser
        stocks = page.locator(".chart-stocks .corridors-echart")
        page.wait_for_function("el => el.dataset.points === '15'", arg=stocks.element_handle())
        assert page.locator(".chart-stocks canvas").count() >= 1
        guard.check()
    finally:
        context.close()


def test_run_report_downloads_as_one_offline_page(server, browser):
    context, page, guard = open_app(browser, server)
    try:
        choose(page, "corridors-speed", "1 week")
        for n in (7, 14):
            page.locator(".corridors-step").click()
            day(page, n)
        page.get_by_role("tab", name="Downloads").click()
        with page.expect_download() as info:
            page.locator(".corridors-report-html").click()
        path = ARTIFACTS / "report.html"
        info.value.save_as(path)
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text
        # opened in Chromium with the network cut: everything is in the file
        viewer, fetched = open_offline(context, path)
        viewer.get_by_role("heading", name="Key outcomes").wait_for()
        viewer.get_by_role("heading", name="Key events").wait_for()
        assert viewer.locator("figure svg").count() >= 4  # map, stocks, stress, flows
        assert viewer.locator("table.events tr.ev").count() >= 1
        assert fetched == []
        viewer.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        guard.check()
    finally:
        context.close()


def test_inspector_reads_in_words(server, browser):
    context, page, guard = open_app(browser, server)
    try:
        page.locator(".map-state-NKR circle").click(force=True)
        body = page.locator(".corridors-inspector-body")
        body.locator("text=Nagorno-Karabakh — de facto state").wait_for()
        text = body.inner_text()
        # names with units in words, no codes, no snake_case names or values
        assert "stock (t)" in text and "need (t/day)" in text
        assert "(NKR)" not in text
        assert "de_facto" not in text and "_t" not in text and "stock t" not in text
        page.locator(".map-link-lachin").first.click(force=True)
        body.locator("text=lachin: road link, Armenia – Nagorno-Karabakh").wait_for()
        text = body.inner_text()
        assert "capacity (t/day)" in text and "controlled by" in text
        assert not re.search(r"\w_\w", text), text
        guard.check()
    finally:
        context.close()


def lesson_card(page, title: str) -> None:
    page.locator(".lesson-card-title", has_text=title).wait_for()


def test_lesson_flow_predict_run_intervene_debrief_and_handout(server, browser):
    """A teacher's walk through lachin-2023's lesson cards in Chromium: the class's prediction
    is recorded, survives moving between cards and tabs, the run and an intervention happen on
    the left, and the debrief puts the key events first, then the prediction beside this run and
    the record; the handout downloads as one page that opens offline."""
    from playwright.sync_api import expect

    context, page, guard = open_app(browser, server)
    try:
        page.get_by_role("tab", name="Teach").click()
        lesson_card(page, "Where and when")
        expect(page.locator(".lesson-stage-current")).to_contain_text("Briefing")
        expect(page.locator(".lesson-back")).to_be_disabled()
        page.locator(".lesson-next").click()
        lesson_card(page, "Two framings, one record")
        page.locator(".lesson-next").click()

        # predict: nothing to record until the class has chosen
        lesson_card(page, "Predict: how long do the stocks last?")
        expect(page.locator(".lesson-stage-current")).to_contain_text("Predict")
        expect(page.locator(".lesson-record")).to_be_disabled()
        page.locator(".lesson-choices").get_by_text("30–100", exact=True).click()
        page.locator(".lesson-record:not([disabled])").click()
        page.locator(".lesson-recorded", has_text="Recorded: 30–100").wait_for()

        # the prediction stays with the session: another card, another tab, and back
        page.locator(".lesson-next").click()
        lesson_card(page, "Predict: does the model's Azerbaijan attack")
        page.get_by_role("tab", name="Run").click()
        page.locator(".chart-stocks canvas").wait_for()
        page.get_by_role("tab", name="Teach").click()
        lesson_card(page, "Predict: does the model's Azerbaijan attack")
        page.locator(".lesson-back").click()
        lesson_card(page, "Predict: how long do the stocks last?")
        page.locator(".lesson-recorded", has_text="Recorded: 30–100").wait_for()
        page.locator(".lesson-next").click()
        lesson_card(page, "Predict: does the model's Azerbaijan attack")
        page.locator(".lesson-next").click()

        # run: the card follows the run controls on the left
        lesson_card(page, "Run the record")
        expect(page.locator(".lesson-stage-current")).to_contain_text("Run")
        page.get_by_text(re.compile(r"Now: day 0 of \d+")).wait_for()
        choose(page, "corridors-speed", "1 month")
        page.locator(".corridors-step").click()
        day(page, 30)
        page.get_by_text("Now: day 30 of").wait_for()
        page.locator(".lesson-next").click()
        lesson_card(page, "What the model assumes")
        page.locator(".lesson-next").click()

        # intervene: the class breaks a link from the interventions panel
        lesson_card(page, "Break one link")
        expect(page.locator(".lesson-stage-current")).to_contain_text("Intervene")
        choose(page, "corridors-action", "Close link")
        choose(page, "corridors-field-link", "lachin")
        page.get_by_label("Reason (shown in the timeline)").fill("the class closes the road")
        page.locator(".corridors-apply").click()
        page.locator(".corridors-intervention-ok", has_text="link lachin closed").wait_for()
        page.locator(".corridors-to-end").click()
        page.locator(".corridors-day", has_text="finished").wait_for()
        page.locator(".lesson-next").click()

        # debrief: key events first, then the class, this run and the record side by side
        lesson_card(page, "Debrief")
        debrief = page.locator(".lesson-debrief")
        debrief.locator(".lesson-comparison").wait_for()
        text = debrief.inner_text()
        assert text.index("Key events") < text.index("Your prediction, the run, the record")
        assert "the class closes the road" in debrief.locator(".lesson-key-events").inner_text()
        rows = debrief.locator(".lesson-comparison tr")
        expect(rows).to_have_count(3)  # the header and the two predict cards
        stocks = rows.nth(1)
        cells = [c.strip() for c in stocks.locator("td").all_inner_texts()]
        assert cells[1] == "30–100"
        assert re.fullmatch(r"[\d,]+", cells[2]), cells  # this run's days short of something
        attack = [c.strip() for c in rows.nth(2).locator("td").all_inner_texts()]
        assert attack[1] == "(no prediction recorded)"
        # the record of the attack, with its source, from the scenario's targets
        assert re.match(r"\d{4}-\d{2}-\d{2} \(.+\)$", attack[3]), attack
        assert "nan" not in debrief.inner_text()
        expect(page.locator(".lesson-next")).to_be_disabled()
        shot(page, "lesson-debrief.png")

        # the printable handout: one self-contained page with the briefing and the questions
        with page.expect_download() as info:
            page.locator(".corridors-handout").click()
        path = ARTIFACTS / "handout.html"
        info.value.save_as(path)
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text
        viewer, fetched = open_offline(context, path)
        viewer.get_by_role("heading", name="Briefing").wait_for()
        viewer.get_by_role("heading", name="Predict before you run").wait_for()
        spec = load_scenario("lachin-2023")
        predict = [c for c in spec.meta.lesson.cards if c.stage == "predict" and c.question]
        assert viewer.locator("p.predict").count() == len(predict)
        assert viewer.locator("ul.choices li").first.inner_text().startswith("☐")
        assert viewer.locator("ol.questions li").count() == len(spec.meta.questions)
        assert fetched == []
        viewer.screenshot(path=str(ARTIFACTS / "handout.png"), full_page=True)
        guard.check()
    finally:
        context.close()
