"""The front end: time from ``make app`` to an interactive page, and time per step.

    .venv/bin/python benchmarks/bench_app.py [--smoke]

``make app`` is started on a free port (the virtual environment and the app's assets already in
place, as on any start after the first); Chromium (Debian's, driven by Playwright, already
running) opens the page as soon as the server answers, and the page is *interactive* when the
run controls show "Day 0 of …" and the Step button is enabled. Then, with the default settings
(the default scenario, one day per step): the time from a click on Step to the page showing the
next day, and the days per second while playing (each play tick steps, waits until the page has
drawn the day, then waits the app's play interval).

``--smoke`` starts ``corridors app`` and waits for the server only (no browser, no ``make``).
``--against DIR`` measures Step clicks only, alternately on this checkout's code and on the
``corridors`` package in DIR (e.g. ``git archive main corridors | tar -x -C DIR``), in the same
session, so that a shared machine's load weighs on both alike; the ratio is the figure to trust.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, corridors_cli

NAME = "app"
TITLE = "Front end"
TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def started(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A server command in its own process group, stopped (the whole group) on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_http(url: str, proc: subprocess.Popen[bytes], t0: float) -> float:
    """Seconds from ``t0`` until ``url`` answers 200."""
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                return time.perf_counter() - t0
        if time.perf_counter() - t0 > TIMEOUT_S:
            raise RuntimeError(f"no answer from {url} within {TIMEOUT_S:.0f} s")
        time.sleep(0.05)


def chromium() -> str | None:
    for candidate in (os.environ.get("CORRIDORS_CHROMIUM"), shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def day_shown(page: Any) -> int:
    text = page.locator(".corridors-day").inner_text()
    match = re.match(r"Day (\d+) of", text)
    return int(match.group(1)) if match else -1


def wait_day(page: Any, n: int) -> None:
    page.locator(".corridors-day", has_text=re.compile(rf"^Day {n} of ")).wait_for()


IN_PAGE_TIMER = """() => {
  // the page's own clock: the click as the page gets it, the day's text changed, and each
  // chart holding the new day (without the automation's own round trips)
  window.__step = {};
  document.addEventListener("click", (e) => {
    if (e.target.closest(".corridors-step")) window.__step = { click: performance.now() };
  }, true);
  new MutationObserver(() => {
    const t = window.__step;
    if (t.click && !t.day) t.day = performance.now();
  }).observe(document.querySelector(".corridors-day"), {
    subtree: true, childList: true, characterData: true,
  });
  new MutationObserver(() => {
    const t = window.__step;
    if (t.click) t.charts = performance.now();
  }).observe(document.body, { subtree: true, attributeFilter: ["data-points"] });
}"""
ALL_CHARTS_AT = """(n) => [...document.querySelectorAll(".corridors-echart")].every(
  (e) => !+e.dataset.points || +e.dataset.points >= n + 1)"""


def measure_start(browser: Any, log: Path) -> dict[str, float]:
    """``make app`` → server answers → page interactive, in seconds from the launch."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    argv = ["make", "--no-print-directory", "app", f"APP_PORT={port}", "APP_HOST=127.0.0.1"]
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    try:
        t0 = time.perf_counter()
        with started(argv, log) as proc:
            http = wait_http(url, proc, t0)
            page.goto(url)
            wait_day(page, 0)
            page.locator(".corridors-step:not([disabled])").wait_for()
            interactive = time.perf_counter() - t0
    finally:
        context.close()
    return {"http_s": http, "interactive_s": interactive}


