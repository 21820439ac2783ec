"""Paired counterfactuals: base and variant on common seeds, bootstrap intervals of the
differences, the ``corridors compare`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import corridors.cli
from corridors import load_scenario
from corridors.analysis.compare import WAR_ROWS, Comparison, bootstrap_ci, compare_variant
from corridors.analysis.sweep import RunContext, run_one


@pytest.fixture(scope="module")
def no_blockade() -> Comparison:
    return compare_variant("lachin-2023", ["no-blockade"], seeds=5, seed=3, days=150, workers=1)


def test_lifting_the_blockade_removes_shortage_days_beyond_doubt(no_blockade: Comparison) -> None:
    row = no_blockade.table.set_index("outcome").loc["NKR.shortage_days"]
    assert row["base_mean"] > 60 and row["variant_mean"] == 0
    assert row["mean_diff"] == pytest.approx(-row["base_mean"])
    assert row["ci_low"] <= row["mean_diff"] <= row["ci_high"] < 0
    assert bool(row["excludes_zero"])
    assert row["pairs"] == 5
    assert no_blockade.label == "lachin-2023+no-blockade"
    assert "NKR.shortage_days" in set(no_blockade.changed()["outcome"])


def test_arms_share_their_seeds_and_reproduce_single_runs(no_blockade: Comparison) -> None:
    runs = no_blockade.runs
    base = runs[runs.arm == "base"].set_index("pair")
    variant = runs[runs.arm == "variant"].set_index("pair")
    assert base["seed"].tolist() == variant["seed"].tolist() == no_blockade.seeds
    assert len(set(no_blockade.seeds)) == 5
    # a pair's base run is the plain run of the scenario with that seed (common random numbers)
    summary, _ = run_one(
        RunContext(load_scenario("lachin-2023"), days=150), {}, base["seed"].iloc[0]
    )
    assert summary["NKR.peak_stress"] == base["NKR.peak_stress"].iloc[0]
    assert summary["delivered_t"] == base["delivered_t"].iloc[0]


def test_unaffected_outcomes_show_no_difference(no_blockade: Comparison) -> None:
    table = no_blockade.table
    same = table[table["all_zero"]]
    assert len(same) > 0
    assert (same["mean_diff"] == 0).all() and not same["excludes_zero"].any()
    assert ((same["ci_low"] == 0) & (same["ci_high"] == 0)).all()
    # a flow that exists only in the base is marked, not compared
    # (its outcomes identical in every run are listed once: the first of them stands for all)
    gone = table[table["outcome"].str.startswith("flow.icrc_via_aghdam.")]
    assert len(gone) >= 1
    assert (gone["note"] == "not in the variant").all() and gone["mean_diff"].isna().all()


def test_bootstrap_interval() -> None:
    rng = np.random.default_rng(0)
    diffs = rng.normal(2.0, 1.0, size=(40, 2))
    diffs[:, 1] = -diffs[:, 1]
    low, high = bootstrap_ci(diffs, conf=0.95, resamples=4000, seed=1)
    means = diffs.mean(axis=0)
    assert (low < means).all() and (means < high).all()
    # about ±1.96 standard errors
    assert high[0] - low[0] == pytest.approx(2 * 1.96 / np.sqrt(40), rel=0.25)
    again = bootstrap_ci(diffs, conf=0.95, resamples=4000, seed=1)
    np.testing.assert_array_equal(again[0], low)
    narrow = bootstrap_ci(diffs, conf=0.5, resamples=4000, seed=1)
    assert (narrow[1] - narrow[0] < high - low).all()
    constant = bootstrap_ci(np.full((5, 1), 3.0))
    assert constant[0][0] == constant[1][0] == 3.0


def main_with(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["corridors", *argv])
    try:
        corridors.cli.main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_compare_writes_table_pairs_and_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", "lachin-2023", "--variant", "no-blockade", "--seeds", "3", "--days", "60"]
    argv += ["--workers", "1", "--out", str(out), "-o", "NKR.shortage_days", "-o", "delivered_t"]
    assert main_with(argv, monkeypatch) == 0
    stdout = capsys.readouterr().out
    assert "3 paired seeds" in stdout and "NKR.shortage_days" in stdout
    table = pd.read_csv(out / "compare.csv")
    # the war's outcomes as distributions always come first, then the outcomes asked for
    assert table["outcome"].tolist() == [*WAR_ROWS, "NKR.shortage_days", "delivered_t"]
    table = table.set_index("outcome")
    assert table.loc["NKR.shortage_days", "mean_diff"] < 0
    assert table.loc["NKR.shortage_days", "ci_high"] < 0
    pairs = pd.read_csv(out / "pairs.csv")
    assert len(pairs) == 6 and set(pairs["arm"]) == {"base", "variant"}
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["compare", "lachin-2023"], "name the variant to compare with the base"),
        (["compare", "lachin-2023", "-v", "no-blockad"], "did you mean 'no-blockade'?"),
        (
            [
                "compare",
                "lachin-2023",
                "-v",
                "no-blockade",
                "--days",
                "5",
                "-o",
                "NKR.shortage_dayz",
            ],
            "unknown outcome 'NKR.shortage_dayz' — did you mean 'NKR.shortage_days'?",
        ),
    ],
    ids=["no_variant", "unknown_variant", "unknown_outcome"],
)
def test_cli_compare_bad_input(
    argv: list[str],
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert (
        main_with([*argv, "--seeds", "2", "--workers", "1", "--out", str(tmp_path)], monkeypatch)
        == 2
    )
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err
