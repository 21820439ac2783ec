"""Run the benchmarks and write docs/benchmarks.md (``make bench``).

    .venv/bin/python benchmarks/run.py [--smoke] [--only step,sweep,...] [--out FILE]
    .venv/bin/python benchmarks/run.py --render out/benchmarks.json   # rewrite the report only

Each benchmark is a module here with ``run(smoke) -> dict``, ``render(result) -> str`` and
``targets(result)``; this runner times them, records the machine, the versions and the command,
and writes one Markdown report, and the raw results as JSON (``out/benchmarks.json`` for
docs/benchmarks.md, else next to the report).
``--smoke`` runs every module at a tiny size to check the harness (``tests/test_benchmarks.py``)
and writes to ``out/benchmarks-smoke.md`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BASELINE_COMMIT, ROOT, machine

MODULES = [
    "bench_step",
    "bench_sweep",
    "bench_bigsweep",
    "bench_scaling",
    "bench_app",
    "bench_logistics",
]
"""In the order they run and appear (the sweeps early, while the machine is fresh)."""
DOC = ROOT / "docs" / "benchmarks.md"


def run_all(names: list[str], smoke: bool) -> tuple[dict[str, Any], dict[str, float]]:
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name in names:
        module = importlib.import_module(name)
        print(f"[bench] {module.NAME}: {module.TITLE} ...", flush=True)
        start = time.perf_counter()
        results[name] = module.run(smoke=smoke)
        seconds[name] = time.perf_counter() - start
        print(f"[bench] {module.NAME}: {seconds[name]:.0f} s", flush=True)
    return results, seconds


def report(
    names: list[str],
    results: dict[str, Any],
    seconds: dict[str, float],
    info: dict[str, Any],
    command: str,
    smoke: bool,
) -> str:
    modules = {name: importlib.import_module(name) for name in names}
    total = sum(seconds.values())
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    lines = [
        "# Benchmarks",
        "",
        "<!-- Written by benchmarks/run.py (make bench); edit the benchmark modules, not this "
        "file. -->",
        "",
        f"Produced by `{command}` on {info['date']}, in {total / 60:.1f} minutes"
        + (" (**smoke run**: tiny sizes, not figures)" if smoke else "")
        + ".",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, "
        f"{info['os']}; load average {', '.join(map(str, info['load_average']))} at the start "
        "and "
        f"{', '.join(map(str, info['load_average_end']))} at the end. The machine is shared "
        "with other jobs: timings are medians over repeats with their spread, each ratio is "
        "taken within one repeat, and the sweeps report how much two processes could get done "
        "at the time.",
        f"- Versions: {versions}.",
        f"- Code: {info['code']}; *before* figures are from commit `{BASELINE_COMMIT}` (the "
        "last one before these optimisations), measured in the same run.",
        "- Reproduce: `make bench` (everything, under 10 minutes here), or one benchmark: "
        + ", ".join(f"`.venv/bin/python benchmarks/{n}.py`" for n in names)
        + ".",
        "",
        "## Targets",
        "",
        "| | measured | target | |",
        "| --- | --- | --- | --- |",
    ]
    for name in names:
        for what, measured, target, met in modules[name].targets(results[name]):
            verdict = "" if met is None else ("met" if met else "**missed**")
            lines.append(f"| {what} | {measured} | {target} | {verdict} |")
    lines.append("")
    for i, name in enumerate(names, start=1):
        module = modules[name]
        lines += [
            f"## {i}. {module.TITLE}",
            "",
            f"`.venv/bin/python benchmarks/{name}.py` ({seconds[name]:.0f} s in this run)",
            "",
            module.render(results[name]).rstrip(),
            "",
        ]
        gaps = module.gaps(results[name]) if hasattr(module, "gaps") else ""
        if gaps and not smoke:
            lines += [gaps.strip(), ""]
        extra = getattr(module, "NOTES", "")
        if extra:
            lines += [extra.strip(), ""]
    lines += [NOTES.strip(), ""]
    return "\n".join(lines)


NOTES = f"""
## Outputs are identical

Every optimisation changes how the model computes, not what.
`.venv/bin/python benchmarks/check_identical.py` runs the code of commit `{BASELINE_COMMIT}`
(extracted with `git archive`) and this checkout side by side and compares, exactly: the output
files of `corridors run lachin-2023 --seed 1` byte for byte; summaries, series, flow tables,
event logs and balances of every built-in scenario and variant on several seeds; 300 random
scenarios of the property-test strategies (half with random closures, throttles and reopenings
between days); 300 with random mid-run changes of everything routing reads (status, throttle,
transit days, loss rate, goods carried, states crossed, controller, relations, transit denials
and grants, the hostile-transit threshold), compared day by day; and synthetic scenarios of up
to 300 states. In the test suite: `tests/test_properties.py`, `tests/test_model.py`,
`tests/test_war_properties.py`, and `tests/test_performance.py`, which checks each fast path
against what it replaced (routes against networkx's on random networks, ties included; capacity
sharing on plain floats against the numpy version, bit for bit; the quicker collector against
Mesa's own).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check the harness")
    parser.add_argument("--only", default="", help="comma-separated: step,sweep,bigsweep,...")
    parser.add_argument("--out", type=Path, default=None, help="the Markdown report")
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="JSON",
        help="write the report again from a run's raw results (no measuring)",
    )
    args = parser.parse_args()
    if args.render:
        raw = json.loads(args.render.read_text())
        names = list(raw["results"])
        default = DOC if raw["command"] == "make bench" else args.render.with_suffix(".md")
        out = args.out or default
        text = report(
            names, raw["results"], raw["seconds"], raw["machine"], raw["command"], raw["smoke"]
        )
        out.write_text(text)
        print(f"[bench] wrote {out} from {args.render}")
        return
    names = MODULES
    if args.only:
        wanted = {f"bench_{n.strip().removeprefix('bench_')}" for n in args.only.split(",")}
        unknown = wanted - set(MODULES)
        if unknown:
            parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
        names = [n for n in MODULES if n in wanted]
    out = args.out or (ROOT / "out" / "benchmarks-smoke.md" if args.smoke else DOC)
    command = (
        "make bench"
        if not (args.smoke or args.only or args.out)
        else shlex.join([".venv/bin/python", "benchmarks/run.py", *sys.argv[1:]])
    )
    info = machine()
    results, seconds = run_all(names, args.smoke)
    import os

    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    text = report(names, results, seconds, info, command, args.smoke)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    raw = ROOT / "out" / "benchmarks.json" if out == DOC else out.with_suffix(".json")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(
        json.dumps(
            {
                "command": command,
                "smoke": args.smoke,
                "machine": info,
                "seconds": seconds,
                "results": results,
            },
            indent=1,
            default=str,
        )
    )
    print(f"[bench] wrote {out} and {raw} ({sum(seconds.values()) / 60:.1f} min)")


if __name__ == "__main__":
    main()
