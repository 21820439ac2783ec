"""A classroom room in a real browser: a teacher and two students (three Chromium contexts) play
four turns of lachin-2023 through `corridors app`'s server, with reloads and a server restart in
between. Every request that leaves 127.0.0.1 is blocked (and fails the test).

Screenshots go to test-artifacts/ and, with ``CORRIDORS_DOC_SHOTS=1``, to docs/img/ for
docs/app.md.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

pytest.importorskip("solara")

from test_app_browser import (
    ARTIFACTS,
    ROOT,
    TIMEOUT_MS,
    Offline,
    browser,  # noqa: F401 - the fixture
    free_port,
    require,
    start_app_server,
    stop_app_server,
)

DOC_IMG = ROOT / "docs" / "img"
AZE, ARM = "Azerbaijan", "Armenia"


class Server:
    """`corridors app`'s server on a fixed port and rooms folder, which can be restarted."""

    def __init__(self, rooms_dir) -> None:
        self.port = free_port()
        self.rooms_dir = rooms_dir
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        from corridors.app.serve import offline_env

        env = offline_env()
        env["CORRIDORS_ROOMS_DIR"] = str(self.rooms_dir)
        _, self.proc = start_app_server(env, "rooms-server.log", port=self.port, timeout=120)

    def stop(self) -> None:
        if self.proc is not None:
            stop_app_server(self.proc)
            self.proc = None


@pytest.fixture
def server(tmp_path):
    from corridors.app import assets

    gone = assets.missing()
    require(not gone, f"offline assets missing (run `make assets`): {gone}")
    ARTIFACTS.mkdir(exist_ok=True)
    s = Server(tmp_path / "rooms")
    s.start()
    yield s
    s.stop()


def new_page(browser, width: int = 1280):  # noqa: F811 - the fixture
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page, Offline(page)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if os.environ.get("CORRIDORS_DOC_SHOTS"):
        DOC_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMG / name), full_page=True)


def turn(page, n: int, day: int) -> None:
    """Wait until the page shows turn ``n`` at ``day``."""
    page.locator(".room-turn", has_text=re.compile(rf"^Turn {n} · day {day} of ")).wait_for()


def join(browser, url: str, code: str, name: str, role: str):  # noqa: F811
    context, page, guard = new_page(browser)
    page.goto(f"{url}/room?c={code}")
    page.locator(".room-join-name input").fill(name)
    page.locator(".room-join").click()
    page.locator(".room-you", has_text=f"You are {name}").wait_for()
    page.locator(".room-pick", has_text=re.compile(rf"^\s*{role}\s*$")).click()
    page.locator(".room-you", has_text=f"playing {role}").wait_for()
    return context, page, guard


def decide(page, action: str, target: str, reason: str, statement: str = "") -> None:
    page.locator(".room-action button", has_text=re.compile(rf"^\s*{action}\s*$")).click()
    page.locator(".room-target button", has_text=re.compile(rf"^\s*{target}\s*$")).click()
    page.locator(".room-add").click()
    page.locator(".room-draft").first.wait_for()
    submit(page, reason, statement)


def submit(page, reason: str, statement: str = "") -> None:
    page.locator(".room-reason textarea").fill(reason)
    if statement:
        page.locator(".room-statement textarea").fill(statement)
    page.locator(".room-submit").click()
    page.locator(".room-submitted").wait_for()


def advance(teacher, n: int, day: int) -> None:
    teacher.locator(".room-advance").click()
    turn(teacher, n, day)


