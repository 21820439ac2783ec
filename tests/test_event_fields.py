"""Every event path works: for every field a ``set_parameter`` event can set, changing it on the
first day changes what the model does (or the field is listed below with the reason it cannot
act in this world). A field an event sets that nothing reads is a silent no-op: the bug class of
"set_parameter on a guarantee's personnel is logged but has no effect"."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from corridors import ConflictModel
from corridors.analysis.run import summarise
from corridors.scenarios import schema

WORLD: dict[str, Any] = {
    "meta": {"title": "every field"},
    "calendar": {"start": "2024-01-01", "days": 60},
    "parameters": {
        "decision_noise_sd": 0.05,
        "credibility_decay_per_day": 0.05,
        "capacity_noise_cv": 0.1,
        "procurement_interval_days": 10,
        "tension_per_kt_rival_arms": 0.5,
        "flight_share_in_war": 0.1,
    },
    "states": [
        {
            "name": "Red",
            "code": "RED",
            "lat": 0,
            "lon": 0,
            "relations": {"Yellow": 0.8, "Blue": -0.9},
            "economy": {
                "revenue_usd_m_per_day": 10,
                "defence_share": 0.2,
                "procurement_share": 0.5,
                "arms_budget_usd_m": 5,
            },
            "military": {
                "personnel": 10000,
                "quality": 1.5,
                "quality_per_kt_arms": 20,
                "arms_required_t": 60,
            },
            "stocks": {"arms": {"initial_t": 30}},
            "claims": [
                {
                    "target": "Blue",
                    "rule": "hazard",
                    "threshold": 3.0,
                    "resolve": 0.35,
                    "hazard_max_per_day": 0.2,
                    "hazard_steepness": 3.0,
                    "deterrence_steepness": 10.0,
                    "stress_weight": 0.5,
                    "window_bonus": 0.5,
                    "demands_corridor": "a corridor",
                }
            ],
        },
        {
            "name": "Blue",
            "code": "BLU",
            "role": "de_facto",
            "lat": 0,
            "lon": 1,
            "population": 1000,
            "patron": "Green",
            "relations": {"Green": 0.9},
            "military": {"personnel": 2500, "quality": 1.0, "terrain": 1.5, "break_point": 0.6},
            "stocks": {
                "food": {"initial_t": 20, "consumption_t_per_day": 10, "storage_t": 30,
                         "local_production_t_per_day": 2},
                "fuel": {"initial_t": 10, "consumption_t_per_day": 5},
                "medicine": {"initial_t": 5, "consumption_t_per_day": 1},
            },
        },
        {
            "name": "Green",
            "code": "GRN",
            "lat": 0,
            "lon": 2,
            "population": 5000,
            "relations": {"Blue": 0.9, "Red": -0.6, "Yellow": -0.6},
            "guarantees": [
                {
                    "protects": "Blue",
                    "links": ["road"],
                    "personnel": 100,
                    "commitment": 0.6,
                    "credibility": 1.0,
                    "ceasefire_below_share": 0.3,
                    "peacekeepers_on_ceasefire": 50,
                    "escort_fraction": 0.2,
                    "withdraw_below_credibility": 0.3,
                }
            ],
        },
        {
            "name": "Yellow",
            "code": "YEL",
            "lat": 1,
            "lon": 0,
            "relations": {"Red": 0.8},
            "arms_supplier": {"max_delivery_t_per_day": 2, "price_usd_m_per_t": 1.0},
        },
        {
            "name": "Grey",
            "code": "GRY",
            "lat": 1,
            "lon": 1,
            "relations": {"Yellow": -0.9},
            "opposes_border_change": 0.2,
            "threatens": {"Red": 0.05},
            "initial_tension": {"Red": 0.1},
            "responses": [
                {"toward": "Red", "level": 0.3, "action": "exercise", "threat": 0.2,
                 "deters": ["late_closure"]},
                {"toward": "Yellow", "level": 0.3, "action": "deny_transit", "goods": ["arms"]},
            ],
        },
    ],
    "links": [
        {"name": "road", "mode": "road", "a": "Blue", "b": "Green", "capacity_t_per_day": 40,
         "capacity_people_per_day": 200, "transit_days": 1, "controlled_by": "Green",
         "length_km": 50},
        {"name": "air", "mode": "air", "a": "Yellow", "b": "Red", "crosses": ["Grey"],
         "capacity_t_per_day": 5, "transit_days": 0, "loss_rate": 0.1},
        {"name": "front", "mode": "road", "a": "Red", "b": "Blue", "capacity_t_per_day": 10,
         "status": "closed", "changes_borders": True},
    ],
    "flows": [
        {"name": "food", "commodity": "food", "origin": "Green", "destination": "Blue",
         "quantity_t_per_day": 8, "priority": 1},
        {"name": "fuel", "commodity": "fuel", "origin": "Green", "destination": "Blue",
         "quantity_t_per_day": 6, "priority": 2, "end": "2024-02-20"},
        {"name": "medicine", "commodity": "medicine", "origin": "Green", "destination": "Blue",
         "quantity_t_per_day": 1, "priority": 5, "start": "2024-01-01"},
    ],
    "events": [
        {"name": "siege", "date": "2024-01-10", "action": "throttle_link", "link": "road",
         "fraction": 0.2},
        {"name": "late_closure", "date": "2024-02-15", "action": "close_link", "link": "road"},
    ],
}  # fmt: skip

INERT: dict[str, str] = {
    "meta": "text",
    "sources": "citations, not numbers the model reads",
    "name": "an identifier; events cannot rename",
    "code": "an identifier; events cannot recode",
    "lat": "map position only",
    "lon": "map position only",
    "states.Red.stocks.arms.initial_t": "a start value; the running stock is the model's",
    "states.Blue.stocks.food.initial_t": "a start value; the running stock is the model's",
    "states.Blue.stocks.fuel.initial_t": "a start value; the running stock is the model's",
    "states.Blue.stocks.medicine.initial_t": "a start value; the running stock is the model's",
    "states.Red.economy.arms_budget_usd_m": "a start value; the running budget is the model's",
    "states.Red.claims.0.initial_offer": "bargaining rule only (this claim uses the hazard rule)",
    "states.Red.claims.0.offer_adjust_per_day": "bargaining rule only",
    "states.Red.claims.0.war_cost": "bargaining rule only",
    "states.Red.claims.0.credible_offer": "bargaining rule only",
    "states.Red.claims.0.horizon_days": "bargaining rule only",
    "states.Red.claims.0.earliest": "dates are not varied here",
    "states.Red.claims.0.demands_corridor": "text of the demand (logged after a fall)",
    "states.Blue.role": "a label",
    "states.Red.role": "a label",
    "links.road.length_km": "descriptive (routes use transit days)",
    "links.air.length_km": "descriptive",
    "links.front.length_km": "descriptive",
    "links.road.bidirectional": "flows here go one way along it",
    "states.Grey.responses.0.note": "text",
    "states.Grey.responses.1.note": "text",
    "parameters.stress_alert_levels": "log thresholds only",
    "parameters.oil_price_usd_per_t": "no oil in this world",
    "parameters.combat_law": "covered by tests/test_war.py (enum flip needs a war)",
}
"""Fields an event can set that cannot act in this world, and why."""


def _leaves(model: BaseModel, prefix: str) -> list[tuple[str, Any, Any]]:
    """(path, current value, annotation) of every scalar field under a scenario object."""
    out = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{prefix}.{name}"
        if name in INERT or path in INERT:
            continue
        if isinstance(value, BaseModel):
            out.extend(_leaves(value, path))
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for i, item in enumerate(value):
                out.extend(_leaves(item, f"{path}.{i}"))
        elif (
            isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel)
        ):
            for key, item in value.items():
                out.extend(_leaves(item, f"{path}.{key}"))
        elif isinstance(value, bool | int | float | enum.Enum) and not isinstance(value, list):
            out.append((path, value, info))
    return out


def _changed(value: Any, info: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, schema.LinkStatus):  # 'throttled' needs a throttle below 1 too
        return "open" if value == "closed" else "closed"
    if isinstance(value, enum.Enum):
        return next(m.value for m in type(value) if m != value)
    bounds = [getattr(m, "le", None) for m in info.metadata]
    upper = min((b for b in bounds if b is not None), default=1e9)
    if isinstance(value, int) and not isinstance(value, bool):
        return value + 3 if value + 3 <= upper else max(1, value - 3)
    if upper <= 1:
        return round(value / 2 + 0.5, 6) if value < 0.9 else round(value / 3, 6)
    return value * 3 + 0.5 if value else 0.7


def _fields() -> list[tuple[str, Any]]:
    spec = schema.Scenario.model_validate(WORLD)
    fields = []
    for state in spec.states:
        fields += [
            (p.replace(f"states.{state.name}", f"states.{state.name}", 1), v, a)
            for p, v, a in _leaves(state, f"states.{state.name}")
        ]
    for link in spec.links:
        fields += _leaves(link, f"links.{link.name}")
    for flow in spec.flows:
        fields += _leaves(flow, f"flows.{flow.name}")
    fields += _leaves(spec.parameters, "parameters")
    return [(path, _changed(value, ann)) for path, value, ann in fields]


def _fingerprint(path: str | None, value: Any, tmp_path) -> tuple:
    data = yaml.safe_load(yaml.safe_dump(WORLD))
    if path is not None:
        data["events"].append(
            {"date": "2024-01-01", "action": "set_parameter", "path": path, "value": value}
        )
    file = tmp_path / "world.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    model = ConflictModel(file, rng=3, record_flows=False, record_series=False)
    trace = []
    while model.running:
        model.step()
        trace.append(
            (
                tuple(round(v, 9) for v in model.decisions.hazard.values()),
                tuple(round(v, 9) for v in model.decisions.deterrence.values()),
                tuple(round(s.readiness, 9) for s in model.states),
                tuple(round(g.credibility, 9) for g in model.diplomacy.guarantees),
                tuple(round(lk.usable_fraction, 9) for lk in model.links),
            )
        )
    summary = summarise(model, 3)
    summary.pop("events_logged", None)
    messages = [e.message for e in model.log if not (e.kind == "event" and e.step == 0)]
    return tuple(trace), tuple(sorted(summary.items(), key=str)), tuple(messages)


FIELDS = _fields()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return _fingerprint(None, None, tmp_path_factory.mktemp("base"))


def test_the_world_exercises_the_mechanisms(baseline):
    _trace, _summary, messages = baseline
    text = "\n".join(messages)
    for fragment in ("launches an offensive", "buys arms", "protests", "responds to"):
        assert fragment in text
    assert len(FIELDS) > 60


@pytest.mark.parametrize(("path", "value"), FIELDS, ids=[p for p, _ in FIELDS])
def test_every_field_an_event_can_set_changes_behaviour(path, value, baseline, tmp_path):
    assert _fingerprint(path, value, tmp_path) != baseline, (
        f"set_parameter {path} = {value!r} on the first day changed nothing"
    )
