"""The built-in scenario library, its variants, the authoring guide's worked example, and the
calibration scorecard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from corridors import load_scenario, run_scenario
from corridors.scenarios import builtin_names, variant_names

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_library_has_the_scenarios_the_project_promises():
    names = set(builtin_names())
    assert {"lachin-2023", "karabakh-2020", "zangezur", "template", "berlin-1948"} <= names
    assert {"no-israeli-arms", "russia-holds-lachin", "airspace-denied", "no-blockade"} <= set(
        variant_names("lachin-2023")
    )


@pytest.mark.parametrize("name", builtin_names())
def test_every_built_in_scenario_and_variant_runs(name):
    sc = load_scenario(name)
    assert sc.meta.title and sc.meta.description
    if name != "template":
        assert sc.meta.briefing and sc.meta.questions and sc.meta.things_to_try
    result = run_scenario(sc, seed=3, record_flows=False)
    assert result.summary["days"] == sc.calendar.n_days
    assert result.summary["conservation_residual_t"] < 1e-6
    for variant in variant_names(name):
        varied = run_scenario(name, seed=3, variants=[variant], record_flows=False)
        assert varied.summary["variants"] == variant


SUGGESTION = re.compile(r"--(set|variant) ([^\s;,()]+)")


@pytest.mark.parametrize("name", builtin_names())
def test_every_suggested_change_loads_and_changes_the_scenario(name):
    """A 'thing to try' that a student copies must work and must change something: an override
    of a value that dated events or a capacity schedule replace is refused, not ignored. The
    options of one clause (up to a ';') go together, as on one command line."""
    base = load_scenario(name).model_dump(mode="json")
    for text in load_scenario(name).meta.things_to_try:
        for clause in text.split(";"):
            found = SUGGESTION.findall(clause)
            if not found:
                continue
            variants = [arg for kind, arg in found if kind == "variant"]
            overrides = {
                path: yaml.safe_load(value)
                for kind, arg in found
                if kind == "set"
                for path, value in [arg.split("=", 1)]
            }
            sc = load_scenario(name, variants=variants, overrides=overrides)
            assert sc.model_dump(mode="json") != base, f"{name}: '{clause}' changes nothing"


def test_an_override_that_dated_events_or_a_schedule_replace_is_refused():
    from corridors.scenarios import ScenarioError

    with pytest.raises(ScenarioError, match=r"air_july \(1948-07-01\).*events\.air_july\.value"):
        load_scenario("berlin-1948", overrides={"links.air_corridors.capacity_t_per_day": 1000})
    with pytest.raises(ScenarioError, match=r"capacity_schedule\.0\.vehicles"):
        load_scenario("leningrad-1941", overrides={"links.ice_road.capacity_t_per_day": 5000})
    # what the messages suggest works
    berlin = load_scenario("berlin-1948", overrides={"events.air_july.value": 1000})
    assert [ev.value for ev in berlin.events if ev.name == "air_july"] == [1000]
    unscheduled = load_scenario(
        "leningrad-1941",
        overrides={
            "links.ice_road.capacity_schedule": [],
            "links.ice_road.capacity_t_per_day": 5000,
        },
    )
    assert unscheduled.link("ice_road").capacity_t_per_day == 5000


def test_historical_scenarios_cite_a_source_for_their_numbers():
    for name in ("lachin-2023", "karabakh-2020"):
        sc = load_scenario(name)
        assert sc.meta.sources
        cited = sc.cited_sources()
        assert len(cited) >= 15
        assert any(path.startswith("states[") and ".military" in path for path, _, _ in cited)
        # every source names where it comes from, or says it is an assumption
        assert all(text.strip() for _, _, text in cited)
        assert all(t.source for t in sc.targets)


def test_zangezur_corridor_reroutes_traffic_and_raises_iranian_tension():
    base = run_scenario("zangezur", seed=1).summary
    none = run_scenario("zangezur", seed=1, variants=["no-corridor"]).summary
    assert base["link.zangezur_rail.carried_t"] > 0
    assert none["link.zangezur_rail.carried_t"] == 0
    assert none["link.aras_road_via_iran.carried_t"] > base["link.aras_road_via_iran.carried_t"]
    assert base["peak_tension.Iran->Azerbaijan"] > none["peak_tension.Iran->Azerbaijan"]


def test_karabakh_2020_ends_in_a_russian_ceasefire_with_peacekeepers():
    result = run_scenario("karabakh-2020", seed=0, record_flows=False)
    s = result.summary
    assert s["offensive_date"] == "2020-09-27"
    assert s["ceasefire_date"] is not None and s["capitulation_date"] is None
    assert 39 <= s["days_of_fighting"] <= 49
    log = " ".join(result.events.message)
    assert "deploys 1,960 peacekeepers" in log


def test_berlin_airlift_keeps_the_city_fed_and_undefeated():
    s = run_scenario("berlin-1948", seed=1, record_flows=False).summary
    assert s["offensive_date"] is None
    assert s["WB.food_t.final"] > 0
    assert 0 < s["WB.peak_stress"] < 0.5


# --------------------------------------------------------------------------- authoring guide


def _worked_example_yaml() -> str:
    text = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    section = text.split("## A worked example", 1)[1].split("\n## ", 1)[0]
    return "".join(re.findall(r"```yaml\n(.*?)```", section, flags=re.S))


def test_the_guides_worked_example_builds_the_built_in_scenario(tmp_path):
    path = tmp_path / "berlin-from-the-guide.yaml"
    path.write_text(_worked_example_yaml(), encoding="utf-8")
    from_guide = load_scenario(path)
    built_in = load_scenario("berlin-1948")
    assert from_guide.model_dump() == built_in.model_dump()
    result = run_scenario(path, seed=1, record_flows=False)
    assert result.summary["WB.shortage_days"] > 0


def test_a_new_scenario_written_from_the_guide_alone(tmp_path):
    """A scenario using only fields the guide documents: a strait closed by a neighbour."""
    doc = {
        "meta": {"title": "Strait", "description": "A strait closure"},
        "calendar": {"start": "2030-01-01", "days": 60},
        "states": [
            {"name": "Exporter", "code": "EXP", "lat": 26, "lon": 50},
            {
                "name": "Importer",
                "code": "IMP",
                "lat": 35,
                "lon": 139,
                "population": 1e6,
                "stocks": {"fuel": {"initial_t": 5000, "consumption_t_per_day": 300}},
            },
            {"name": "Coast", "code": "CST", "lat": 27, "lon": 56},
        ],
        "links": [
            {
                "name": "strait",
                "mode": "sea",
                "a": "Exporter",
                "b": "Importer",
                "crosses": ["Coast"],
                "capacity_t_per_day": 5000,
                "transit_days": 20,
            },
            {
                "name": "pipeline_bypass",
                "mode": "pipeline",
                "a": "Exporter",
                "b": "Importer",
                "carries": ["oil", "fuel"],
                "capacity_t_per_day": 100,
                "transit_days": 25,
            },
        ],
        "flows": [
            {
                "name": "fuel",
                "commodity": "fuel",
                "origin": "Exporter",
                "destination": "Importer",
                "quantity_t_per_day": 300,
            }
        ],
        "events": [
            {"date": "2030-01-10", "action": "deny_transit", "state": "Coast", "to": "Importer"}
        ],
    }
    path = tmp_path / "strait.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = run_scenario(path, seed=0)
    assert result.summary["IMP.shortage_days"] > 0
    assert (result.events.kind == "reroute").any()


# --------------------------------------------------------------------------- calibration


def test_built_in_targets_say_honestly_what_was_fitted_and_what_is_construction():
    roles = {
        name: {t.name: (t.role, tuple(t.fitted)) for t in load_scenario(name).targets}
        for name in ("lachin-2023", "karabakh-2020")
    }
    lachin, karabakh = roles["lachin-2023"], roles["karabakh-2020"]
    for name in ("offensive", "capitulation_within_days", "exodus"):
        assert lachin[name][0] == "fit" and lachin[name][1], name
    assert lachin["traffic_before_blockade"][0] == "construction"
    assert lachin["israeli_share_of_arms"][0] == "construction"
    assert karabakh["israeli_share_of_arms"][0] == "construction"
    # the 2020 war's start is given: its length and end are fitted, not checked
    assert karabakh["war_duration"][0] == karabakh["ceasefire"][0] == "fit"
    # every fitted path names a real field of its scenario
    from corridors.analysis.fit import read_path

    for name in builtin_names():
        sc = load_scenario(name)
        for target in sc.targets:
            for path in target.fitted:
                assert isinstance(read_path(sc, path), int | float), (name, path)


def test_model_document_lists_every_parameter_with_its_default():
    from corridors.scenarios.schema import Parameters

    text = (DOCS / "model.md").read_text(encoding="utf-8")
    assert "not a forecast" in text
    for heading in ("# Overview", "# Design concepts", "# Details", "## Submodels"):
        assert heading in text
    for name in Parameters.model_fields:
        if name != "sources":
            assert f"| `{name}` |" in text, name
