"""Day-step cost of the default scenario (lachin-2023, 304 days) against an empty Mesa model
with as many agents doing nothing, and a profile of the step (mechanism by mechanism and
function by function), now and at the commit before the optimisations.

    .venv/bin/python benchmarks/bench_step.py [--smoke]

Times are CPU seconds of the benchmark process per ``model.step()`` (``time.process_time``:
time the OS gave to other jobs on the shared machine is not counted), medians over repeats,
each repeat timing every model once, interleaved.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import inspect
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BASELINE_COMMIT, Stat, package_at, ratio

NAME = "step"
TITLE = "Day-step cost of the default scenario"
SCENARIO = "lachin-2023"
PHASES = [
    ("logistics (goods)", "logistics", "step"),
    ("logistics (people)", "people", "step"),
    ("DataCollector", "datacollector", "collect"),
    ("procurement", "procurement", "step"),
    ("procurement (after shipping)", "procurement", "after_shipping"),
    ("consequences", "consequences", "step"),
    ("economy", "economy", "step"),
    ("sustainment", "sustained_states", "do"),
    ("military balance", "states", "do"),
    ("diplomacy", "diplomacy", "step"),
    ("decisions", "decisions", "step"),
    ("combat", "combat", "step"),
]
"""Mechanisms timed separately: (label, model attribute, method)."""


# ---------------------------------------------------------------------------- the models


def empty_model_class() -> type:
    """A Mesa model whose ``step`` shuffles N no-op agents and calls their ``step``, with
    optionally a DataCollector of R model reporters (and agent-type reporters)."""
    import mesa

    class Idle(mesa.Agent):
        def step(self) -> None:
            pass

    class Empty(mesa.Model):
        def __init__(
            self,
            n_agents: int,
            model_reporters: int = 0,
            agent_reporters: int = 0,
            rng: int = 1,
        ) -> None:
            super().__init__(rng=rng)
            Idle.create_agents(self, n_agents)
            self.value = 0.0
            self.collector = None
            if model_reporters or agent_reporters:
                self.collector = mesa.DataCollector(
                    model_reporters={f"r{i}": (lambda m: m.value) for i in range(model_reporters)},
                    agenttype_reporters={
                        Idle: {f"a{i}": "unique_id" for i in range(agent_reporters)}
                    }
                    if agent_reporters
                    else None,
                )

        def step(self) -> None:
            self.agents.shuffle_do("step")
            if self.collector is not None:
                self.collector.collect(self)

    return Empty


def cpu_per_step(make: Callable[[], Any], steps: int) -> float:
    """CPU seconds per step of a fresh model stepped ``steps`` times (or to its end)."""
    model = make()
    start = time.process_time()
    n = 0
    while n < steps and getattr(model, "running", True):
        model.step()
        n += 1
    return (time.process_time() - start) / n


def supports_record_series() -> bool:
    from corridors import ConflictModel

    return "record_series" in inspect.signature(ConflictModel).parameters


def measure(repeats: int, days: int | None) -> dict[str, Any]:
    """Per-step CPU time of the default scenario (as ``corridors run`` steps it, and as a sweep
    does) and of empty models with the same number of agents."""
    from corridors import ConflictModel
    from corridors.scenarios import load_scenario

    scenario = load_scenario(SCENARIO)
    probe = ConflictModel(scenario, rng=1, days=days)
    n_agents = len(probe.agents)
    n_steps = probe.n_days
    n_model_reporters = len(probe.datacollector.model_reporters)
    n_type_reporters = sum(len(r) for r in probe.datacollector.agenttype_reporters.values())
    summary_kw: dict[str, Any] = {"record_flows": False}
    if supports_record_series():
        summary_kw["record_series"] = False
    Empty = empty_model_class()  # noqa: N806 - a class
    per_agent = round(
        sum(
            len(reps) * sum(isinstance(a, t) for a in probe.agents)
            for t, reps in probe.datacollector.agenttype_reporters.items()
        )
        / n_agents
    )
    makers: dict[str, Callable[[], Any]] = {
        "empty": lambda: Empty(n_agents),
        "empty+dc": lambda: Empty(n_agents, n_model_reporters),
        "empty+dc+agents": lambda: Empty(n_agents, n_model_reporters, per_agent),
        "default": lambda: ConflictModel(scenario, rng=1, days=days),
        "summary": lambda: ConflictModel(scenario, rng=1, days=days, **summary_kw),
    }
    times: dict[str, list[float]] = {k: [] for k in makers}
    for make in makers.values():  # warm up
        cpu_per_step(make, n_steps)
    for _ in range(repeats):
        for key, make in makers.items():
            times[key].append(cpu_per_step(make, n_steps))
    init = [timed_cpu(lambda: ConflictModel(scenario, rng=1, days=days)) for _ in range(repeats)]
    return {
        "n_agents": n_agents,
        "n_steps": n_steps,
        "n_model_reporters": n_model_reporters,
        "n_agenttype_reporters": n_type_reporters,
        "agent_reporters_per_agent": per_agent,
        "summary_mode": "record_flows=False, record_series=False"
        if "record_series" in summary_kw
        else "record_flows=False (record_series did not exist)",
        "us_per_step": {k: [v * 1e6 for v in vs] for k, vs in times.items()},
        "init_ms": [v * 1e3 for v in init],
    }


def timed_cpu(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


# ---------------------------------------------------------------------------- profiles


def phase_profile(runs: int, days: int | None, summary: bool) -> dict[str, float]:
    """CPU µs per step spent in each mechanism (its method wrapped with a timer)."""
    from corridors import ConflictModel
    from corridors.scenarios import load_scenario

    scenario = load_scenario(SCENARIO)
    spent: collections.Counter[str] = collections.Counter()
    steps = 0
    kw: dict[str, Any] = {}
    if summary:
        kw = {"record_flows": False}
        if supports_record_series():
            kw["record_series"] = False
    for _ in range(runs + 1):
        model = ConflictModel(scenario, rng=1, days=days, **kw)
        warm = _ == 0
        for label, attr, method in PHASES:
            target = getattr(model, attr)
            setattr(target, method, _timer(getattr(target, method), spent, label, warm))
        start = time.process_time()
        while model.running:
            model.step()
        if not warm:
            spent["total step"] += time.process_time() - start
            steps += model.steps
    return {k: v / steps * 1e6 for k, v in spent.items()}


def _timer(
    fn: Callable[..., Any], spent: collections.Counter[str], label: str, warm: bool
) -> Callable[..., Any]:
    def timed_call(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        out = fn(*args, **kwargs)
        if not warm:
            spent[label] += time.process_time() - start
        return out

    return timed_call


def function_profile(runs: int, days: int | None, top: int) -> list[dict[str, Any]]:
    """cProfile of whole runs (as ``corridors run`` steps them): the functions with the most
    time of their own, in µs per step (profiling slows everything, evenly enough to rank)."""
    from corridors import ConflictModel
    from corridors.scenarios import load_scenario

    scenario = load_scenario(SCENARIO)
    profiler = cProfile.Profile()
    steps = 0
    for _ in range(runs):
        model = ConflictModel(scenario, rng=1, days=days)
        profiler.enable()
        while model.running:
            model.step()
        profiler.disable()
        steps += model.steps
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    rows = []
    for (path, line, func), (_, ncalls, tottime, _cum, _) in stats.items():
        short = _short(path)
        rows.append(
            {
                "function": f"{short}:{line}({func})" if line else func,
                "calls_per_step": ncalls / steps,
                "us_per_step": tottime / steps * 1e6,
                "share": tottime / total,
            }
        )
    rows.sort(key=lambda r: -r["us_per_step"])
    return rows[:top]


def _short(path: str) -> str:
    for marker in ("site-packages/", "corridors/", "lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return ("corridors/" + tail) if marker == "corridors/" else tail
    return path


# ---------------------------------------------------------------------------- before/after


def measure_here(smoke: bool) -> dict[str, Any]:
    """Everything this module measures, for the corridors importable in this process."""
    import corridors

    repeats, runs, days = (2, 1, 10) if smoke else (7, 3, None)
    return {
        "corridors_path": str(Path(corridors.__file__).parent),
        "steps": measure(repeats, days),
        "phases_default": phase_profile(runs, days, summary=False),
        "phases_summary": phase_profile(runs, days, summary=True),
        "functions": function_profile(1 if smoke else 2, days, top=14),
    }


def measure_baseline(smoke: bool) -> dict[str, Any] | None:
    """The same measurements on the code of :data:`BASELINE_COMMIT` (``git archive`` of its
    ``corridors/`` package, imported instead of this checkout's in a child process)."""
    with tempfile.TemporaryDirectory(prefix="corridors-baseline-") as tmp:
        try:
            package_at(BASELINE_COMMIT, Path(tmp))
        except (OSError, subprocess.CalledProcessError) as exc:
            return {"error": f"git archive {BASELINE_COMMIT} failed: {exc}"}
        env = {**os.environ, "PYTHONPATH": tmp}
        argv = [sys.executable, __file__, "--measure"] + (["--smoke"] if smoke else [])
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return {"error": done.stderr[-2000:]}
        result = json.loads(done.stdout)
        if not result["corridors_path"].startswith(tmp):
            return {"error": f"the child imported {result['corridors_path']}, not the baseline"}
        result["corridors_path"] = f"git archive {BASELINE_COMMIT}"
        return result


def run(smoke: bool = False) -> dict[str, Any]:
    now = measure_here(smoke)
    before = measure_baseline(smoke)
    s = now["steps"]
    us = {k: Stat(v, "µs") for k, v in s["us_per_step"].items()}
    result: dict[str, Any] = {
        "now": now,
        "before": before,
        "ratios": {
            "default_vs_empty_dc": ratio(us["default"], us["empty+dc"]).to_json(),
            "summary_vs_empty": ratio(us["summary"], us["empty"]).to_json(),
            "default_vs_empty_dc_agents": ratio(us["default"], us["empty+dc+agents"]).to_json(),
        },
    }
    if before and "error" not in before:
        old = before["steps"]["us_per_step"]
        result["speedup"] = {
            "default": Stat(old["default"]).median / us["default"].median,
            "summary": Stat(old["summary"]).median / us["summary"].median,
        }
    return result


# ---------------------------------------------------------------------------- the report


TARGET = 5.0

NOTES = """
**What the profile led to.** The *before* profiles above show where a day went: Mesa's
DataCollector (its per-agent `get_reports`, a deep copy of every float) and the goods logistics
(numpy calls on arrays of a dozen flows, capacity sharing, a networkx graph built per flow at
every route refresh). The changes, all in `corridors/model/` and `corridors/agents/` (plus the
`record_series` switch passed through `corridors/analysis/`), none changing an output:

- `model/series.py`, `SeriesCollector` (new; `ConflictModel` uses it): `collect` stores exactly
  what Mesa's does, in Mesa's structures, but reads `model.time` once, gets each agent's values
  in one list and deep-copies only values that are not immutable scalars. Mesa's `collect` was
  about a third of the default step.
- `ConflictModel(record_series=False)`, `run_scenario(record_series=...)`, and `run_one` in
  `analysis/sweep.py`: a run that needs only its summary (a sweep without `series:`) skips the
  collector. The default is unchanged; the summary never reads the collector.
- `model/logistics.py`, `share_capacity` → `_share_lists`: progressive filling on plain floats
  for up to 128 (flow, link) pairs, the same operations in the same order (so the same bits; a
  property test compares it with the numpy version), visiting only the flows still growing and
  their links; numpy above that size, or for numbers where float semantics could differ. It
  made about 25 numpy calls per iteration on 12-element arrays.
- `model/logistics.py`, `Logistics.step`: the day's demand, weights, loads, losses and arrivals
  as plain lists (elementwise the same arithmetic); the flows' agents, goods, tracked flows and
  route labels looked up when they change, not per flow and day; arrivals bucketed without
  `np.unique`. With nobody moving yet, the people network only zeroes its links' loads.
- `model/routing.py` (new), `Logistics._route` and `refresh_routes`: routes found by replaying
  networkx's bidirectional Dijkstra step for step (same neighbour order, tie-breaking counter
  and float sums: the same routes, ties included) on the usable arcs of each good, listed once
  per refresh; permissions asked only of the states a search reaches; and a refresh reuses a
  route when its search would read exactly the same arcs and permission answers again
  (`SearchTrace`). A graph built per flow asked every state and checked every link: quadratic in
  the size of the network at every refresh.
- Small: `ConflictModel.permits_transit` skips the override look-ups when there are none;
  `StateAgent.sustained` compares in C (it is read about 25 times a day); `economy` and
  `diplomacy` read the day's deliveries with one `tolist()` instead of numpy scalar indexing.
"""


def render(result: dict[str, Any]) -> str:
    now, before = result["now"], result["before"]
    s = now["steps"]
    us = {k: Stat(v, "µs") for k, v in s["us_per_step"].items()}
    r = {k: Stat(v["values"], "×") for k, v in result["ratios"].items()}
    lines = [
        f"One day of `{SCENARIO}` ({s['n_steps']} days, {s['n_agents']} agents: states and "
        f"links) against an empty Mesa {_mesa_version()} model with {s['n_agents']} agents whose "
        '`step` is `self.agents.shuffle_do("step")` on agents whose `step` does nothing. '
        f"*With DataCollector*: the empty model also collects {s['n_model_reporters']} model "
        "reporters (lambdas returning a float), as many as the scenario's DataCollector has; "
        f"*with agent reporters*: and {s['agent_reporters_per_agent']} attribute reporters per "
        f"agent (the scenario's collector has {s['n_agenttype_reporters']} agent-type reporters "
        "in all, 17 per state and 3 per link). *Default*: `ConflictModel` as `corridors run` "
        "steps it (daily series and flow table recorded). *Summary only*: as a sweep steps it "
        f"({s['summary_mode']}). CPU µs per `model.step()`, median (min–max) over repeats; "
        "each ratio is taken within a repeat.",
        "",
        "| model | µs per step |",
        "| --- | --- |",
        f"| empty Mesa model, no DataCollector | {us['empty'].text()} |",
        f"| empty Mesa model + DataCollector ({s['n_model_reporters']} model reporters) "
        f"| {us['empty+dc'].text()} |",
        f"| empty + DataCollector + agent reporters | {us['empty+dc+agents'].text()} |",
        f"| `{SCENARIO}`, default (series recorded) | {us['default'].text()} |",
        f"| `{SCENARIO}`, summary only | {us['summary'].text()} |",
        "",
        "| ratio | measured | target |",
        "| --- | --- | --- |",
        f"| default ÷ empty + DataCollector | {r['default_vs_empty_dc'].text(2)} "
        f"| ≤ {TARGET:.0f}× {_verdict(r['default_vs_empty_dc'].median)} |",
        f"| summary only ÷ empty, no DataCollector | {r['summary_vs_empty'].text(2)} "
        f"| ≤ {TARGET:.0f}× {_verdict(r['summary_vs_empty'].median)} |",
        f"| default ÷ empty + DataCollector + agent reporters | "
        f"{r['default_vs_empty_dc_agents'].text(2)} | (like for like, for information) |",
        "",
        f"Building the model (parsing aside): {Stat(s['init_ms'], 'ms').text(2)} per run.",
        "",
    ]
    if before and "error" not in before:
        old = before["steps"]["us_per_step"]
        lines += [
            f"**Before/after.** The same measurements on the code of commit `{BASELINE_COMMIT}` "
            "(before the optimisations below; extracted with `git archive` and imported in a "
            "child process during this run):",
            "",
            "| µs per step | before | now | speed-up |",
            "| --- | --- | --- | --- |",
            f"| default | {Stat(old['default']).text()} | {us['default'].text()} "
            f"| {result['speedup']['default']:.2f}× |",
            f"| summary only | {Stat(old['summary']).text()} | {us['summary'].text()} "
            f"| {result['speedup']['summary']:.2f}× |",
            "",
        ]
    elif before:
        lines += [f"(The baseline commit could not be measured: {before['error'][:300]})", ""]
    lines += _phase_table(now, before)
    lines += _function_table("now", now["functions"])
    if before and "error" not in before:
        lines += _function_table(f"before (`{BASELINE_COMMIT}`)", before["functions"])
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(what, measured, target, met) rows for the summary."""
    r = {k: Stat(v["values"]) for k, v in result["ratios"].items()}
    a, b = r["default_vs_empty_dc"].median, r["summary_vs_empty"].median
    return [
        ("Day step ÷ empty Mesa model + DataCollector (default)", f"{a:.1f}×", "≤ 5×", a <= 5),
        ("Day step ÷ empty Mesa model (summary only)", f"{b:.1f}×", "≤ 5×", b <= 5),
    ]


def gaps(result: dict[str, Any]) -> str:
    """Why a missed target is missed and what would close it (empty when all are met)."""
    r = {k: Stat(v["values"]).median for k, v in result["ratios"].items()}
    if r["default_vs_empty_dc"] <= TARGET and r["summary_vs_empty"] <= TARGET:
        return ""
    now = result["now"]
    us = {k: Stat(v).median for k, v in now["steps"]["us_per_step"].items()}
    phases = now["phases_summary"]
    logistics = phases.get("logistics (goods)", 0.0) + phases.get("logistics (people)", 0.0)
    goal = TARGET * us["empty"]
    return (
        f"**Why ≤ {TARGET:.0f}× is missed, and what would close it.** The empty model's step is "
        f"Mesa's bookkeeping and a shuffled loop over {now['steps']['n_agents']} agents that do "
        f"nothing ({us['empty']:.0f} µs); a day of `{SCENARIO}` runs ten mechanisms over two "
        "networks. After the changes below no single function dominates the profile: what is "
        "left is plain Python work per flow, link and state, a few hundred operations a day at "
        "a fraction of a µs each. The logistics alone (about "
        f"{logistics:.0f} µs a day with its timers) take "
        f"{logistics / us['empty']:.1f}× the whole empty step. {TARGET:.0f}× in summary mode "
        f"means {goal:.0f} µs a day, {us['summary'] / goal:.1f}× less than now; with the "
        f"collector, {TARGET * us['empty+dc']:.0f} µs. That takes compiled code for the "
        "logistics day (capacity sharing and the per-flow accounting in Cython or a Rust "
        "extension, keeping the order of the floating-point operations so that outputs stay "
        "identical) or, for sweeps, stepping many runs together as arrays so that the per-call "
        "costs are shared; both are larger changes than this issue's."
    )


def _verdict(value: float) -> str:
    return "— **met**" if value <= TARGET else f"— **missed** by {value / TARGET:.2f}×"


def _mesa_version() -> str:
    import mesa

    return mesa.__version__


def _phase_table(now: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    has_before = bool(before and "error" not in before)
    head = "| mechanism | now, default | now, summary only |"
    rule = "| --- | --- | --- |"
    if has_before:
        head += " before, default |"
        rule += " --- |"
    lines = [
        "**Profile by mechanism** (CPU µs per step in each mechanism's method, one timer "
        "around each; the rest of `total step` is Mesa's step machinery and the model's own "
        "`step`):",
        "",
        head,
        rule,
    ]
    labels = [p[0] for p in PHASES] + ["total step"]
    for label in labels:
        row = f"| {label} | {now['phases_default'].get(label, 0.0):.1f} "
        row += f"| {now['phases_summary'].get(label, 0.0):.1f} |"
        if has_before:
            assert before is not None
            row += f" {before['phases_default'].get(label, 0.0):.1f} |"
        lines.append(row)
    lines.append("")
    return lines


def _function_table(when: str, rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"**Profile by function, {when}** (cProfile of default runs; own time, so numpy's "
        "array operations count in the function that calls them; profiling slows Python "
        "calls more than array work, so read the ranking, not the absolute numbers):",
        "",
        "| function | calls per step | µs per step | share |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| `{row['function']}` | {row['calls_per_step']:.1f} | "
            f"{row['us_per_step']:.1f} | {row['share']:.0%} |"
        )
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run: check the harness")
    parser.add_argument(
        "--measure", action="store_true", help="print this process's measurements as JSON"
    )
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_here(args.smoke)))
        return
    print(render(run(args.smoke)))


if __name__ == "__main__":
    main()
