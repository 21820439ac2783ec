"""Multi-route logistics (issue 12) against the code before it, side by side in one run: the
default scenario's day step (summary only), a 1,000-run sweep of it, and the cost per day on
the synthetic 10 → 1,000-state scenarios.

    .venv/bin/python benchmarks/bench_logistics.py [--smoke]

The code of commit :data:`BEFORE` is extracted with ``git archive`` and imported in child
processes instead of this checkout's; *now* runs in child processes too, so both sides start
alike. The two sides alternate (now, before, now, before ...) so that load on the shared machine
falls on both. Times are CPU seconds of the measuring process (``time.process_time``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Stat, package_at

NAME = "logistics"
TITLE = "Multi-route logistics against the code before it"
BEFORE = "bb85cc9"
"""The last commit before issue 12 (single cheapest route per flow)."""
SCENARIO = "lachin-2023"
SWEEP_RUNS = 1_000
SWEEP_CHUNKS = 10
"""The sweep runs in this many child processes per side, alternating, so that a change in the
shared machine's load falls on both sides alike."""
STEP_REPEATS = 9
SIZES = (10, 100, 1000)


def measure(what: str, smoke: bool) -> dict[str, Any]:
    """One measurement, in this process, on whichever corridors it imports."""
    import corridors
    from corridors import ConflictModel, load_scenario

    out: dict[str, Any] = {"corridors_path": str(Path(corridors.__file__).parent)}
    if what == "step":
        scenario = load_scenario(SCENARIO)
        model = ConflictModel(scenario, rng=1, record_series=False, record_flows=False)
        t0 = time.process_time()
        while model.running:
            model.step()
        out["us_per_step"] = (time.process_time() - t0) / model.steps * 1e6
    elif what.startswith("sweep"):
        runs = 3 if smoke else SWEEP_RUNS // SWEEP_CHUNKS  # alternating chunks: 1,000 in all
        first = int(what.split(":")[1])
        scenario = load_scenario(SCENARIO)
        t0 = time.process_time()
        days = 0
        for seed in range(first, first + runs):
            model = ConflictModel(scenario, rng=seed, record_series=False, record_flows=False)
            while model.running:
                model.step()
            days += model.steps
        out["seconds"] = time.process_time() - t0
        out["runs"] = runs
        out["days"] = days
    elif what.startswith("scaling"):
        from synthetic import build

        n = int(what.split(":")[1])
        days = 10 if smoke else 60
        scenario = build(n, days=days)
        model = ConflictModel(scenario, rng=1, record_series=False, record_flows=False)
        t0 = time.process_time()
        while model.running:
            model.step()
        out["ms_per_day"] = (time.process_time() - t0) / model.steps * 1e3
    return out


