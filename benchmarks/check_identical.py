"""Check that the optimised model gives exactly the outputs of the code before the
optimisations (commit ``BASELINE_COMMIT``, extracted with ``git archive``).

    .venv/bin/python benchmarks/check_identical.py [--cases 150] [--quick] [--baseline COMMIT]

Both versions run the same cases in child processes; every output is compared exactly:

1. ``corridors run lachin-2023 --seed 1``: the files it writes, byte for byte (plots aside);
2. every built-in scenario on seeds 0, 1, 2, 7 and every ``lachin-2023`` variant: summary,
   series, flow table, event log, balance;
3. random scenarios of the property-test strategies (``tests/test_properties.py``,
   ``tests/test_war_properties.py``), half of them with random closures, throttles and
   reopenings between days; shipped tonnes, link loads and routes compared day by day;
4. the same scenarios with random mid-run changes of everything routing reads;
5. synthetic scenarios (``synthetic.py``) of 10 to 300 states.

Exit code 0 when everything is identical. Takes a few minutes (the old code is slower).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BASELINE_COMMIT, ROOT, package_at

RUN_FILES = ("summary.json", "series.parquet", "flows.parquet", "events.jsonl", "scenario.yaml")
GOODS = ["food", "fuel", "medicine", "ammunition", "oil", "cargo"]
VARIANTS = (
    "no-blockade",
    "airspace-denied",
    "no-israeli-arms",
    "russia-holds-lachin",
    "no-oil-revenue",
)


# ---------------------------------------------------------------------------- the cases


def make_cases(n: int) -> list[tuple[str, dict[str, Any], int, bool]]:
    """Random scenarios from the property tests' strategies, as JSON-able dicts."""
    sys.path.insert(0, str(ROOT / "tests"))
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_properties import scenarios
    from test_war_properties import wars

    cases: list[tuple[str, dict[str, Any], int, bool]] = []

    def collector(strategy: Any, label: str) -> Any:
        @settings(
            max_examples=n,
            database=None,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(sc=strategy, seed=st.integers(0, 2**32 - 1), shake=st.booleans())
        def collect(sc: Any, seed: int, shake: bool) -> None:
            cases.append((label, sc.model_dump(mode="json"), seed, shake))

        return collect

    for strategy, label in ((scenarios(max_days=40), "properties"), (wars(), "wars")):
        collector(strategy, label)()
    return cases


def _intervention(model: Any, rng: Any, rich: bool) -> dict[str, Any]:
    links = model.links.to_list()
    link = links[int(rng.integers(len(links)))].name
    if not rich:
        action = ["close_link", "open_link", "throttle_link"][int(rng.integers(3))]
        event: dict[str, Any] = {"action": action, "link": link}
        if action == "throttle_link":
            event["fraction"] = float(rng.random())
        return event
    states = [s.name for s in model.states]
    a, b = states[int(rng.integers(len(states)))], states[int(rng.integers(len(states)))]
    goods = [str(g) for g in rng.choice(GOODS, size=int(rng.integers(1, 4)), replace=False)]
    change = {
        f"links.{link}.transit_days": int(rng.integers(4)),
        f"links.{link}.loss_rate": float(rng.choice([0.0, 0.1])),
        f"links.{link}.carries": goods,
        f"links.{link}.crosses": [a],
        f"links.{link}.controlled_by": b,
        f"states.{a}.relations": {b: float(rng.choice([-1.0, -0.6, 0.0, 0.8]))} if a != b else {},
        f"states.{a}.denies_transit_to": [b] if a != b else [],
        "parameters.hostile_transit_threshold": float(rng.choice([-1.0, -0.5, 0.0, 0.5])),
    }
    options: list[dict[str, Any]] = [
        {"action": "close_link", "link": link},
        {"action": "open_link", "link": link},
        {"action": "throttle_link", "link": link, "fraction": float(rng.choice([0.2, 0.5]))},
        {"action": ["deny_transit", "grant_transit"][int(rng.integers(2))], "state": a, "to": b},
        *({"action": "set_parameter", "path": k, "value": v} for k, v in change.items()),
    ]
    return options[int(rng.integers(len(options)))]


def _frames(result: Any) -> tuple[Any, ...]:
    return (
        result.summary,
        result.series.to_csv(index=False),
        result.flows.to_csv(index=False),
        result.events.to_csv(index=False),
        result.balance.to_csv(index=False),
    )


def worker(cases_file: Path, out_file: Path, quick: bool) -> None:
    """Run every case with the ``corridors`` this process imports; pickle the outputs."""
    import numpy as np
    from synthetic import synthetic_scenario

    import corridors
    from corridors import ConflictModel, run_scenario
    from corridors.analysis.run import collect_result
    from corridors.scenarios.loader import validate_data

    out: dict[str, Any] = {"corridors": str(Path(corridors.__file__).parent)}
    with tempfile.TemporaryDirectory() as tmp:
        cli = Path(sys.executable).with_name("corridors")
        subprocess.run(
            [str(cli), "run", "lachin-2023", "--seed", "1", "--out", tmp],
            check=True,
            capture_output=True,
            env={**os.environ},
        )
        out["cli"] = {
            f: hashlib.sha256((Path(tmp) / f).read_bytes()).hexdigest() for f in RUN_FILES
        }
    library = {}
    seeds = (1,) if quick else (0, 1, 2, 7)
    for name in ("lachin-2023", "karabakh-2020", "zangezur", "berlin-1948", "template"):
        for seed in seeds:
            library[(name, seed)] = _frames(run_scenario(name, seed=seed))
    for variant in VARIANTS:
        library[(variant, 3)] = _frames(run_scenario("lachin-2023", seed=3, variants=[variant]))
    out["library"] = library
    cases = pickle.loads(cases_file.read_bytes())
    for kind in ("random", "routing"):
        runs = []
        for _, data, seed, shake in cases:
            model = ConflictModel(validate_data(data, "<case>"), rng=seed)
            rng = np.random.default_rng(seed + (7 if kind == "routing" else 0))
            daily = []
            while model.running:
                if kind == "routing" or (shake and rng.random() < 0.25):
                    try:
                        model.intervene(_intervention(model, rng, rich=kind == "routing"))
                    except Exception as exc:  # an invalid random change: same in both versions
                        daily.append(type(exc).__name__)
                model.step()
                daily.append(
                    (
                        model.logistics.shipped_t.tobytes(),
                        model.people.shipped_t.tobytes(),
                        [lk.carried_today_t for lk in model.links],
                        [r.links if r else None for r in model.logistics.routes],
                    )
                )
            runs.append((_frames(collect_result(model, seed)), daily))
        out[kind] = runs
    synthetic = {}
    sizes = (
        [(10, {}), (60, {})]
        if quick
        else [(10, {}), (60, {}), (150, {"throttle_share": 0.1}), (300, {"close_share": 0.1})]
    )
    for n, options in sizes:
        scenario = validate_data(synthetic_scenario(n, days=40, **options), "<synthetic>")
        synthetic[n] = _frames(run_scenario(scenario, seed=1))
    out["synthetic"] = synthetic
    out_file.write_bytes(pickle.dumps(out))


# ---------------------------------------------------------------------------- driver


def run_version(root: Path | None, cases_file: Path, out_file: Path, quick: bool) -> dict[str, Any]:
    env = dict(os.environ)
    if root is not None:
        env["PYTHONPATH"] = str(root)
    argv = [sys.executable, __file__, "--worker", str(cases_file), str(out_file)]
    if quick:
        argv.append("--quick")
    subprocess.run(argv, env=env, check=True)
    return pickle.loads(out_file.read_bytes())


def compare(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("cli", "library", "random", "routing", "synthetic"):
        a, b = before[key], now[key]
        if isinstance(a, dict):
            bad = [k for k in a if a[k] != b.get(k)]
            total = len(a)
        else:
            bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
            total = len(a)
        print(f"{key:10s} {total:4d} compared, {len(bad)} differ")
        if bad:
            problems.append(f"{key}: {bad[:10]}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=150, help="random scenarios per strategy")
    parser.add_argument("--quick", action="store_true", help="fewer seeds and sizes")
    parser.add_argument(
        "--baseline",
        default=BASELINE_COMMIT,
        help="commit to compare against (default: the step benchmark's baseline; its "
        "scenarios must load in that commit's schema: after a schema change, use a recent one)",
    )
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.quick)
        return
    with tempfile.TemporaryDirectory(prefix="corridors-identical-") as tmp_name:
        tmp = Path(tmp_name)
        package_at(args.baseline, tmp / "baseline")
        cases_file = tmp / "cases.pkl"
        cases_file.write_bytes(pickle.dumps(make_cases(args.cases)))
        print(f"baseline: commit {args.baseline}; now: {ROOT}")
        before = run_version(tmp / "baseline", cases_file, tmp / "before.pkl", args.quick)
        now = run_version(None, cases_file, tmp / "now.pkl", args.quick)
        assert before["corridors"].startswith(str(tmp)), before["corridors"]
        assert not now["corridors"].startswith(str(tmp)), now["corridors"]
        problems = compare(before, now)
    if problems:
        print("DIFFERENT:", *problems, sep="\n  ")
        sys.exit(1)
    print("identical")


if __name__ == "__main__":
    main()
