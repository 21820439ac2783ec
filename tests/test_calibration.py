"""The scorecard: target roles, coverage over seeds, trajectories and windows, `corridors fit`.

Everything here runs on small synthetic scenarios (the template island), so the tests do not
depend on the numbers of the built-in historical scenarios, which other work recalibrates.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from corridors.analysis.calibration import (
    NEVER,
    NOT_READ,
    RunOutputs,
    check_targets,
    checks_pass,
    measure,
    scorecard,
    scored_targets,
)
from corridors.scenarios import ScenarioError, load_scenario
from corridors.scenarios.schema import Target

D = dt.date


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    cli = str(Path(sys.executable).parent / "corridors")
    return subprocess.run(
        [cli, *args], capture_output=True, text=True, timeout=900, check=False, cwd=cwd
    )


def _scenario(tmp_path: Path, targets: list[dict], name: str = "island") -> Path:
    """The template island (sea lane closed on 31 Jan 2025, a 40 t/day air bridge remains)."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"extends": "template", "targets": targets}), "utf-8")
    return path


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"role": "fit"}, "names the parameters fitted to it"),
        ({"role": "check", "fitted": ["parameters.capacity_noise_cv"]}, "only a 'fit' target"),
        ({"role": "construction"}, "names the inputs that set it"),
        ({"role": "guess"}, "role"),
        ({}, "role"),
        ({"role": "check", "coverage": 1.5}, "coverage"),
    ],
)
def test_every_target_declares_an_honest_role(tmp_path, target, message):
    base = {"name": "t", "metric": "ISL.shortage_days", "value": 1, **target}
    with pytest.raises(ScenarioError) as err:
        load_scenario(_scenario(tmp_path, [base]))
    assert message in err.value.report()


def test_trajectory_points_exclude_a_single_date(tmp_path):
    bad = {
        "name": "t",
        "role": "check",
        "metric": "series:displaced",
        "date": "2025-01-02",
        "points": [{"date": "2025-01-03", "value": 1}],
    }
    with pytest.raises(ScenarioError, match="points"):
        load_scenario(_scenario(tmp_path, [bad]))


def test_a_window_must_lie_within_the_simulated_days(tmp_path):
    late = {
        "name": "t",
        "role": "check",
        "metric": "series:air_bridge:carried_t",
        "window": {"start": "2025-03-01", "end": "2025-05-01"},  # the run's last day: 30 April
        "value": 1,
    }
    with pytest.raises(ScenarioError) as err:
        load_scenario(_scenario(tmp_path, [late]))
    assert "not within the simulated days" in err.value.report()
    backwards = {**late, "window": {"start": "2025-03-01", "end": "2025-02-01"}}
    with pytest.raises(ScenarioError, match="swap"):
        load_scenario(_scenario(tmp_path, [backwards]))


# --------------------------------------------------------------------------- metrics


def _run() -> RunOutputs:
    # series rows as a run labels them: step k is the end of day k, dated as the event log dates
    # it, so these are the ends of 1 … 5 January; step 0 (the state before the first day) is
    # dated the day before and is never read as a day
    days = [D(2024, 12, 31)] + [D(2025, 1, d) for d in range(1, 6)]
    series = pd.DataFrame(
        {
            "step": list(range(6)) * 2,
            "date": days * 2,
            "entity": ["air"] * 6 + ["ISL"] * 6,
            "variable": ["carried_t"] * 6 + ["received_t"] * 6,
            "value": [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 0.0, 20.0, 20.0, 60.0, 80.0, 100.0],
        }
    )
    events = pd.DataFrame(
        {
            "date": [D(2025, 1, 3), D(2025, 1, 4), D(2025, 1, 2)],
            "kind": ["shortage_start", "shortage_start", "event"],
            "subject": ["ISL", "MNL", "sea"],
        }
    )
    return RunOutputs({"x": 2.0, "fall_date": None, "end_date": "2025-01-07"}, series, events)


def _t(**kw) -> Target:
    return Target.model_validate({"name": "t", "role": "check", **kw})


