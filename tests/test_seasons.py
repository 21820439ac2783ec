"""Seasonal links: usable only in yearly windows, opened and closed by logged events."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from corridors import run_scenario
from corridors.model.events import seasonal_events
from corridors.scenarios import ScenarioError, load_scenario


def _island(tmp_path, seasons, start="2025-01-01", days=120, events=None):
    doc = {
        "extends": "template",
        "calendar": {"start": start, "days": days},
        "parameters": {"capacity_noise_cv": 0.0},
        "links": [{"name": "air_bridge", "seasons": seasons}],
    }
    if events is not None:
        doc["events"] = events
    path = tmp_path / "seasonal.yaml"
    path.write_text(yaml.safe_dump(doc), "utf-8")
    return path


def _capacity(result, link="air_bridge"):
    """Capacity used on each day (a series row dated D holds the end of day D; step 0 is the
    state before the first day)."""
    s = result.series
    rows = s[(s.entity == link) & (s.variable == "capacity_t") & (s.step > 0)]
    return dict(zip(rows.date, rows.value, strict=True))


def test_a_link_is_usable_only_in_its_season_at_the_seasons_capacity(tmp_path):
    path = _island(
        tmp_path, [{"opens": "02-10", "closes": "03-20", "capacity_t_per_day": 70}], events=[]
    )
    result = run_scenario(path, seed=0, record_flows=False)
    capacity = _capacity(result)
    assert capacity[dt.date(2025, 2, 9)] == 0
    assert capacity[dt.date(2025, 2, 10)] == pytest.approx(70)
    assert capacity[dt.date(2025, 3, 19)] == pytest.approx(70)
    assert capacity[dt.date(2025, 3, 20)] == 0
    log = result.events[result.events.subject == "air_bridge"]
    assert list(log.message.str.contains("season")) == [True] * len(log) and len(log) == 3


def test_a_season_across_the_new_year_repeats_every_year(tmp_path):
    sc = load_scenario(
        _island(tmp_path, [{"opens": "11-22", "closes": "04-25"}], start="2024-10-01", days=600)
    )
    events = seasonal_events(sc, dt.date(2024, 10, 1), dt.date(2026, 5, 24))
    opened = [e.date for e in events if e.action == "open_link"]
    closed = [e.date for e in events if e.action == "close_link"]
    assert opened == [dt.date(2024, 11, 22), dt.date(2025, 11, 22)]
    assert closed == [dt.date(2024, 10, 1), dt.date(2025, 4, 25), dt.date(2026, 4, 25)]
    # starting inside a season: open from the first day, no closing event then
    inside = seasonal_events(sc, dt.date(2025, 1, 1), dt.date(2025, 6, 1))
    assert [(e.action, e.date) for e in inside] == [("close_link", dt.date(2025, 4, 25))]


def test_a_scripted_event_on_a_seasonal_day_comes_after_the_season(tmp_path):
    closure = {"date": "2025-02-10", "action": "close_link", "link": "air_bridge"}
    path = _island(tmp_path, [{"opens": "02-10", "closes": "03-20"}], events=[closure])
    capacity = _capacity(run_scenario(path, seed=0, record_flows=False))
    assert capacity[dt.date(2025, 2, 10)] == 0  # the scripted closure wins


@pytest.mark.parametrize(
    ("season", "message"),
    [
        ({"opens": "02-30", "closes": "03-01"}, "not a day of the year"),
        ({"opens": "13-01", "closes": "03-01"}, "opens"),
        ({"opens": "03-01", "closes": "03-01"}, "same day"),
    ],
)
def test_bad_seasons_are_clear_errors(tmp_path, season, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_island(tmp_path, [season]))
    assert message in err.value.report()


# Capacity schedules: dated steps of a link's capacity, given in t/day or as a fleet.


def _scheduled(tmp_path, schedule, seasons=None, start="2025-01-01", days=60):
    link = {"name": "air_bridge", "capacity_schedule": schedule}
    if seasons is not None:
        link["seasons"] = seasons
    doc = {
        "extends": "template",
        "calendar": {"start": start, "days": days},
        "parameters": {"capacity_noise_cv": 0.0},
        "links": [link],
        "events": [],
    }
    path = tmp_path / "scheduled.yaml"
    path.write_text(yaml.safe_dump(doc), "utf-8")
    return path


def test_a_capacity_schedule_steps_the_capacity_on_its_dates(tmp_path):
    # 60 lorries × 1.5 t × 1 trip = 90 t/day from 10 Jan; 25 t/day from 1 Feb
    schedule = [
        {"date": "2025-01-10", "vehicles": 60, "payload_t": 1.5, "trips_per_day": 1},
        {"date": "2025-02-01", "capacity_t_per_day": 25, "source": "a report"},
    ]
    path = _scheduled(tmp_path, schedule)
    nominal = load_scenario(path).link("air_bridge").capacity_t_per_day
    result = run_scenario(path, seed=0, record_flows=False)
    capacity = _capacity(result)
    assert capacity[dt.date(2025, 1, 9)] == pytest.approx(nominal)
    assert capacity[dt.date(2025, 1, 10)] == pytest.approx(90)
    assert capacity[dt.date(2025, 1, 31)] == pytest.approx(90)
    assert capacity[dt.date(2025, 2, 1)] == pytest.approx(25)
    log = result.events[result.events.subject == "links.air_bridge.capacity_t_per_day"]
    assert log.message.str.contains("60 vehicles × 1.5 t × 1 trips a day").sum() == 1
    assert list(log.origin) == ["scenario", "record"]  # only the second step has a source


def test_a_step_before_the_start_applies_from_the_first_day_and_later_ones_are_dropped(tmp_path):
    schedule = [
        {"date": "2024-12-01", "capacity_t_per_day": 10},
        {"date": "2024-12-20", "capacity_t_per_day": 30},
        {"date": "2025-06-01", "capacity_t_per_day": 99},
    ]
    sc = load_scenario(_scheduled(tmp_path, schedule))
    from corridors.model.events import capacity_schedule_events

    events = capacity_schedule_events(sc, dt.date(2025, 1, 1), dt.date(2025, 3, 2))
    assert [(e.date, e.value) for e in events] == [(dt.date(2025, 1, 1), 30)]


def test_a_step_on_a_seasons_opening_day_wins_over_the_seasons_capacity(tmp_path):
    seasons = [{"opens": "01-10", "closes": "02-20", "capacity_t_per_day": 70}]
    schedule = [{"date": "2025-01-10", "capacity_t_per_day": 40}]
    capacity = _capacity(
        run_scenario(_scheduled(tmp_path, schedule, seasons), seed=0, record_flows=False)
    )
    assert capacity[dt.date(2025, 1, 9)] == 0
    assert capacity[dt.date(2025, 1, 10)] == pytest.approx(40)
    assert capacity[dt.date(2025, 2, 20)] == 0


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ([{"date": "2025-01-10", "vehicles": 60, "payload_t": 1.5}], "missing: trips_per_day"),
        (
            [{"date": "2025-01-10", "capacity_t_per_day": 5, "vehicles": 3}],
            "not both",
        ),
        ([{"date": "2025-01-10"}], "needs capacity_t_per_day"),
        (
            [
                {"date": "2025-01-10", "capacity_t_per_day": 5},
                {"date": "2025-01-03", "capacity_t_per_day": 6},
            ],
            "date order",
        ),
        ([{"date": "2025-01-10", "capacity_t_per_day": -5}], "capacity_t_per_day"),
    ],
)
def test_bad_capacity_schedules_are_clear_errors(tmp_path, schedule, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_scheduled(tmp_path, schedule))
    assert message in err.value.report()
