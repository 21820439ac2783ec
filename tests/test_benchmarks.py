"""The benchmark harness works: every benchmark module runs at a tiny size (``--smoke``) through
the runner, and the report and raw results come out whole. No timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
MODULES = [
    "bench_step",
    "bench_sweep",
    "bench_bigsweep",
    "bench_scaling",
    "bench_app",
    "bench_logistics",
]


GROUPS = ["step,sweep,scaling", "bigsweep,app", "logistics"]
"""Run side by side: the second mostly waits for the servers and sweeps it starts."""


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """Every benchmark at its smoke size, through the runner (two runners at once, to keep
    this test short); the reports joined and the raw results merged."""
    tmp = tmp_path_factory.mktemp("bench")
    outs = [tmp / f"benchmarks-{i}.md" for i in range(len(GROUPS))]
    procs = [
        subprocess.Popen(
            [sys.executable, str(BENCH / "run.py"), "--smoke", "--only", group, "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for group, out in zip(GROUPS, outs, strict=True)
    ]
    for proc in procs:
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, output[-4000:]
    text = "\n".join(out.read_text() for out in outs)
    raw: dict = {"results": {}}
    for out in outs:
        part = json.loads(out.with_suffix(".json").read_text())
        raw["results"].update(part["results"])
        raw["parts"] = [*raw.get("parts", []), part]
    return text, raw


def _has_baseline_commit() -> bool:
    sys.path.insert(0, str(BENCH))
    try:
        from common import BASELINE_COMMIT
    finally:
        sys.path.remove(str(BENCH))
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{BASELINE_COMMIT}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return found.returncode == 0


def test_every_benchmark_runs_and_reports(smoke_run: tuple[str, dict]) -> None:
    text, raw = smoke_run
    assert set(raw["results"]) == set(MODULES)
    for heading in (
        "## Targets",
        "Day-step cost of the default scenario",
        "Sweep throughput against mesa.batch_run",
        "10,000-run one-year sweep",
        "Scaling with the number of states",
        "Front end",
        "## Outputs are identical",
    ):
        assert heading in text, heading
    assert "smoke run" in text
    assert "Traceback" not in text


def test_the_measurements_are_of_what_they_claim(smoke_run: tuple[str, dict]) -> None:
    _, raw = smoke_run
    results = raw["results"]
    step = results["bench_step"]
    steps = step["now"]["steps"]
    assert steps["n_agents"] > 0 and steps["n_model_reporters"] > 0
    assert all(v > 0 for values in steps["us_per_step"].values() for v in values)
    # the "before" is the baseline commit's code, imported in a child process; a shallow clone
    # lacks that commit, and then the benchmark must say so instead of measuring something else
    before = step["before"]
    if _has_baseline_commit():
        assert "error" not in before, before
        assert before["corridors_path"].startswith("git archive")
    else:
        assert "error" in before and "git archive" in before["error"], before
    sweep = results["bench_sweep"]
    for check in ("check_1", "check_2", "check_best"):
        assert sweep[check]["matched"] == sweep[check]["batch_rows"] > 0
        assert sweep[check]["differ"] == 0
    assert sweep["identical_1_vs_2_workers"]
    big = results["bench_bigsweep"]
    assert big["returncode"] == 0 and big["ok"] == big["runs"]
    assert big["memory"]["samples"] > 0 and big["memory"]["peak_pss_mb"] > 0
    rows = results["bench_scaling"]["rows"]
    assert [r["states"] for r in rows] == sorted(r["states"] for r in rows)
    assert all(r["route_searches"] > 0 for r in rows)
    # a throttle is less capacity, not a longer road (issue 12): only closures reroute, and the
    # smallest synthetic network may close no link that a route uses
    assert any(r["reroutes"] > 0 for r in rows)
    logistics = results["bench_logistics"]
    assert all(v > 0 for side in logistics["step_us"].values() for v in side)
    assert logistics["sweep_runs"] > 0 and logistics["sweep_s"]["before"] > 0


def test_synthetic_scenarios_grow_in_proportion() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from synthetic import build
    finally:
        sys.path.remove(str(BENCH))
    small, large = build(20, days=12), build(200, days=12)
    for key in ("links", "flows"):
        ratio = len(getattr(large, key)) / len(getattr(small, key))
        assert 8 <= ratio <= 12, (key, ratio)
    assert any(e.action == "close_link" for e in large.events)
    assert any(e.action == "open_link" for e in large.events)


def test_the_report_can_be_written_again_from_the_raw_results(
    smoke_run: tuple[str, dict], tmp_path: Path
) -> None:
    text, raw = smoke_run
    part = raw["parts"][0]
    source = tmp_path / "raw.json"
    source.write_text(json.dumps(part))
    again = tmp_path / "again.md"
    subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--render", str(source), "--out", str(again)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert again.read_text() in text