def test_windows_shares_first_dates_and_events_are_read_from_the_run():
    run = _run()
    window = {"start": "2025-01-02", "end": "2025-01-04"}
    assert measure(_t(metric="series:air:carried_t", window=window, value=0), run) == 90
    share = _t(metric="series:air:carried_t", per="series:ISL:received_t", window=window, value=0)
    assert measure(share, run) == pytest.approx(90 / 160)
    # a one-day share reads both series on the same day
    day_share = _t(
        metric="series:air:carried_t", per="series:ISL:received_t", date="2025-01-05", value=0.5
    )
    assert measure(day_share, run) == pytest.approx(0.5)
    first = _t(metric="series:air:carried_t", reaches=30, date="2025-01-02")
    assert measure(first, run) == 1  # reached on 3 Jan, one day after the record's date
    assert measure(_t(metric="series:air:carried_t", reaches=99, date="2025-01-02"), run) == NEVER
    assert measure(_t(metric="event:shortage_start", date="2025-01-01"), run) == 2
    assert measure(_t(metric="event:shortage_start:MNL", date="2025-01-01"), run) == 3
    assert measure(_t(metric="event:fall", date="2025-01-01"), run) == NEVER
    assert measure(_t(metric="fall_date", date="2025-01-01"), run) == NEVER
    assert measure(_t(metric="end_date", date="2025-01-01"), run) == 6
    assert measure(_t(metric="x", value=2), run) == 2


def test_a_reading_after_the_run_ends_is_missing_not_the_last_day():
    run = _run()
    assert measure(_t(metric="series:air:carried_t", date="2025-01-05", value=50), run) == 50
    assert math.isnan(measure(_t(metric="series:air:carried_t", date="2025-01-09", value=5), run))


def test_a_series_is_read_relative_to_a_dated_outcome_of_the_run():
    """relative_to shifts the record's dates by how far the run's outcome falls from the
    record's: a pace after the fall tests the pace, not the fall's date."""
    base = _run()
    run = RunOutputs({**base.summary, "capitulation_date": "2025-01-02"}, base.series, base.events)
    anchor = {"metric": "capitulation_date", "date": "2025-01-10"}
    # the record's 12 Jan is two days after its fall: read the run two days after its fall (4 Jan)
    assert (
        measure(
            _t(metric="series:air:carried_t", date="2025-01-12", value=0, relative_to=anchor), run
        )
        == 40
    )
    window = {"start": "2025-01-11", "end": "2025-01-12"}  # → 3–4 Jan in the run
    assert (
        measure(_t(metric="series:air:carried_t", window=window, value=0, relative_to=anchor), run)
        == 70
    )
    # a run without the outcome gives no reading (its own target scores that), and it is not
    # read on the record's calendar instead
    missing = {"metric": "fall_date", "date": "2025-01-10"}
    assert (
        measure(
            _t(metric="series:air:carried_t", date="2025-01-12", value=0, relative_to=missing), run
        )
        == NOT_READ
    )
    # nor does a run whose fall comes so late that the reading falls after its last day
    last = base.series.date.max()
    late = RunOutputs(
        {**base.summary, "capitulation_date": (last - dt.timedelta(days=1)).isoformat()},
        base.series,
        base.events,
    )
    two_after = _t(metric="series:air:carried_t", date="2025-01-12", value=0, relative_to=anchor)
    assert measure(two_after, late) == NOT_READ
    assert (
        measure(_t(metric="series:air:carried_t", window=window, value=0, relative_to=anchor), late)
        == NOT_READ
    )
    # without relative_to, a date after the run's end is a miss, as before
    after_end = (last + dt.timedelta(days=3)).isoformat()
    assert math.isnan(measure(_t(metric="series:air:carried_t", date=after_end, value=0), run))
    with pytest.raises(ValueError, match="_date"):
        _t(
            metric="series:air:carried_t",
            date="2025-01-12",
            value=0,
            relative_to={"metric": "arrived", "date": "2025-01-10"},
        )


