"""set_parameter events: what they may change, checked when the scenario loads."""

from __future__ import annotations

import pytest

from corridors import ConflictModel, ScenarioError, load_scenario


def _with_event(path: str, value: object) -> dict:
    return {
        "events": [{"date": "2023-01-10", "action": "set_parameter", "path": path, "value": value}]
    }


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("calendar.days", 3, "an event cannot change 'calendar'"),
        ("links.lachin", {"name": "x"}, "name one field of the item"),
        ("links.lachin.name", "other", "'name' cannot change during a run"),
        ("states.NKR.code", "XYZ", "'code' cannot change during a run"),
        ("links.lachin.status", "throttled", "would make the scenario invalid"),
        ("parameters.stress_rise_per_day", 7, "parameters.stress_rise_per_day"),
    ],
)
def test_bad_set_parameter_events_fail_at_load(path, value, fragment):
    with pytest.raises(ScenarioError) as info:
        load_scenario("lachin-2023", overrides=_with_event(path, value))
    assert fragment in str(info.value)
    assert "events[0]" in str(info.value)


def test_parameter_change_does_not_recompute_routes():
    # the override replaces the scenario's events: only the parameter change remains
    model = ConflictModel(
        "lachin-2023",
        rng=1,
        overrides=_with_event("parameters.stress_rise_per_day", 0.05),
    )
    version = model.network_version
    while model.today.isoformat() < "2023-01-11":
        model.step()
    assert model.spec.parameters.stress_rise_per_day == 0.05
    assert model.network_version == version
    model.intervene({"action": "close_link", "link": "lachin"})
    assert model.network_version == version + 1


def test_every_action_of_the_schema_has_a_handler():
    from corridors.model.events import HANDLERS
    from corridors.scenarios.schema import ACTIONS

    assert set(HANDLERS) == set(ACTIONS)