def test_a_class_plays_four_turns_through_reloads_and_a_restart(server, browser, tmp_path):  # noqa: F811
    contexts = []
    try:
        # the teacher opens a room from the app's Rooms tab
        tctx, teacher, tguard = new_page(browser, 1400)
        contexts.append(tctx)
        teacher.goto(server.url + "/")
        teacher.get_by_role("tab", name="Rooms").click()
        shot(teacher, "rooms-open.png")
        teacher.locator(".room-open").click()
        teacher.locator(".room-teacher-link").click()
        code = teacher.locator(".room-code").inner_text().strip()
        assert re.fullmatch(r"[A-Z2-9]{6}", code)
        assert teacher.locator(".room-qr svg").count() == 1
        assert f"/room?c={code}" in teacher.locator(".room-url").inner_text()
        teacher_url = teacher.url
        turn(teacher, 1, 0)

        # two students join from their own browsers and pick their states
        actx, ana, aguard = join(browser, server.url, code, "Ana", AZE)
        bctx, ben, bguard = join(browser, server.url, code, "Ben", ARM)
        contexts += [actx, bctx]
        teacher.get_by_text("waiting for: Armenia, Azerbaijan").wait_for()

        # each sees its own state, and can act only on what its state controls
        ana.locator(".room-own", has_text="Azerbaijan").wait_for()
        ana.locator(".room-action button", has_text="order_offensive").wait_for()
        assert ben.locator(".room-action button", has_text="order_offensive").count() == 0
        ben.locator(".room-action button", has_text=re.compile(r"^\s*close_link\s*$")).click()
        ben_links = ben.locator(".room-target").text_content()
        assert "lachin" in ben_links and "israel_azerbaijan_air" not in ben_links
        assert ben.locator(".room-advance").count() == 0  # no teacher controls

        # turn 1: Azerbaijan closes Lachin; Armenia's statement; hidden until played
        decide(ana, "close_link", "lachin", "Squeeze them before winter", "The road is ours.")
        ben.locator(".room-states", has_text="submitted").wait_for()  # that, not what
        assert "Squeeze them" not in ben.content()
        submit(ben, "", "We call on the guarantor.")
        teacher.get_by_text("everyone has submitted").wait_for()
        teacher.locator(".room-pending", has_text="Squeeze them before winter").wait_for()
        shot(teacher, "room-teacher.png")
        advance(teacher, 2, 7)
        ben.locator(".room-timeline", has_text="Squeeze them before winter").wait_for()
        ben.locator(".room-timeline", has_text="We call on the guarantor").wait_for()
        turn(ben, 2, 7)
        shot(ana, "room-student.png")

        # a student's token is not the teacher's; a forged one gets nothing
        ben.goto(f"{server.url}/room?c={code}&t={'x' * 24}")
        ben.locator(".room-error", has_text="not valid").wait_for()
        assert ben.locator(".room-advance").count() == 0
        ben.go_back()
        ben.locator(".room-you", has_text="playing Armenia").wait_for()

        # turn 2: a reload restores the role and the pending submission
        decide(ben, "deny_transit", AZE, "No arms through us")
        ana.reload()
        ana.locator(".room-you", has_text="playing Azerbaijan").wait_for()
        turn(ana, 2, 7)
        advance(teacher, 3, 14)

        # turn 3, then the server restarts with a submission pending
        turn(ana, 3, 14)  # (a new turn empties the form: draft once it has arrived)
        decide(ana, "order_offensive", "Nagorno-Karabakh", "Strike before the arms arrive")
        server.stop()
        server.start()
        for page in (teacher, ana, ben):
            page.reload()
        turn(teacher, 3, 14)
        teacher.locator(".room-pending", has_text="Strike before the arms arrive").wait_for()
        ana.locator(".room-you", has_text="playing Azerbaijan").wait_for()
        ana.locator(".room-submitted").wait_for()
        ben.locator(".room-timeline", has_text="No arms through us").wait_for()
        assert teacher.url == teacher_url
        advance(teacher, 4, 21)

        # turn 4
        turn(ben, 4, 21)
        submit(ben, "", "Still waiting.")
        advance(teacher, 5, 28)
        for page in (ana, ben):
            turn(page, 5, 28)
        ana.locator(".room-timeline", has_text="Still waiting").wait_for()
        shot(ben, "room-student-armenia.png")

        # debrief: the class against the record and the model alone; the run as a scenario
        seeds = teacher.locator(".room-debrief input").first
        seeds.fill("3")
        seeds.press("Enter")
        teacher.locator(".room-debrief-run").click()
        teacher.locator(".room-debrief-class", has_text="offensive 2022-12-").wait_for()
        teacher.get_by_text("over 3 seeds").wait_for()
        with teacher.expect_download() as download:
            teacher.get_by_text("Download the class's run as a scenario").click()
        overlay = tmp_path / download.value.suggested_filename
        download.value.save_as(overlay)
        shot(teacher, "room-debrief.png")
        for guard in (tguard, aguard, bguard):
            # reloads, navigation and the restart abort the old page's requests in flight
            guard.failed = [f for f in guard.failed if not f.endswith("(net::ERR_ABORTED)")]
            guard.check()
    except Exception:
        for i, context in enumerate(contexts):
            for page in context.pages:
                page.screenshot(path=str(ARTIFACTS / f"rooms-failure-{i}.png"), full_page=True)
        raise
    finally:
        for context in contexts:
            context.close()
    # the log on disk holds the whole session: four turns played
    log = next(server.rooms_dir.glob("*.jsonl")).read_text().splitlines()
    assert sum('"op": "advance"' in line for line in log) == 4
    from corridors.scenarios import load_scenario

    spec = load_scenario(overlay)  # `corridors run` replays it
    assert any(ev.action == "order_offensive" and ev.actor == AZE for ev in spec.events)
    assert any(ev.action == "close_link" and ev.link == "lachin" for ev in spec.events)