def test_relative_to_needs_a_series_metric(tmp_path):
    target = {
        "name": "r",
        "role": "check",
        "metric": "x",
        "value": 1,
        "relative_to": {"metric": "capitulation_date", "date": "2025-01-10"},
    }
    with pytest.raises(ScenarioError, match="relative_to"):
        check_targets(load_scenario(_scenario(tmp_path, [target])))


def test_a_trajectory_is_scored_point_by_point(tmp_path):
    target = {
        "name": "stock",
        "role": "check",
        "metric": "series:Islandia:food_t",
        "tolerance": 100,
        "points": [
            {"date": "2025-01-10", "value": 3000},
            {"date": "2025-02-20", "value": 1000, "tolerance": 5000},
        ],
    }
    sc = load_scenario(_scenario(tmp_path, [target]))
    scored = scored_targets(sc)
    assert [t.name for t in scored] == ["stock@2025-01-10", "stock@2025-02-20"]
    assert [t.tolerance for t in scored] == [100, 5000]
    assert all(t.role == "check" for t in scored)


# --------------------------------------------------------------------------- coverage


def _card(role: str, values: list[float], coverage: float = 0.8, **kw) -> pd.DataFrame:
    target = {"name": "t", "role": role, "metric": "x", "value": 0, "tolerance": 1, **kw}
    if role == "fit":
        target["fitted"] = ["parameters.capacity_noise_cv"]
    if role == "construction":
        target["set_by"] = ["flows.x"]
    sc = load_scenario("template").model_copy(
        update={"targets": [Target.model_validate({**target, "coverage": coverage})]}
    )
    return scorecard(sc, pd.DataFrame({"t": values}))


def test_a_target_passes_on_coverage_not_on_its_median():
    # median 0 (right on the record) but only 6 of 10 seeds within tolerance: a miss
    card = _card("check", [0, 0, 0, 0, 0, 0, 5, 5, 5, 5])
    row = card.iloc[0]
    assert row.model_median == "0" and row.coverage == 0.6 and row.misses == 4
    assert row.result == "miss"
    assert _card("check", [0] * 8 + [5, 5]).iloc[0].result == "pass"
    assert _card("check", [0] * 8 + [5, 5], coverage=0.9).iloc[0].result == "miss"


def test_an_event_that_never_happens_is_a_miss_and_is_counted():
    import datetime

    card = _card(
        "check",
        [0] * 7 + [NEVER] * 3,
        metric="offensive_date",
        date=datetime.date(2025, 1, 5),
        value=None,
    )
    row = card.iloc[0]
    assert (row.coverage, row.misses, row.never, row.result) == (0.7, 3, 3, "miss")
    assert row["model_95%"] == "never"


def test_a_relative_reading_is_scored_over_the_seeds_that_can_give_it():
    """A pace after the fall is scored where the fall happened in time to read it: the fall's
    own target already counts the seeds without it."""
    anchor = {"metric": "capitulation_date", "date": "2025-01-10"}
    kw = {"metric": "series:air:carried_t", "date": dt.date(2025, 1, 12), "relative_to": anchor}
    # 7 read, all within tolerance; 3 not read: a pass with 100% coverage over 7 of 10
    row = _card("check", [0] * 7 + [NOT_READ] * 3, **kw).iloc[0]
    assert (row.coverage, row.read, row.runs, row.misses, row.result) == (1.0, 7, 10, 0, "pass")
    assert row.model_median == "0" and row["model_5%"] == "0"
    # of the seeds read, 5 of 7 within: 71% < 80%, a miss
    row = _card("check", [0] * 5 + [5, 5] + [NOT_READ] * 3, **kw).iloc[0]
    assert (row.read, row.misses, row.result) == (7, 2, "miss")
    # read in fewer than half the seeds: a miss however well those few fit
    row = _card("check", [0] * 4 + [NOT_READ] * 6, **kw).iloc[0]
    assert (row.coverage, row.read, row.result) == (1.0, 4, "miss")
    assert _card("check", [0] * 5 + [NOT_READ] * 5, **kw).iloc[0].result == "pass"


