import datetime as dt

from corridors import ConflictModel, load_scenario, run_scenario


def test_public_api_runs_default_scenario(lachin_result):
    # the run covers the scenario's whole calendar: the series has a row for every day
    summary, series = lachin_result.summary, lachin_result.series
    calendar = lachin_result.scenario.calendar
    assert summary["days"] == calendar.n_days
    assert sorted(series["step"].unique()) == list(range(calendar.n_days + 1))  # day 0: start
    # one day numbering: step k is day k, dated start + k − 1, in the series as in the event log
    assert str(series["date"].max()) == str(calendar.start + dt.timedelta(calendar.n_days - 1))
    series_dates = dict(zip(series["step"], series["date"], strict=False))
    assert series_dates[0] == calendar.start - dt.timedelta(days=1)
    events = lachin_result.events
    assert len(events) > 10
    for step, date in zip(events["step"], events["date"], strict=True):
        assert str(series_dates[step]) == str(date), (step, date)
    flows = lachin_result.flows.drop_duplicates("step")
    for step, date in zip(flows["step"], flows["date"], strict=True):
        assert str(series_dates[step]) == str(date), (step, date)
    assert lachin_result.summary["conservation_residual_t"] < 1e-6
    assert {"step", "date", "entity", "variable", "value"} <= set(lachin_result.series.columns)


def test_model_steps_by_hand_and_dates_advance():
    model = ConflictModel(scenario="lachin-2023", rng=3)
    start = model.date
    for _ in range(5):
        model.step()
    assert (model.date - start).days == 5
    assert model.today.isoformat() == "2022-12-05"


def test_loaded_scenario_can_be_passed_to_run():
    sc = load_scenario("lachin-2023", overrides={"parameters.capacity_noise_cv": 0.0})
    result = run_scenario(sc, seed=0, days=10)
    assert result.summary["days"] == 10
    assert result.series["step"].max() == 10  # ten days simulated, not just reported
    assert result.scenario.parameters.capacity_noise_cv == 0.0
