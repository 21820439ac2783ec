"""Scaling: cost per simulated day of synthetic scenarios with 10, 100 and 1,000 states (links,
flows and link closures growing in proportion; see ``synthetic.py``).

    .venv/bin/python benchmarks/bench_scaling.py [--smoke]

Per size: CPU time per simulated day (``time.process_time``), median over repeats, as
``corridors run`` steps a model (series and flow table recorded) and as a sweep does (summary
only); the number of route searches; and the log-log slope of cost against size (1.0 = linear).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Stat
from synthetic import build

NAME = "scaling"
TITLE = "Scaling with the number of states"
SIZES = (10, 100, 1000)
DAYS = 60


def measure_size(n: int, repeats: int, days: int) -> dict[str, Any]:
    from corridors import ConflictModel
    from corridors.model.logistics import Logistics

    start = time.process_time()
    scenario = build(n, days=days)
    validate_s = time.process_time() - start
    searches = [0]
    original = Logistics._route

    def counting(self: Logistics, *key: str) -> Any:
        searches[0] += 1
        return original(self, *key)

    per_day: dict[str, list[float]] = {"default": [], "summary": []}
    init: list[float] = []
    Logistics._route = counting  # type: ignore[method-assign]
    try:
        for r in range(repeats + 1):  # the first is a warm-up
            for mode, times in per_day.items():
                searches[0] = 0
                t0 = time.process_time()
                record = mode == "default"
                model = ConflictModel(scenario, rng=1, record_series=record, record_flows=record)
                t1 = time.process_time()
                while model.running:
                    model.step()
                t2 = time.process_time()
                if r:
                    times.append((t2 - t1) / model.steps * 1e3)
                    if mode == "default":
                        init.append(t1 - t0)
            route_searches = searches[0]
    finally:
        Logistics._route = original  # type: ignore[method-assign]
    kinds: dict[str, int] = {}
    for entry in model.log:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
    return {
        "states": n,
        "links": len(scenario.links),
        "flows": len(scenario.flows),
        "events": len(scenario.events),
        "days": days,
        "validate_s": validate_s,
        "init_s": init,
        "ms_per_day": per_day,
        "route_searches": route_searches,
        "flow_keys": len({(f.origin, f.destination, f.commodity) for f in scenario.flows}),
        "reroutes": kinds.get("reroute", 0),
        "no_route": kinds.get("no_route", 0),
        "route_restored": kinds.get("route_restored", 0),
    }


def slopes(rows: list[dict[str, Any]], mode: str) -> dict[str, float]:
    """Log-log slopes of median ms/day against states: consecutive sizes and a least-squares
    fit over all."""
    xs = [math.log(r["states"]) for r in rows]
    ys = [math.log(Stat(r["ms_per_day"][mode]).median) for r in rows]
    out = {
        f"{rows[i]['states']}→{rows[i + 1]['states']}": (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
        for i in range(len(rows) - 1)
    }
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    out["fit"] = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return out


def run(smoke: bool = False) -> dict[str, Any]:
    sizes, days = ((5, 20), 10) if smoke else (SIZES, DAYS)
    rows = []
    for n in sizes:
        repeats = 1 if smoke else (5 if n < 1000 else 3)
        rows.append(measure_size(n, repeats, days))
    return {
        "rows": rows,
        "slopes": {mode: slopes(rows, mode) for mode in ("default", "summary")},
    }


def render(result: dict[str, Any]) -> str:
    rows = result["rows"]
    first = rows[0]
    lines = [
        f"Synthetic scenarios (`benchmarks/synthetic.py`, validated with "
        f"`corridors.scenarios.loader.validate_data`), {first['days']} days each: per state "
        "about 2.1 links and 2.7 flows; every 10 days 3 % of the roads close and reopen 5 days "
        "later (the flows on them reroute or lose their route), 4 roads are throttled to 20 % "
        "(capacity sharing rations them), and one state in fifty denies transit to another "
        "half-way. CPU ms per simulated day (`model.step()`), median (min–max) over repeats; "
        "*default* records the daily series and flow table as `corridors run` does, *summary "
        "only* as a sweep does.",
        "",
        "| states | links | flows | events | route searches | reroutes | ms/day, default "
        "| ms/day, summary only | µs/day per state (summary) | validation | model set-up |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        summary = Stat(r["ms_per_day"]["summary"], "")
        lines.append(
            f"| {r['states']:,} | {r['links']:,} | {r['flows']:,} | {r['events']:,} "
            f"| {r['route_searches']:,} | {r['reroutes']:,} "
            f"| {Stat(r['ms_per_day']['default']).text(2)} | {summary.text(2)} "
            f"| {summary.median / r['states'] * 1e3:.1f} | {r['validate_s']:.2f} s "
            f"| {Stat(r['init_s']).median:.2f} s |"
        )
    lines += [
        "",
        "Log-log slope of the cost per day against the number of states "
        "(1.0 = linear; target: no worse than linear):",
        "",
        "| | " + " | ".join(result["slopes"]["default"]) + " |",
        "| --- |" + " --- |" * len(result["slopes"]["default"]),
    ]
    for mode in ("default", "summary"):
        values = result["slopes"][mode]
        lines.append(
            f"| {'default' if mode == 'default' else 'summary only'} | "
            + " | ".join(f"{v:.2f}" for v in values.values())
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    rows = []
    for mode, label in (("default", "default run"), ("summary", "summary only")):
        values = result["slopes"][mode]
        worst = max(v for k, v in values.items() if k != "fit")
        last = list(values)[-2]
        rows.append(
            (
                f"Cost per day against states, log-log slope ({label}; fit, and {last})",
                f"{values['fit']:.2f}, {values[last]:.2f}",
                "≤ 1.0",
                worst <= 1.0 and values["fit"] <= 1.0,
            )
        )
    return rows


def gaps(result: dict[str, Any]) -> str:
    """Why a missed target is missed and what would close it (empty when all are met)."""
    if all(met for *_, met in targets(result)):
        return ""
    rows = result["rows"]
    per_key = [r["route_searches"] / r["flow_keys"] for r in rows]
    return (
        "**Why slightly above linear, and what would close it.** The work per state does not "
        "grow: each route search reads about the same few nodes at every size (a local "
        "bidirectional search; the refreshes reuse the routes whose searches read nothing that "
        f"changed: {', '.join(f'{k:.1f}' for k in per_key)} searches per flow over the run at "
        f"{', '.join(str(r['states']) for r in rows)} states), and every per-day loop is one "
        "pass over flows, links or states. What grows is the cost of touching an object: at "
        "1,000 states the model's tens of thousands of Python objects no longer fit the CPU's "
        "caches, and the garbage collector walks a larger heap. Storing states, links and flows "
        "in arrays (fewer, denser objects), or compiling the per-day loops, would remove most "
        "of it; below 1,000 states (the built-in scenarios have 3 to 8) it does not matter."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run: check the harness")
    args = parser.parse_args()
    print(render(run(args.smoke)))


if __name__ == "__main__":
    main()