def test_only_checks_decide_the_verdict():
    missed_fit = _card("fit", [9] * 10)
    missed_construction = _card("construction", [9] * 10)
    passed_check = _card("check", [0] * 10)
    assert not checks_pass(_card("check", [9] * 10))
    assert checks_pass(pd.concat([missed_fit, missed_construction, passed_check]))


@given(
    within=st.integers(0, 40),
    outside=st.integers(0, 40),
    never=st.integers(0, 10),
    coverage=st.floats(0.05, 1.0),
)
def test_pass_means_at_least_the_coverage_share_of_seeds_within(within, outside, never, coverage):
    values = [0.5] * within + [3.0] * outside + [NEVER] * never
    if not values:
        return
    row = _card("check", values, coverage=coverage).iloc[0]
    assert row.misses == outside + never and row.never == never
    assert (row.result == "pass") == (within / len(values) >= coverage - 1e-12)


# --------------------------------------------------------------------------- the command

CHECK_OK = {
    "name": "first_shortage",
    "role": "check",
    "metric": "ISL.first_shortage_date",
    "date": "2025-03-18",
    "tolerance": 20,
    "source": "synthetic",
}
FIT_MISS = {
    "name": "air_tonnes",
    "role": "fit",
    "fitted": ["links.air_bridge.capacity_t_per_day"],
    "metric": "series:air_bridge:carried_t",
    "window": {"start": "2025-02-10", "end": "2025-03-11"},
    "value": 1800,
    "tolerance": 100,
    "source": "synthetic",
}
BUILT = {
    "name": "food_before",
    "role": "construction",
    "set_by": ["flows.food_to_islandia.quantity_t_per_day"],
    "metric": "series:Islandia:received_food_t",
    "date": "2025-01-20",
    "value": 80,
    "tolerance": 20,
}


