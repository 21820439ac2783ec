"""Analysing sweeps: SALib indices on small Sobol and Morris sweeps, outcome summaries and
probabilities, heatmaps, and the EMA Workbench export."""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import corridors.cli
from corridors.analysis import load_sweep, open_sweep, run_sweep
from corridors.analysis.ema import export_ema
from corridors.analysis.sensitivity import morris_indices, sobol_indices
from corridors.analysis.sweepstats import (
    AnalysisError,
    heatmap_table,
    parse_condition,
    probabilities,
    wilson,
)

SENSITIVITY = """\
scenario: lachin-2023
days: 60
parameters:
  parameters.stress_rise_per_day: {{range: [0.01, 0.05]}}
  events.blockade.fraction: {{range: [0.0, 0.3]}}
design: {design}
common_seeds: true
outcomes: [NKR.shortage_days, NKR.peak_stress, NKR.first_shortage_date]
"""

EXPLORE = """\
name: explore
scenario: lachin-2023
days: 60
parameters:
  parameters.stress_rise_per_day: {range: [0.01, 0.05]}
  events.blockade.fraction: [0.0, 0.05, 0.3]
design: {type: lhs, samples: 9}
replicates: 2
outcomes: [NKR.shortage_days, NKR.peak_stress, NKR.first_shortage_date, delivered_t]
series: {stride: 15, entities: [Nagorno-Karabakh], variables: [stress, food_t]}
"""


def sweep_of(tmp: Path, name: str, text: str) -> Path:
    spec = tmp / f"{name}.yaml"
    spec.write_text(text, encoding="utf-8")
    out = tmp / name
    report = run_sweep(spec, out, workers=1)
    assert report.complete and report.errors == 0
    return out


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("sweeps")
    return {
        "sobol": sweep_of(tmp, "sobol", SENSITIVITY.format(design="{type: sobol, samples: 8}")),
        "morris": sweep_of(tmp, "morris", SENSITIVITY.format(design="{type: morris, samples: 4}")),
        "explore": sweep_of(tmp, "explore", EXPLORE),
    }


def main_with(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["corridors", *argv])
    try:
        corridors.cli.main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# ---------------------------------------------------------------------------- SALib


