"""Sweep specs are validated in full before any run: every problem is one line naming the spec
file, the line, the field and the fix; the CLI exits 2 without a traceback. Designs and seeds
are reproducible."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import corridors.cli
from corridors.analysis.designs import build_design, to_value
from corridors.analysis.sweep import derive_seed, plan_runs
from corridors.analysis.sweepspec import (
    ParameterSpec,
    SweepSpecError,
    design_points,
    load_spec,
    parse_spec,
)

GOOD = """\
scenario: lachin-2023
days: 20
parameters:
  parameters.stress_rise_per_day: {range: [0.01, 0.05]}
  events.blockade.fraction: [0.0, 0.1]
design: {type: lhs, samples: 4}
outcomes: [NKR.shortage_days, delivered_t]
"""

# (case id, text to replace in GOOD, replacement, line the error must name, fragments)
BAD = [
    (
        "unknown_parameter_path",
        "stress_rise_per_day:",
        "stress_rise_per_dya:",
        4,
        ("unknown path", "did you mean 'stress_rise_per_day'?"),
    ),
    (
        "unknown_link_in_path",
        "events.blockade.fraction",
        "links.lachn.capacity_t_per_day",
        5,
        ("no item 'lachn'", "did you mean 'lachin'?"),
    ),
    (
        "unknown_outcome",
        "NKR.shortage_days",
        "NKR.shortage_dayz",
        7,
        ("unknown outcome 'NKR.shortage_dayz'", "did you mean 'NKR.shortage_days'?"),
    ),
    (
        "range_reversed",
        "[0.01, 0.05]",
        "[0.05, 0.01]",
        4,
        ("range low (0.05) must be below high (0.01)",),
    ),
    (
        "value_out_of_bounds",
        "[0.0, 0.1]",
        "[0.0, 1.5]",
        5,
        ("levels[1]: 1.5 is not a valid value here", "must be at most 1"),
    ),
    (
        "range_out_of_bounds",
        "[0.01, 0.05]",
        "[-0.5, 0.05]",
        4,
        ("range[0]: -0.5 is not a valid value here",),
    ),
    (
        "unknown_design",
        "type: lhs",
        "type: lhd",
        6,
        ("'lhd' is not allowed", "did you mean 'lhs'?"),
    ),
    (
        "yaml_error",
        "samples: 4}",
        "samples: 4",
        7,
        ("YAML syntax error", "started on line 6"),
    ),
    ("unknown_field", "days: 20", "dayz: 20", 2, ("unknown field 'dayz'", "did you mean 'days'?")),
    (
        "sobol_not_power_of_two",
        "type: lhs, samples: 4",
        "type: sobol, samples: 6",
        6,
        ("must be a power of 2, got 6 (try 4 or 8)",),
    ),
    (
        "grid_without_levels",
        "type: lhs, samples: 4",
        "type: grid",
        4,
        ("a grid design needs levels for every parameter",),
    ),
    (
        "samples_missing",
        "type: lhs, samples: 4",
        "type: lhs",
        6,
        ("samples is required for a lhs design",),
    ),
    (
        "mixed_levels",
        "[0.0, 0.1]",
        "[0.0, open]",
        5,
        ("levels mix numbers and text",),
    ),
    (
        "unknown_scenario",
        "lachin-2023",
        "lachin-2032",
        1,
        ("no scenario named 'lachin-2032'", "did you mean 'lachin-2023'?"),
    ),
    (
        "unknown_variant",
        "days: 20",
        "variants: [no-blockad]",
        2,
        ("no variant 'no-blockad'", "did you mean 'no-blockade'?"),
    ),
    (
        "outcome_is_a_run_column",
        "[NKR.shortage_days, delivered_t]",
        "[seed]",
        7,
        ("'seed' is recorded in the runs table already",),
    ),
    (
        "unknown_series_entity",
        "outcomes: [NKR.shortage_days, delivered_t]",
        "series: {entities: [Nagorno-Karabah]}",
        7,
        ("unknown entity 'Nagorno-Karabah'", "did you mean 'Nagorno-Karabakh'?"),
    ),
    (
        "bad_override",
        "days: 20",
        "overrides: {parameters.stress_rise_per_day: -1}",
        2,
        ("overrides['parameters.stress_rise_per_day']: ", "must be at least 0"),
    ),
]
BAD_IDS = [b[0] for b in BAD]


def write_bad(tmp_path: Path, old: str, new: str) -> Path:
    assert GOOD.count(old) == 1, old
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    return path


def test_good_spec_loads(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD)
    loaded = load_spec(path)
    assert loaded.scenario_name == "lachin-2023"
    assert list(loaded.spec.params()) == [
        "parameters.stress_rise_per_day",
        "events.blockade.fraction",
    ]
    assert loaded.spec.params()["events.blockade.fraction"].levels == [0.0, 0.1]
    assert "NKR.shortage_days" in loaded.summary_keys
    assert len(loaded.spec_hash) == 64
    # the hash depends on the spec's content, not on its file
    other = tmp_path / "other.yaml"
    other.write_text("# same sweep\n" + GOOD)
    assert load_spec(other).spec_hash == loaded.spec_hash
    changed = tmp_path / "changed.yaml"
    changed.write_text(GOOD.replace("samples: 4", "samples: 5"))
    assert load_spec(changed).spec_hash != loaded.spec_hash


@pytest.mark.parametrize(("case", "old", "new", "line", "fragments"), BAD, ids=BAD_IDS)
def test_bad_spec_raises_one_clear_problem(
    case: str, old: str, new: str, line: int, fragments: tuple[str, ...], tmp_path: Path
) -> None:
    path = write_bad(tmp_path, old, new)
    with pytest.raises(SweepSpecError) as info:
        load_spec(path)
    problems = info.value.problems
    assert len(problems) == 1, info.value.report()
    text = str(problems[0])
    assert text.startswith(f"{path}:{line}: "), text
    for fragment in fragments:
        assert fragment in text, (fragment, text)


def main_with(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["corridors", *argv])
    with pytest.raises(SystemExit) as info:
        corridors.cli.main()
    code = info.value.code
    assert isinstance(code, int)
    return code


@pytest.mark.parametrize(
    "case",
    [
        "unknown_parameter_path",
        "unknown_outcome",
        "range_reversed",
        "unknown_design",
        "yaml_error",
    ],
)
def test_cli_bad_spec_one_line_exit_2(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, old, new, line, fragments = next(b for b in BAD if b[0] == case)
    path = write_bad(tmp_path, old, new)
    out = tmp_path / "out"
    assert main_with(["sweep", str(path), "--out", str(out), "--workers", "1"], monkeypatch) == 2
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stdout + stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {path}:{line}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    assert not out.exists(), "nothing may be written for a bad spec"


def test_cli_unknown_analysis_and_missing_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_with(["analyze", str(tmp_path), "sobl"], monkeypatch) == 2
    assert (
        "unknown analysis 'sobl' (one of summary, sobol, morris, heatmap) — did you mean 'sobol'?"
        in (capsys.readouterr().err)
    )
    assert main_with(["analyze", str(tmp_path / "nope"), "summary"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "no such sweep directory" in err and "Traceback" not in err
    assert (
        main_with(["export", str(tmp_path), "--ema", str(tmp_path / "x.tar.gz")], monkeypatch) == 2
    )
    assert "not a sweep directory (no manifest.json)" in capsys.readouterr().err


# ---------------------------------------------------------------------------- designs


def spec_with(design: dict, parameters: dict, **extra: object):
    return parse_spec(
        {"scenario": "lachin-2023", "parameters": parameters, "design": design, **extra}
    )


def test_grid_is_the_full_product_with_steps_for_ranges() -> None:
    spec = spec_with(
        {"type": "grid"},
        {
            "a": [1, 2, 3],
            "b": {"range": [0.0, 1.0], "steps": 3},
            "c": {"range": [10, 12], "integer": True, "steps": 3},
            "d": {"range": [dt.date(2023, 1, 1), dt.date(2023, 1, 3)], "steps": 2},
        },
    )
    design = build_design(spec)
    assert len(design) == design_points(spec) == 3 * 3 * 3 * 2
    combos = {tuple(v.values()) for v in design.values}
    assert len(combos) == len(design)
    assert {v["a"] for v in design.values} == {1, 2, 3}
    assert {v["b"] for v in design.values} == {0.0, 0.5, 1.0}
    assert {v["c"] for v in design.values} == {10, 11, 12}
    assert {v["d"] for v in design.values} == {dt.date(2023, 1, 1), dt.date(2023, 1, 3)}


def test_lhs_stratifies_every_parameter_and_is_reproducible() -> None:
    params = {"x": {"range": [0.0, 10.0]}, "n": {"range": [1, 5], "integer": True}}
    spec = spec_with({"type": "lhs", "samples": 5}, params, seed=3)
    design = build_design(spec)
    xs = sorted(v["x"] for v in design.values)
    # one sample in each fifth of the range
    assert [int(x // 2) for x in xs] == [0, 1, 2, 3, 4]
    assert sorted(v["n"] for v in design.values) == [1, 2, 3, 4, 5]
    assert build_design(spec).values == design.values
    assert build_design(spec_with({"type": "lhs", "samples": 5}, params, seed=4)).values != (
        design.values
    )


def test_sobol_and_morris_sizes_and_bounds() -> None:
    params = {"x": {"range": [0.0, 1.0]}, "y": {"levels": ["open", "closed"]}, "z": [1, 2, 3]}
    sobol = build_design(spec_with({"type": "sobol", "samples": 8}, params))
    assert len(sobol) == 8 * (3 + 2)
    assert sobol.problem["bounds"] == [[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]]
    second = build_design(spec_with({"type": "sobol", "samples": 8, "second_order": True}, params))
    assert len(second) == 8 * (2 * 3 + 2)
    morris = build_design(spec_with({"type": "morris", "samples": 4, "levels": 4}, params))
    assert len(morris) == 4 * (3 + 1)
    for design in (sobol, morris):
        assert {v["y"] for v in design.values} <= {"open", "closed"}
        assert {v["z"] for v in design.values} <= {1, 2, 3}
        assert all(0.0 <= v["x"] <= 1.0 for v in design.values)


def test_to_value_maps_problem_space_edges() -> None:
    levels = ParameterSpec(levels=["a", "b"])
    assert [to_value(levels, x) for x in (0.0, 0.99, 1.0, 2.0)] == ["a", "a", "b", "b"]
    whole = ParameterSpec(range=[1, 3], integer=True)
    assert [to_value(whole, x) for x in (1.0, 2.5, 3.99, 4.0)] == [1, 2, 3, 3]
    days = ParameterSpec(range=[dt.date(2023, 1, 1), dt.date(2023, 1, 2)])
    assert to_value(days, 1.7) == dt.date(2023, 1, 2)


def test_seeds_derive_reproducibly_and_differ(tmp_path: Path) -> None:
    assert derive_seed(1, 5) == derive_seed(1, 5)
    seeds = {derive_seed(1, k) for k in range(1000)}
    assert len(seeds) == 1000
    assert all(0 <= s < 2**63 for s in seeds)
    assert derive_seed(2, 5) != derive_seed(1, 5)
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD.replace("samples: 4}", "samples: 4}\nreplicates: 3\nseed: 9"))
    loaded = load_spec(path)
    plan = plan_runs(loaded, build_design(loaded.spec))
    assert list(plan.run_id) == list(range(12))
    assert list(plan.point) == [p for p in range(4) for _ in range(3)]
    assert plan.seed.nunique() == 12
    common = tmp_path / "common.yaml"
    common.write_text(path.read_text() + "\ncommon_seeds: true\n")
    loaded = load_spec(common)
    plan = plan_runs(loaded, build_design(loaded.spec))
    # common random numbers: replicate r of every point shares one seed
    assert plan.groupby("replicate").seed.nunique().tolist() == [1, 1, 1]
    assert plan.seed.nunique() == 3


def test_values_valid_alone_but_not_together_pass_validation(tmp_path: Path) -> None:
    """Each value is checked with the other parameters at their first value; a combination that
    only fails together is left to the run (which records the error)."""
    path = tmp_path / "spec.yaml"
    path.write_text(
        "scenario: lachin-2023\n"
        "parameters:\n"
        "  links.lachin.status: [open, throttled]\n"
        "  links.lachin.throttle: [0.5, 1.0]\n"
        "design: grid\n"
    )
    loaded = load_spec(path)
    assert loaded.spec.design.type == "grid"
    assert np.prod([len(p.levels or []) for p in loaded.spec.params().values()]) == 4


def test_docs_example_specs_are_valid(tmp_path: Path) -> None:
    """Every spec in docs/sweeps.md (a yaml block with a scenario) validates."""
    text = (Path(__file__).parents[1] / "docs" / "sweeps.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "scenario:" in b]
    assert len(blocks) >= 3
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block, encoding="utf-8")
        load_spec(path)
