"""Fault-tolerant sweeps: workers and whole sweeps killed at random points lose nothing.

A killed worker costs only its chunk, which runs again on a fresh pool; a sweep killed at any
point resumes to every run exactly once, with no corrupt part file. The kill points are drawn
from a seeded generator, so a failure can be replayed.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import psutil
import pytest
from test_sweep_run import LONG, committed, every_part_readable, start, wait_for_parts, write

from corridors.analysis import open_sweep, run_sweep

KILL_SEED = 20261126


def _workers(proc) -> list[psutil.Process]:
    """The sweep's pool workers (the forkserver, if any, is not one of them)."""
    children = psutil.Process(proc.pid).children(recursive=True)
    return [c for c in children if "forkserver" not in " ".join(c.cmdline())]


def _same_as_uninterrupted(spec: Path, out: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    run_sweep(spec, fresh, workers=1)
    got = open_sweep(out).frame.drop(columns="elapsed_s").sort_values("run_id")
    want = open_sweep(fresh).frame.drop(columns="elapsed_s").sort_values("run_id")
    assert got.reset_index(drop=True).equals(want.reset_index(drop=True))


def test_a_killed_worker_is_replaced_and_the_sweep_completes(tmp_path: Path) -> None:
    spec = write(tmp_path, LONG)
    out = tmp_path / "out"
    rng = random.Random(KILL_SEED)
    proc = start(spec, out, "--chunk-size", "1")
    wait_for_parts(out, rng.randint(2, 8), proc)
    victims = _workers(proc)
    assert victims, "the pool has workers"
    rng.choice(victims).send_signal(signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stdout + stderr
    assert "ran again on a fresh pool" in stderr
    ids = committed(out)
    assert sorted(ids) == list(range(40))
    assert every_part_readable(out) == 3 * len(list((out / "runs").glob("part-*.parquet")))
    assert open_sweep(out).manifest["status"] == "complete"
    _same_as_uninterrupted(spec, out, tmp_path)


@pytest.mark.parametrize("round_seed", [1, 2])
def test_sweeps_killed_at_random_points_resume_to_every_run_once(
    tmp_path: Path, round_seed: int
) -> None:
    spec = write(tmp_path, LONG)
    out = tmp_path / "out"
    rng = random.Random(KILL_SEED + round_seed)
    kills = 0
    for attempt in range(3):
        before = len(committed(out)) if (out / "manifest.json").exists() else 0
        proc = start(spec, out, "--chunk-size", "1", *(["--resume"] if attempt else []))
        try:
            wait_for_parts(out, before + rng.randint(1, 6), proc, timeout=60)
        except AssertionError:
            proc.communicate(timeout=60)  # finished before the kill point: fine
            break
        time.sleep(rng.random() * 0.2)  # land the kill anywhere, mid-write included
        proc.kill()
        proc.communicate(timeout=60)
        kills += 1
        ids = committed(out)
        assert len(ids) == len(set(ids)), "no run twice, even killed"
        every_part_readable(out)
    assert kills >= 1
    proc = start(spec, out, "--resume")
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    sweep = open_sweep(out)
    assert sorted(sweep.runs["run_id"]) == list(range(40))
    assert sweep.outcomes["run_id"].is_unique
    assert not list(out.rglob("*.tmp")) and not (out / "sweep.lock").exists()
    _same_as_uninterrupted(spec, out, tmp_path)
