"""Golden outputs: every built-in scenario's summaries for fixed seeds, stored in tests/golden/.

A change that moves an outcome beyond its tolerance fails here, naming the outcomes. If the
change is deliberate, refresh with `make golden` and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corridors.analysis.golden import differences, golden_path, golden_record
from corridors.scenarios import builtin_names

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", builtin_names())
def test_built_in_scenario_matches_its_golden_summary(name):
    path = golden_path(GOLDEN, name)
    assert path.exists(), f"no golden file for {name}: run `make golden` and commit it"
    golden = json.loads(path.read_text("utf-8"))
    moved = differences(golden, golden_record(name, seeds=golden["seeds"]))
    assert not moved, (
        f"{name}: {len(moved)} outcomes moved beyond tolerance (if deliberate, `make golden` "
        "and say why in the commit):\n  " + "\n  ".join(moved[:40])
    )


def test_a_faster_stress_rise_is_caught_and_named():
    golden = json.loads(golden_path(GOLDEN, "template").read_text("utf-8"))
    faster = golden_record(
        "template", seeds=golden["seeds"], overrides={"parameters.stress_rise_per_day": 0.03}
    )
    moved = differences(golden, faster)
    assert any(line.startswith("ISL.peak_stress (seed 0):") for line in moved), moved


def test_differences_are_readable_and_respect_tolerance():
    golden = {
        "seeds": [0, 1],
        "tolerance": {"rel": 0.01, "abs": 0.0},
        "outcomes": {"a": [100.0, 100.0], "d": ["2023-09-19", None], "gone": [1, 1]},
    }
    now = {"outcomes": {"a": [100.5, 150.0], "d": ["2023-09-20", None], "new": [2, 2]}}
    assert differences(golden, now) == [
        "gone: gone (was [1, 1])",
        "new: new outcome ([2, 2])",
        "a (seed 1): 100.0 → 150.0 (+50.0%)",
        "d (seed 0): 2023-09-19 → 2023-09-20",
    ]