def test_calibrate_exits_zero_when_every_check_passes_even_if_a_fit_misses(tmp_path):
    path = _scenario(tmp_path, [CHECK_OK, FIT_MISS, BUILT])
    out = tmp_path / "card"
    proc = _cli("calibrate", str(path), "--seeds", "3", "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checks: 1 of 1 pass" in proc.stdout and "1 of 1 pass" in proc.stdout
    assert "seeds: 3/3" in proc.stderr  # progress
    card = (out / "island.md").read_text("utf-8")
    for heading in ("## Checks", "## Fitted targets (in sample)", "## By construction"):
        assert heading in card
    csv = pd.read_csv(out / "island.csv")
    assert dict(zip(csv.target, csv.result, strict=True)) == {
        "first_shortage": "pass",
        "air_tonnes": "miss",
        "food_before": "pass",
    }


def test_calibrate_exits_one_when_a_check_misses_or_there_is_none(tmp_path):
    late = {**CHECK_OK, "date": "2025-01-05", "tolerance": 2}
    proc = _cli("calibrate", str(_scenario(tmp_path, [late])), "--seeds", "2", "--workers", "1")
    assert proc.returncode == 1
    assert "checks missed: first_shortage" in proc.stderr
    only_fit = _scenario(tmp_path, [FIT_MISS], name="fit-only")
    proc = _cli("calibrate", str(only_fit), "--seeds", "2", "--workers", "1")
    assert proc.returncode == 1 and "nothing here is evidence" in proc.stderr


def test_calibrate_refuses_unreadable_targets_with_exit_two(tmp_path):
    bad = {**CHECK_OK, "metric": "series:a:b:c"}
    proc = _cli("calibrate", str(_scenario(tmp_path, [bad])))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "series:VARIABLE" in proc.stderr
    proc = _cli("calibrate", "template")
    assert proc.returncode == 2 and "no targets" in proc.stderr


# --------------------------------------------------------------------------- fit


def test_fit_tunes_only_the_fit_targets_writes_an_overlay_the_loader_applies(tmp_path):
    path = _scenario(tmp_path, [CHECK_OK, FIT_MISS, BUILT])
    args = [
        "fit",
        str(path),
        "--param",
        "links.air_bridge.capacity_t_per_day=20:100",
        "--seeds",
        "2",
        "--maxiter",
        "3",
        "--popsize",
        "4",
        "--workers",
        "1",
    ]
    proc = _cli(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "generation: 1/3" in proc.stderr  # progress
    overlay_path = tmp_path / "fitted" / "island.yaml"
    overlay = yaml.safe_load(overlay_path.read_text("utf-8"))
    assert overlay["targets"] == ["air_tonnes"]  # the check and construction are not fitted to
    assert overlay["seeds"] == 2 and overlay["seed"] == 0 and overlay["evaluations"] > 0
    assert "differential_evolution" in overlay["optimiser"] and overlay["command"]
    assert [c["target"] for c in overlay["checks"]] == ["first_shortage"]
    fitted = overlay["parameters"]["links.air_bridge.capacity_t_per_day"]
    assert fitted["start"] == 40 and 20 <= fitted["value"] <= 100
    # ~1,800 t over 30 days needs ~60 t/day: the fit moves toward it from 40
    assert abs(fitted["value"] - 60) < 15

    sc = load_scenario(path)
    assert sc.links[[link.name for link in sc.links].index("air_bridge")].capacity_t_per_day == (
        pytest.approx(fitted["value"])
    )
    assert sc._provenance.fitted == str(overlay_path)
    raw = load_scenario(path, fitted=False)
    assert raw.links[[link.name for link in raw.links].index("air_bridge")].capacity_t_per_day == 40

    # deterministic given its seed
    first = overlay["parameters"]
    overlay_path.unlink()
    again = _cli(*args)
    assert again.returncode == 0
    assert yaml.safe_load(overlay_path.read_text("utf-8"))["parameters"] == first

    # the scorecard then says what was fitted
    card = _cli("calibrate", str(path), "--seeds", "2", "--workers", "1", "--out", str(tmp_path))
    assert "Fitted values from `island.yaml`" in (tmp_path / "island.md").read_text("utf-8")
    assert card.returncode == 0


def test_fit_refuses_a_parameter_no_fit_target_declares(tmp_path):
    path = _scenario(tmp_path, [CHECK_OK, FIT_MISS])
    proc = _cli("fit", str(path), "--param", "parameters.capacity_noise_cv=0.01:0.2")
    assert proc.returncode == 2 and "no fit target lists this parameter" in proc.stderr
    proc = _cli("fit", str(_scenario(tmp_path, [CHECK_OK], name="checks-only")))
    assert proc.returncode == 2 and "nothing to fit to" in proc.stderr
    proc = _cli("fit", str(path), "--param", "links.air_bridge.capacity_t_per_day=9")
    assert proc.returncode == 2 and "LOW:HIGH" in proc.stderr


def test_a_broken_overlay_is_a_clear_error(tmp_path):
    path = _scenario(tmp_path, [CHECK_OK])
    (tmp_path / "fitted").mkdir()
    (tmp_path / "fitted" / "island.yaml").write_text("scenario: island\nloss: high\n", "utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "island.yaml" in err.value.report()


def test_loss_counts_never_as_the_cap():
    from corridors.analysis.fit import LOSS_CAP, loss_of

    target = Target.model_validate(
        {
            "name": "t",
            "role": "fit",
            "fitted": ["p"],
            "metric": "x",
            "value": 10,
            "tolerance": 2,
        }
    )
    sc = load_scenario("template").model_copy(update={"targets": [target]})
    assert loss_of(sc, pd.DataFrame({"t": [10.0, 12.0]})) == pytest.approx(0.5)
    assert loss_of(sc, pd.DataFrame({"t": [NEVER, np.nan]})) == LOSS_CAP
    # seeds that cannot give a relative reading are left out, as the scorecard leaves them out
    assert loss_of(sc, pd.DataFrame({"t": [10.0, 12.0, NOT_READ, NOT_READ]})) == pytest.approx(0.5)
    # read in fewer than half of the seeds: as bad as a miss everywhere
    assert loss_of(sc, pd.DataFrame({"t": [10.0, NOT_READ, NOT_READ]})) == LOSS_CAP