def test_sobol_indices_find_the_parameter_that_matters(sweeps: dict[str, Path]) -> None:
    sweep = open_sweep(sweeps["sobol"])
    assert len(sweep.frame) == 8 * (2 + 2)
    table = sobol_indices(sweep, ["NKR.shortage_days", "NKR.peak_stress"], seed=1)
    assert len(table) == 4
    assert np.isfinite(table[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy()).all()
    assert (table[["S1_conf", "ST_conf"]] >= 0).all().all()
    short = table[table.outcome == "NKR.shortage_days"].set_index("parameter")
    # with common seeds, shortage days do not depend on how fast stress rises at all
    assert short.loc["parameters.stress_rise_per_day", "ST"] == pytest.approx(0, abs=1e-12)
    assert short.loc["parameters.stress_rise_per_day", "S1"] == pytest.approx(0, abs=1e-12)
    assert short.loc["events.blockade.fraction", "ST"] > 0.5
    stress = table[table.outcome == "NKR.peak_stress"].set_index("parameter")
    assert (stress["ST"] > 0.01).all()  # both parameters move peak stress
    # reproducible: same seed, same intervals
    pd.testing.assert_frame_equal(
        sobol_indices(sweep, ["NKR.shortage_days", "NKR.peak_stress"], seed=1), table
    )


def test_morris_screening_ranks_the_blockade_first(sweeps: dict[str, Path]) -> None:
    sweep = open_sweep(sweeps["morris"])
    assert len(sweep.frame) == 4 * (2 + 1)
    table = morris_indices(sweep, ["NKR.shortage_days"], seed=1).set_index("parameter")
    assert table.loc["parameters.stress_rise_per_day", "mu_star"] == 0
    assert table.loc["events.blockade.fraction", "mu_star"] > 5
    assert table.loc["events.blockade.fraction", "mu"] < 0  # more leakage, fewer short days
    assert np.isfinite(table["mu_star_conf"]).all()


def test_cli_sobol_and_morris_write_tables_and_plots(
    sweeps: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind in ("sobol", "morris"):
        out = sweeps[kind]
        assert main_with(["analyze", str(out), kind], monkeypatch) == 0
        stdout = capsys.readouterr().out
        assert "events.blockade.fraction" in stdout and "NKR.shortage_days" in stdout
        table = pd.read_csv(out / f"{kind}.csv")
        # default outcomes: the numeric ones that vary (the date outcome is left out)
        assert set(table.outcome) == {"NKR.shortage_days", "NKR.peak_stress"}
        assert (out / f"{kind}.png").read_bytes()[:4] == b"\x89PNG"
    assert main_with(["analyze", str(sweeps["morris"]), "sobol"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "sobol analysis needs a sobol design; this sweep's design is morris" in err
    code = main_with(
        ["analyze", str(sweeps["sobol"]), "sobol", "--outcome", "NKR.first_shortage_date"],
        monkeypatch,
    )
    assert code == 2
    assert "outcome 'NKR.first_shortage_date' is not numeric" in capsys.readouterr().err


def test_sobol_refuses_an_incomplete_design(
    sweeps: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(sweeps["sobol"], partial)
    next((partial / "runs").glob("part-*.parquet")).unlink()
    with pytest.raises(AnalysisError, match=r"missing for \d+ of 32 design points"):
        sobol_indices(open_sweep(partial), ["NKR.shortage_days"])


# ---------------------------------------------------------------------------- summaries


def test_conditions_and_probabilities(sweeps: dict[str, Path]) -> None:
    frame = load_sweep(sweeps["explore"])
    assert frame.attrs["manifest"]["name"] == "explore"
    assert len(frame) == 18
    many = parse_condition("NKR.shortage_days>=25", frame)
    early = parse_condition("NKR.first_shortage_date <= 2023-01-05", frame)
    never = parse_condition("NKR.first_shortage_date==null", frame)
    expected_many = int((frame["NKR.shortage_days"] >= 25).sum())
    dates = pd.to_datetime(frame["NKR.first_shortage_date"])
    expected_early = int((dates <= pd.Timestamp("2023-01-05")).sum())
    assert int(many.mask(frame).sum()) == expected_many
    assert int(early.mask(frame).sum()) == expected_early
    assert int(never.mask(frame).sum()) == int(frame["NKR.first_shortage_date"].isna().sum())
    assert 0 < expected_many < 18  # the condition splits the runs: the test can fail
    table = probabilities(frame, [many, early]).set_index("condition")
    assert table.loc["NKR.shortage_days>=25", "probability"] == pytest.approx(expected_many / 18)
    row = table.loc["NKR.shortage_days>=25"]
    assert row["ci_low"] <= row["probability"] <= row["ci_high"]
    by = probabilities(frame, [many], by="events.blockade.fraction")
    assert list(by["events.blockade.fraction"]) == [0.0, 0.05, 0.3]
    assert by["runs"].sum() == 18
    assert by["probability"].iloc[0] >= by["probability"].iloc[-1]  # leakage relieves


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("NKR.shortage_dayz>=1", "unknown outcome or parameter 'NKR.shortage_dayz' — did you mean"),
        ("NKR.shortage_days=>1", "write >= or <= (not => or =<)"),
        ("NKR.shortage_days=1", "is not NAME OP VALUE"),
        ("NKR.shortage_days>=", "has no value after '>='"),
        ("NKR.first_shortage_date>=soon", "compare it with == or !="),
        ("NKR.shortage_days<null", "null compares with == or != only"),
        ("NKR.shortage_days>=2023-01-01", "holds no dates"),
    ],
)
def test_bad_conditions(sweeps: dict[str, Path], text: str, fragment: str) -> None:
    frame = load_sweep(sweeps["explore"])
    with pytest.raises(AnalysisError) as info:
        parse_condition(text, frame)
    assert fragment in str(info.value)


def test_wilson_interval() -> None:
    p, low, high = wilson(0, 10)
    assert p == 0 and low == 0 and 0.2 < high < 0.35
    p, low, high = wilson(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)


def test_cli_summary_and_heatmap(
    sweeps: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = sweeps["explore"]
    argv = ["analyze", str(out), "summary", "--by", "events.blockade.fraction"]
    argv += ["--where", "NKR.shortage_days>=25", "--where", "NKR.first_shortage_date<=2023-01-05"]
    assert main_with(argv, monkeypatch) == 0
    stdout = capsys.readouterr().out
    assert "Outcomes over 18 successful runs of 18" in stdout and "Probability" in stdout
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.outcome) == {
        "NKR.shortage_days",
        "NKR.peak_stress",
        "NKR.first_shortage_date",
        "delivered_t",
    }
    assert summary.groupby("outcome")["n"].sum()["NKR.peak_stress"] == 18
    dated = summary[summary.outcome == "NKR.first_shortage_date"]
    # a group whose blockade lets enough food through has no shortage date at all
    assert dated["min"].dropna().str.match(r"\d{4}-\d\d-\d\d").all()
    assert dated["min"].notna().sum() >= 2
    probs = pd.read_csv(out / "probability.csv")
    assert len(probs) == 2 * 3

    frame = load_sweep(out)
    table = heatmap_table(
        frame,
        "parameters.stress_rise_per_day",
        "events.blockade.fraction",
        "NKR.peak_stress",
        bins=3,
    )
    assert table.shape == (3, 3)
    assert np.nansum(table.to_numpy() > 0) > 0
    argv = ["analyze", str(out), "heatmap", "--x", "parameters.stress_rise_per_day"]
    argv += ["--y", "events.blockade.fraction", "--where", "NKR.shortage_days>=25", "--bins", "3"]
    assert main_with(argv, monkeypatch) == 0
    capsys.readouterr()
    pngs = list(out.glob("heatmap_*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:4] == b"\x89PNG"
    grid = pd.read_csv(next(out.glob("heatmap_*.csv")), index_col=0)
    assert ((grid.to_numpy() >= 0) & (grid.to_numpy() <= 1) | np.isnan(grid.to_numpy())).all()
    argv = ["analyze", str(out), "heatmap", "--x", "parameters.stress_rise_per_day"]
    assert (
        main_with([*argv, "--y", "events.blockade.fractio", "-o", "NKR.peak_stress"], monkeypatch)
        == 2
    )
    assert "did you mean 'events.blockade.fraction'?" in capsys.readouterr().err


# ---------------------------------------------------------------------------- EMA Workbench


def test_ema_export_has_the_workbench_layout(sweeps: dict[str, Path], tmp_path: Path) -> None:
    path = export_ema(sweeps["explore"], tmp_path / "results.tar.gz")
    frame = load_sweep(sweeps["explore"])
    with tarfile.open(path, "r:gz") as archive:
        names = set(archive.getnames())
        metadata = json.loads(archive.extractfile("metadata.json").read())
        experiments = pd.read_csv(archive.extractfile("experiments.csv"))
        shortage = pd.read_csv(
            archive.extractfile("NKR_shortage_days.cls"), header=None
        ).to_numpy()[:, 0]
        stress = pd.read_csv(
            archive.extractfile("Nagorno_Karabakh_stress.csv"), header=None
        ).to_numpy()
        mapping = json.loads(archive.extractfile("corridors_names.json").read())
    assert {"experiments.csv", "metadata.json"} <= names
    assert metadata["version"] == 0.1
    assert metadata["experiments"] == {
        "parameters_stress_rise_per_day": "float64",
        "events_blockade_fraction": "float64",
        "scenario": "int64",
        "policy": "object",
        "model": "object",
    }
    outcomes = {name: (klass, file) for klass, name, file in metadata["outcomes"]}
    assert outcomes["NKR_shortage_days"] == ("ScalarOutcome", "NKR_shortage_days.cls")
    assert outcomes["NKR_first_shortage_date_day"] == (
        "ScalarOutcome",
        "NKR_first_shortage_date_day.cls",
    )
    assert outcomes["Nagorno_Karabakh_stress"] == ("ArrayOutcome", "Nagorno_Karabakh_stress.csv")
    assert all(file in names for _, file in outcomes.values())
    assert all(name.isidentifier() for name in [*outcomes, *experiments.columns])
    assert len(experiments) == len(shortage) == len(stress) == 18
    assert stress.shape[1] == 5  # steps 0, 15, 30, 45 and the last (60)
    assert experiments["model"].eq("lachin-2023").all() and experiments["policy"].eq("none").all()
    np.testing.assert_array_equal(shortage, frame["NKR.shortage_days"].to_numpy())
    assert mapping["NKR_shortage_days"] == "NKR.shortage_days"


def test_ema_workbench_reads_the_export(sweeps: dict[str, Path], tmp_path: Path) -> None:
    """Only where EMA Workbench is installed (it is not a dependency)."""
    ema = pytest.importorskip("ema_workbench")
    path = export_ema(sweeps["explore"], tmp_path / "results.tar.gz")
    experiments, outcomes = ema.load_results(str(path))
    assert len(experiments) == 18 and outcomes["NKR_shortage_days"].shape == (18,)


def test_ema_export_turns_dates_into_days(tmp_path: Path) -> None:
    spec = (
        "scenario: lachin-2023\ndays: 45\n"
        "parameters:\n  events.blockade.date: [2022-12-03, 2022-12-11]\n"
        "design: grid\noutcomes: [NKR.first_shortage_date, delivered_t]\n"
    )
    out = sweep_of(tmp_path, "dates", spec)
    path = export_ema(out, tmp_path / "dates.tar.gz")
    with tarfile.open(path, "r:gz") as archive:
        experiments = pd.read_csv(archive.extractfile("experiments.csv"))
        metadata = json.loads(archive.extractfile("metadata.json").read())
    # the scenario starts on 2022-12-01
    assert experiments["events_blockade_date_day"].tolist() == [2, 10]
    assert metadata["experiments"]["events_blockade_date_day"] == "int64"
    assert ["ScalarOutcome", "NKR_first_shortage_date_day", "NKR_first_shortage_date_day.cls"] in (
        metadata["outcomes"]
    )
    with tarfile.open(path, "r:gz") as archive:
        days = pd.read_csv(archive.extractfile("NKR_first_shortage_date_day.cls"), header=None)
    first = load_sweep(out)["NKR.first_shortage_date"]
    expected = (pd.to_datetime(first) - pd.Timestamp("2022-12-01")).dt.days
    assert days[0].tolist() == expected.tolist()
