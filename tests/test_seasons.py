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
