"""Running sweeps: identical outcomes on every executor, errors recorded, kill and Ctrl-C leave
a consistent dataset that ``--resume`` completes with every run exactly once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from corridors.analysis import load_sweep, open_sweep, run_sweep
from corridors.analysis.storage import SweepDataError, SweepStore
from corridors.analysis.sweep import RunContext, auto_chunk_size, run_chunk
from corridors.scenarios import load_scenario

CLI = str(Path(sys.executable).parent / "corridors")

SMALL = """\
name: small
scenario: lachin-2023
days: 45
parameters:
  parameters.stress_rise_per_day: [0.01, 0.04]
  links.lachin.capacity_t_per_day: {range: [300, 1200], integer: true, steps: 2}
design: grid
replicates: 2
seed: 11
outcomes: [NKR.shortage_days, NKR.peak_stress, NKR.first_shortage_date, delivered_t,
           flow.food_to_karabakh.delivered_t]
series: {stride: 10, entities: [Nagorno-Karabakh, model], variables: [stress, delivered_t]}
"""

FAILING = """\
scenario: lachin-2023
days: 20
parameters:
  links.lachin.status: [open, throttled, closed]
  links.lachin.throttle: [0.5, 1.0]
design: grid
outcomes: [NKR.shortage_days, delivered_t]
"""

LONG = """\
name: long
scenario: lachin-2023
days: 60
parameters:
  parameters.stress_rise_per_day: {range: [0.01, 0.05]}
  events.blockade.fraction: {range: [0.0, 0.2]}