def _child(what: str, smoke: bool, path: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path
    argv = [sys.executable, __file__, "--measure", what] + (["--smoke"] if smoke else [])
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(done.stdout)
    if path and not result["corridors_path"].startswith(path):
        raise RuntimeError(f"the child imported {result['corridors_path']}, not {path}")
    return result


def run(smoke: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="corridors-before-") as tmp:
        try:
            package_at(BEFORE, Path(tmp))
        except (OSError, subprocess.CalledProcessError) as exc:
            return {"error": f"git archive {BEFORE} failed: {exc}"}
        sides = {"now": None, "before": tmp}
        step: dict[str, list[float]] = {"now": [], "before": []}
        for _ in range(1 if smoke else STEP_REPEATS):
            for side, path in sides.items():
                step[side].append(_child("step", smoke, path)["us_per_step"])
        sweep: dict[str, float] = {"now": 0.0, "before": 0.0}
        sweep_days: dict[str, int] = {"now": 0, "before": 0}
        runs = 0
        for chunk in range(1 if smoke else SWEEP_CHUNKS):
            for side, path in sides.items():
                got = _child(f"sweep:{chunk * 10_000}", smoke, path)
                sweep[side] += got["seconds"]
                sweep_days[side] += got.get("days", 0)
            runs += got["runs"]
        scaling: dict[str, dict[int, float]] = {"now": {}, "before": {}}
        for n in (5, 20) if smoke else SIZES:
            for side, path in sides.items():
                scaling[side][n] = _child(f"scaling:{n}", smoke, path)["ms_per_day"]
    return {
        "step_us": step,
        "sweep_s": sweep,
        "sweep_days": sweep_days,
        "sweep_runs": runs,
        "scaling_ms": scaling,
    }


def _slope(points: dict[int, float]) -> float:
    import math

    sizes = sorted(points)
    a, b = sizes[0], sizes[-1]
    return math.log(points[b] / points[a]) / math.log(b / a)


def render(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"(Not measured: {result['error'][:300]})\n"
    now, before = Stat(result["step_us"]["now"], "µs"), Stat(result["step_us"]["before"], "µs")
    sweep = result["sweep_s"]
    lines = [
        f"Commit `{BEFORE}` (one cheapest route per flow) against this code, each in its own "
        "child processes, alternating. The assignment runs only when the flows' cheapest "
        "routes cannot carry their demand, and is kept while routes and demands stay the same.",
        "",
        "| measurement | before | now | now ÷ before |",
        "| --- | --- | --- | --- |",
        f"| `{SCENARIO}` day step, summary only (µs, median of {len(now.values)}) | "
        f"{before.median:,.1f} | {now.median:,.1f} | {now.median / before.median:.2f} |",
        f"| {result['sweep_runs']:,}-run sweep of `{SCENARIO}`, summary only, 1 process (CPU s) "
        f"| {sweep['before']:,.1f} | {sweep['now']:,.1f} | {sweep['now'] / sweep['before']:.2f} |",
    ]
    days = result.get("sweep_days", {})
    if days.get("now") and days.get("before"):
        # the two sides may simulate calendars of different lengths (lachin-2023 grew from 304
        # to 319 days with issue 13): the same sweep per simulated day compares equal work
        per_b = sweep["before"] / days["before"] * 1e6
        per_n = sweep["now"] / days["now"] * 1e6
        lines.append(
            f"| … the same sweep per simulated day (µs; {days['before'] // result['sweep_runs']}"
            f" days per run before, {days['now'] // result['sweep_runs']} now) "
            f"| {per_b:,.1f} | {per_n:,.1f} | {per_n / per_b:.2f} |"
        )
    for n in sorted(result["scaling_ms"]["now"], key=int):
        b, a = result["scaling_ms"]["before"][n], result["scaling_ms"]["now"][n]
        lines.append(f"| synthetic, {n} states: ms per day | {b:,.3f} | {a:,.3f} | {a / b:.2f} |")
    slope_now = _slope({int(k): v for k, v in result["scaling_ms"]["now"].items()})
    slope_before = _slope({int(k): v for k, v in result["scaling_ms"]["before"].items()})
    lines += [
        f"| log-log slope of cost per day against states | {slope_before:.2f} | {slope_now:.2f} "
        "| |",
        "",
    ]
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    if "error" in result:
        return []
    now = Stat(result["step_us"]["now"]).median
    before = Stat(result["step_us"]["before"]).median
    sweep = result["sweep_s"]
    slope = _slope({int(k): v for k, v in result["scaling_ms"]["now"].items()})
    tolerance = 1.05  # the shared machine's noise between alternating children
    return [
        (
            f"Day step, summary only ÷ commit {BEFORE}",
            f"{now / before:.2f}×",
            "≤ 1 (± 5 %)",
            now <= before * tolerance,
        ),
        (
            f"{result['sweep_runs']:,}-run sweep ÷ commit {BEFORE}",
            f"{sweep['now'] / sweep['before']:.2f}×",
            "≤ 1 (± 5 %)",
            sweep["now"] <= sweep["before"] * tolerance,
        ),
        (
            "Cost per day against states, slope 10 → 1,000 (logistics)",
            f"{slope:.2f}",
            "≤ 1.1",
            slope <= 1.1,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.smoke)))
        return
    result = run(args.smoke)
    print(render(result))
    for row in targets(result):
        print(" | ".join(str(x) for x in row))


if __name__ == "__main__":
    main()