def measure_steps(
    browser: Any, log: Path, clicks: int, play_s: float, code: Path | None = None
) -> dict[str, Any]:
    """Step-click round trips and days per second while playing (none if ``play_s`` is 0),
    default settings; the server runs the ``corridors`` package in ``code`` if given."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    from corridors.app.serve import command, offline_env

    env = offline_env()
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))

    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    try:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                command("127.0.0.1", port),
                cwd=code or ROOT,  # `python -m` puts the working directory first on the path
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_http(url, proc, time.perf_counter())
            page.goto(url)  # the first visit warms the server (imports, assets)
            wait_day(page, 0)
            loads = []
            for _ in range(3):
                t = time.perf_counter()
                page.goto(url)
                wait_day(page, 0)
                page.locator(".corridors-step:not([disabled])").wait_for()
                page.locator(".chart-stocks canvas").wait_for()
                loads.append(time.perf_counter() - t)
            step = page.locator(".corridors-step:not([disabled])")
            step.wait_for()
            page.evaluate(IN_PAGE_TIMER)
            rounds = []
            in_page: list[dict[str, float]] = []
            for n in range(1, clicks + 1):
                t = time.perf_counter()
                step.click()
                wait_day(page, n)
                rounds.append(time.perf_counter() - t)
                page.wait_for_function(ALL_CHARTS_AT, arg=n)
                marks = page.evaluate("() => window.__step")
                in_page.append(
                    {
                        "day_ms": marks.get("day", float("nan")) - marks["click"],
                        "charts_ms": marks.get("charts", float("nan")) - marks["click"],
                    }
                )
                step.wait_for()
            start_day = day_shown(page)
            if play_s <= 0:
                return {"page_load_s": loads, "step_round_trip_s": rounds, "in_page": in_page}
            play = page.locator(".corridors-play")
            t = time.perf_counter()
            play.click()
            time.sleep(play_s)
            play.click()  # pause
            page.locator(".corridors-play", has_text="Play").wait_for()
            elapsed = time.perf_counter() - t
            played = day_shown(page) - start_day
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
    finally:
        context.close()
    from corridors.app.controls import PLAY_INTERVAL_S, SPEEDS

    return {
        "page_load_s": loads,
        "step_round_trip_s": rounds,
        "in_page": in_page,
        "play_days": played,
        "play_s": elapsed,
        "play_interval_s": PLAY_INTERVAL_S,
        "days_per_tick": min(SPEEDS.values()),
    }


def server_only(log: Path) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    argv = [corridors_cli(), "app", "--host", "127.0.0.1", "--port", str(port)]
    t0 = time.perf_counter()
    with started(argv, log) as proc:
        http = wait_http(url, proc, t0)
    return {"smoke": True, "http_s": http}


def against(browser: Any, log: Path, other: Path, rounds: int, clicks: int) -> dict[str, Any]:
    """Step round trips of this code and of ``other``'s, in alternate rounds (a fresh server
    each round), so that both meet the same load."""
    this: list[dict[str, Any]] = []
    that: list[dict[str, Any]] = []
    loads: list[float] = []
    for _ in range(rounds):
        loads.append(os.getloadavg()[0])
        this.append(measure_steps(browser, log, clicks, 0))
        that.append(measure_steps(browser, log, clicks, 0, code=other))
    loads.append(os.getloadavg()[0])
    return {"against": str(other), "this": this, "other": that, "load": loads}


def run(smoke: bool = False, other: Path | None = None, rounds: int = 3) -> dict[str, Any]:
    log = ROOT / "out" / "bench-app-server.log"
    log.parent.mkdir(exist_ok=True)
    try:
        import corridors.app.serve  # noqa: F401 - the app is installed
    except ImportError as exc:
        return {"error": f"the app cannot be imported: {exc}"}
    from corridors.app import assets

    gone = assets.missing()
    if gone:
        return {"error": f"the app's assets are missing (run `make assets`): {gone}"}
    if smoke:
        return server_only(log)
    exe = chromium()
    if exe is None:
        return {"error": "Chromium is not installed (apt-get install chromium)"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"error": "Playwright is not installed (pip install -e '.[test]')"}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=exe,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            try:
                if other is not None:
                    return against(browser, log, other, rounds, clicks=10)
                starts = [measure_start(browser, log) for _ in range(2)]
                steps = measure_steps(browser, log, clicks=10, play_s=10.0)
            finally:
                browser.close()
    except Exception as exc:  # a benchmark reports what went wrong rather than crash the run
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"starts": starts, "steps": steps}


def render(result: dict[str, Any]) -> str:
    if "error" in result:
        return (
            "Not measured: " + result["error"] + ". (No figures are given rather than "
            "invented ones.)\n"
        )
    if "against" in result:
        load = result["load"]
        rows = []
        medians: dict[str, list[float]] = {}
        for label, runs in (
            ("this checkout", result["this"]),
            (result["against"], result["other"]),
        ):
            columns = _step_columns(runs)
            medians[label] = [statistics.median(c) for c in columns]
            rows.append(f"| {label} | " + " | ".join(_stat(c, 0) for c in columns) + " |")
        a, b = medians.values()
        rows.append(
            "| ratio of medians | "
            + " | ".join(f"{x / y:.2f}" for x, y in zip(a, b, strict=True))
            + " |"
        )
        n = len(_step_columns(result["this"])[0])
        return "\n".join(
            [
                f"Step clicks, default settings, {len(result['this'])} alternate rounds per "
                f"code ({n} clicks each side; load average {min(load):.1f}–{max(load):.1f}), "
                "ms, median (min–max):",
                "",
                "| code | click → day shown (Playwright) | in the page: click → day shown | "
                "in the page: click → every chart has the day |",
                "| --- | --- | --- | --- |",
                *rows,
                "",
            ]
        )
    if result.get("smoke"):
        return f"Smoke run: `corridors app` answered after {result['http_s']:.1f} s.\n"
    starts = result["starts"]
    steps = result["steps"]
    http = [s["http_s"] for s in starts]
    inter = [s["interactive_s"] for s in starts]
    rounds = steps["step_round_trip_s"]
    per_day = steps["play_s"] / steps["play_days"] if steps["play_days"] else float("nan")
    return "\n".join(
        [
            "`make app` on a free port (venv and assets in place), Chromium already running "
            "and opening the page as soon as the server answers; *interactive*: the run "
            "controls show “Day 0 of …” and Step is enabled. Seconds from launching `make`, "
            f"median (min–max) of {len(starts)} starts:",
            "",
            "| | seconds |",
            "| --- | --- |",
            f"| server answers (HTTP 200) | {_stat(http)} |",
            f"| page interactive | {_stat(inter)} |",
            "",
            f"Default settings (`lachin-2023`, {steps['days_per_tick']} day per step, play "
            f"interval {steps['play_interval_s']:.2f} s):",
            "",
            "| | measured |",
            "| --- | --- |",
            f"| page load into a running server → interactive, charts drawn | "
            f"{_stat(steps['page_load_s'])} s (n={len(steps['page_load_s'])}) |",
            f"| Step click → next day shown (model step, render, websocket round trip) | "
            f"{_stat([r * 1e3 for r in rounds], 0)} ms (n={len(rounds)}) |",
            f"| … in the page's own clock: click → day shown | "
            f"{_stat(_step_columns([steps])[1], 0)} ms |",
            f"| … in the page's own clock: click → every chart has the day | "
            f"{_stat(_step_columns([steps])[2], 0)} ms |",
            f"| playing: days per second | {1 / per_day:.1f} |",
            f"| playing: time per day shown | {per_day * 1e3:.0f} ms ({steps['play_days']} days "
            f"in {steps['play_s']:.1f} s; {per_day * 1e3 - steps['play_interval_s'] * 1e3:.0f} ms "
            "of it besides the play interval) |",
            "",
        ]
    )


def targets(result: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    if "against" in result:
        return [("App: Step click, against other code", render(result).strip(), "(report)", None)]
    if "error" in result or result.get("smoke"):
        return [("Front end", "not measured" if "error" in result else "smoke", "(report)", None)]
    inter = statistics.median(s["interactive_s"] for s in result["starts"])
    steps = result["steps"]
    rounds = statistics.median(steps["step_round_trip_s"])
    load = statistics.median(steps["page_load_s"])
    rate = steps["play_days"] / steps["play_s"] if steps["play_s"] else 0.0
    return [
        ("`make app` → interactive page", f"{inter:.1f} s", "(report)", None),
        ("App: page load → interactive", f"{load:.1f} s", "≤ 3 s", load <= 3.0),
        ("App: Step click → next day shown", f"{rounds * 1e3:.0f} ms", "≤ 150 ms", rounds <= 0.15),
        ("App: Play, days per second", f"{rate:.1f}", "≥ 10", rate >= 10),
    ]


def _step_columns(runs: list[dict[str, Any]]) -> list[list[float]]:
    """(Playwright round trips, in-page click → day, in-page click → charts), in ms."""
    trips = [r * 1e3 for run in runs for r in run["step_round_trip_s"]]
    day = [m["day_ms"] for run in runs for m in run.get("in_page", [])]
    charts = [m["charts_ms"] for run in runs for m in run.get("in_page", [])]
    return [trips, day, charts]


def _stat(values: list[float], digits: int = 1) -> str:
    m = statistics.median(values)
    return f"{m:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="server start only (no browser)")
    parser.add_argument(
        "--against", type=Path, metavar="DIR", help="Step clicks only, against DIR's corridors"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 10 clicks (--against)")
    args = parser.parse_args()
    print(render(run(args.smoke, args.against, args.rounds)))


if __name__ == "__main__":
    main()