design: {type: lhs, samples: 40}
seed: 5
outcomes: [NKR.shortage_days, NKR.peak_stress]
series: {stride: 30, entities: [model], variables: [delivered_t]}
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def comparable(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    sweep = open_sweep(out)
    return sweep.frame.drop(columns="elapsed_s"), sweep.series


def every_part_readable(out: Path) -> int:
    """Open every part file (orphans too); return how many there are."""
    count = 0
    for path in out.glob("*/part-*.parquet"):
        pq.read_table(path)
        count += 1
    return count


# ---------------------------------------------------------------------------- executors


def test_same_outcomes_serial_process_pool_and_dask(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    spec = write(tmp_path, SMALL)
    runs = {
        "serial": {"workers": 1},
        "pool": {"workers": 2, "chunk_size": 1},
        "dask": {"workers": 2, "dask": "local", "chunk_size": 3},
    }
    results = {}
    for label, options in runs.items():
        report = run_sweep(spec, tmp_path / label, **options)
        assert report.complete and report.errors == 0 and not report.failures, report
        assert report.completed == 8
        results[label] = comparable(tmp_path / label)
    assert "serial" in runs and results["serial"][0]["status"].eq("ok").all()
    frame, series = results["serial"]
    assert len(frame) == 8 and frame["run_id"].tolist() == list(range(8))
    assert frame["seed"].nunique() == 8
    assert frame["NKR.shortage_days"].max() > 0  # the blockade bites within 45 days
    for label in ("pool", "dask"):
        pd.testing.assert_frame_equal(results[label][0], frame, check_exact=True)
        pd.testing.assert_frame_equal(results[label][1], series, check_exact=True)
    # series kept at the stride, plus the last step
    assert sorted(series["step"].unique()) == [0, 10, 20, 30, 40, 45]
    assert set(series["entity"]) == {"Nagorno-Karabakh", "model"}
    assert len(series) == 8 * 6 * 2  # runs × kept steps × (NK stress, model delivered_t)
    # one part file per chunk and table
    assert len(SweepStore(tmp_path / "pool").parts("runs")) == 8
    assert len(SweepStore(tmp_path / "dask").parts("runs")) == 3
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["executor"].startswith("dask, 2 workers")


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    spec = write(tmp_path, FAILING)
    out = tmp_path / "out"
    report = run_sweep(spec, out, workers=1, chunk_size=3)
    assert report.complete and report.completed == 6 and report.errors == 1
    sweep = open_sweep(out)
    frame = sweep.frame
    # grid order: (open, .5) (open, 1) (throttled, .5) (throttled, 1) (closed, .5) (closed, 1)
    assert frame["status"].tolist() == ["ok", "ok", "ok", "error", "ok", "ok"]
    bad = frame[frame["status"] == "error"].iloc[0]
    assert (bad["links.lachin.status"], bad["links.lachin.throttle"]) == ("throttled", 1.0)
    assert pd.isna(bad["delivered_t"])
    assert frame[frame["status"] == "ok"]["delivered_t"].notna().all()
    errors = sweep.errors
    assert errors["run_id"].tolist() == [3]
    assert errors["error"].iloc[0] == "ScenarioError"
    assert "status is 'throttled' but throttle is 1" in errors["message"].iloc[0]
    assert "Traceback" in errors["traceback"].iloc[0]
    assert sweep.manifest["counts"] == {
        "planned": 6,
        "done": 6,
        "ok": 5,
        "errors": 1,
        "pending": 0,
    }
    assert sweep.manifest["status"] == "complete"
    # a failed run is a result: resuming does not run it again
    again = run_sweep(spec, out, workers=1, resume=True)
    assert again.completed == 0 and again.skipped == 6


def test_run_chunk_catches_errors_per_run() -> None:
    ctx = RunContext(scenario=load_scenario("lachin-2023"), days=3, outcomes=("delivered_t",))
    tasks = [(0, 1, {}), (1, 2, {"links.lachin.capacity_t_per_day": -5}), (2, 3, {})]
    result = run_chunk(ctx, tasks)
    assert [r["status"] for r in result.runs] == ["ok", "error", "ok"]
    assert [o["run_id"] for o in result.outcomes] == [0, 2]
    assert result.errors[0]["run_id"] == 1 and result.errors[0]["seed"] == 2
    assert "must be at least 0" in result.errors[0]["message"]


def test_auto_chunks_batch_tiny_runs() -> None:
    assert auto_chunk_size(16, 2) == 1
    assert auto_chunk_size(200, 2) == 13
    assert auto_chunk_size(1_000_000, 2) == 100
    assert auto_chunk_size(5, 64) == 1


# ---------------------------------------------------------------------------- directories


def test_directory_rules(tmp_path: Path) -> None:
    spec = write(tmp_path, FAILING)
    out = tmp_path / "out"
    run_sweep(spec, out, workers=1)
    with pytest.raises(
        SweepDataError, match=r"already holds a sweep \(6 of 6 runs done\); add --resume"
    ):
        run_sweep(spec, out, workers=1)
    other = write(tmp_path, FAILING.replace("days: 20", "days: 21"), "other.yaml")
    with pytest.raises(SweepDataError, match="holds a sweep of a different spec"):
        run_sweep(other, out, workers=1, resume=True)
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("mine")
    with pytest.raises(SweepDataError, match="is not empty and holds no sweep"):
        run_sweep(spec, tmp_path / "stuff", workers=1)
    (out / "sweep.lock").write_text(str(os.getppid()))  # a live process holds the lock
    with pytest.raises(SweepDataError, match=r"another sweep \(process \d+\) is writing here"):
        run_sweep(spec, out, workers=1, resume=True)
    (out / "sweep.lock").write_text("999999999")  # a dead one: taken over
    assert run_sweep(spec, out, workers=1, resume=True).skipped == 6
    assert not (out / "sweep.lock").exists()


def test_orphan_parts_and_temporary_files_are_ignored_then_cleaned(tmp_path: Path) -> None:
    spec = write(tmp_path, FAILING)
    out = tmp_path / "out"
    run_sweep(spec, out, workers=1, chunk_size=2)
    before = load_sweep(out)
    part = sorted((out / "outcomes").glob("part-*.parquet"))[0]
    orphan = out / "outcomes" / "part-000000000-deadbeef.parquet"
    shutil.copy(part, orphan)  # a chunk whose runs part was never written
    (out / "runs" / ".part-000000004-0badf00d.parquet.123.tmp").write_bytes(b"half a file")
    pd.testing.assert_frame_equal(load_sweep(out), before)
    report = run_sweep(spec, out, workers=1, resume=True)
    assert report.skipped == 6 and report.completed == 0
    assert not orphan.exists()
    assert not list(out.glob("*/.*.tmp"))
    pd.testing.assert_frame_equal(load_sweep(out), before)


# ---------------------------------------------------------------------------- interruptions


# A suite started in the background (``pytest &``) runs with SIGINT ignored, and a child
# inherits that: Python then installs no KeyboardInterrupt handler and Ctrl-C would do nothing.
# The child restores Python's own handler before it starts the command.
_WITH_SIGINT = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'corridors'; from corridors.cli import main; main()"
)


def start(spec: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    args = ["sweep", str(spec), "--out", str(out), "--workers", "2", *extra]
    return subprocess.Popen(
        [sys.executable, "-c", _WITH_SIGINT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_parts(out: Path, n: int, proc: subprocess.Popen[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while len(list((out / "runs").glob("part-*.parquet"))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no part files appeared"
        time.sleep(0.02)


def committed(out: Path) -> list[int]:
    return open_sweep(out).runs["run_id"].tolist()


def test_interrupted_and_killed_sweeps_resume_to_every_run_exactly_once(tmp_path: Path) -> None:
    spec = write(tmp_path, LONG)
    out = tmp_path / "out"

    # Ctrl-C: the sweep stops, says how to resume, exits 130, leaves a consistent manifest
    proc = start(spec, out, "--chunk-size", "1")
    wait_for_parts(out, 3, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stdout + stderr
    assert "continue with --resume" in stderr
    done = committed(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    assert manifest["counts"]["done"] == len(done) < 40
    assert manifest["counts"]["pending"] == 40 - len(done)

    # SIGKILL during the resumed sweep: no clean-up at all
    proc = start(spec, out, "--chunk-size", "1", "--resume")
    wait_for_parts(out, len(done) + 3, proc)
    proc.kill()
    proc.communicate(timeout=300)
    ids = committed(out)
    assert len(ids) == len(set(ids)) < 40, "killed before the end, no run twice"
    assert every_part_readable(out) >= len(ids)
    # worker processes do not outlive their parent (they notice within seconds; a loaded
    # machine may take longer to schedule them)
    deadline = time.monotonic() + 60
    while pgrep := subprocess.run(
        ["pgrep", "-f", str(out)], capture_output=True, text=True, check=False
    ).stdout.strip():
        assert time.monotonic() < deadline, f"orphan workers: {pgrep}"
        time.sleep(0.1)

    # resume once more: everything present exactly once, nothing left over
    proc = start(spec, out, "--resume")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert f"{len(ids)} already done" in stdout and "40 of 40 runs" in stdout
    sweep = open_sweep(out)
    assert sorted(sweep.runs["run_id"]) == list(range(40))
    assert sweep.runs["run_id"].is_unique and sweep.outcomes["run_id"].is_unique
    assert set(sweep.series["run_id"]) == set(range(40))
    assert not sweep.series.duplicated(["run_id", "step", "entity", "variable"]).any()
    assert every_part_readable(out) == 3 * len(SweepStore(out).parts("runs"))
    assert not list(out.rglob("*.tmp")) and not (out / "sweep.lock").exists()
    assert sweep.manifest["status"] == "complete"
    assert [s["interrupted"] for s in sweep.manifest["sessions"]] == [True, False]
    # resumed results are those of an uninterrupted sweep
    fresh = tmp_path / "fresh"
    run_sweep(spec, fresh, workers=1)
    pd.testing.assert_frame_equal(comparable(out)[0], comparable(fresh)[0])
