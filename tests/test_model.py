"""Behaviour of the simulation core on the default scenario and on tiny hand-written ones."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
import pytest

from corridors import ConflictModel, load_scenario, run_scenario
from corridors.model.logistics import Logistics, share_capacity
from corridors.scenarios.loader import validate_data
from corridors.scenarios.schema import Scenario

NK = "Nagorno-Karabakh"
NO_NOISE = {"parameters.capacity_noise_cv": 0}
START = dt.date(2024, 1, 1)


def day(n: int) -> dt.date:
    """The date of day index ``n`` of a tiny scenario."""
    return START + dt.timedelta(days=n)


def tiny(
    states: list[str] | list[dict[str, Any]],
    links: list[dict[str, Any]],
    flows: list[dict[str, Any]],
    events: Sequence[dict[str, Any]] = (),
    days: int = 10,
    **parameters: Any,
) -> Scenario:
    """A small scenario starting on 2024-01-01; states by name (or as dicts), links default to
    open roads with one day of transit."""
    state_specs = [
        {"name": s, "code": f"X{s}", "lat": 0.0, "lon": 0.0} if isinstance(s, str) else s
        for s in states
    ]
    link_specs = [{"mode": "road", "transit_days": 1, **lk} for lk in links]
    data = {
        "meta": {"title": "tiny"},
        "calendar": {"start": START, "days": days},
        "parameters": {"capacity_noise_cv": 0.0, **parameters},
        "states": state_specs,
        "links": link_specs,
        "flows": flows,
        "events": list(events),
    }
    return validate_data(data, "<tiny>")


def run_days(model: ConflictModel, n: int | None = None) -> None:
    """Step ``n`` days, or to the end of the calendar."""
    if n is None:
        while model.running:
            model.step()
    else:
        for _ in range(n):
            model.step()


def flow_index(model: ConflictModel, name: str) -> int:
    return model.logistics.flow_names.index(name)


def route_names(model: ConflictModel, flow: str) -> list[str] | None:
    route = model.logistics.routes[flow_index(model, flow)]
    return None if route is None else [model.logistics.links[i].name for i in route.links]


# --------------------------------------------------------------------------- lachin-2023


def test_blockade_drains_food_at_the_rate_the_numbers_imply() -> None:
    """From the blockade until the food stock is gone, Nagorno-Karabakh's food stock changes
    each day by −(consumption − local production − leakage), the leakage being the food
    flows' share of the throttled Lachin road (shared by priority × demand)."""
    model = ConflictModel("lachin-2023", rng=0, overrides=NO_NOISE)
    spec = model.spec
    food = spec.state(NK).stocks["food"]
    lachin = spec.link("lachin")
    blockade = next(e for e in spec.events if e.name == "blockade")
    closure = next(e for e in spec.events if e.name == "total_closure")
    assert blockade.link == closure.link == "lachin"
    b_day = (blockade.date - spec.calendar.start).days
    c_day = (closure.date - spec.calendar.start).days
    to_nk = [f for f in spec.flows if f.destination == NK and f.start is None]
    assert {f.origin for f in to_nk} == {"Armenia"}

    leak_capacity = lachin.capacity_t_per_day * blockade.fraction
    weights = {f.name: f.priority * f.quantity_t_per_day for f in to_nk}
    shares = {f.name: leak_capacity * weights[f.name] / sum(weights.values()) for f in to_nk}
    # the road is too narrow for every flow, so none is satisfied and shares stay proportional
    assert all(shares[f.name] < f.quantity_t_per_day for f in to_nk)
    leak_food = sum(shares[f.name] for f in to_nk if f.commodity == "food")
    imports_before = sum(f.quantity_t_per_day for f in to_nk if f.commodity == "food")
    before_rate = imports_before + food.local_production_t_per_day - food.consumption_t_per_day
    blockade_rate = -(food.consumption_t_per_day - food.local_production_t_per_day - leak_food)
    assert blockade_rate < 0

    nk = model.state(NK)
    stock = [nk.stock_t["food"]]  # stock[d + 1] is the stock after day d
    received = []
    while model.running:
        model.step()
        stock.append(nk.stock_t["food"])
        received.append(nk.received_t.get("food", 0.0))

    # before the blockade imports exceed need; what shops and households cannot hold is not kept
    cap = food.storage_t if food.storage_t is not None else float("inf")
    assert stock[b_day] == pytest.approx(min(cap, food.initial_t + b_day * before_rate))
    checked = 0
    for d in range(b_day + lachin.transit_days, c_day):
        if stock[d] + blockade_rate <= 0:
            break
        assert received[d] == pytest.approx(leak_food, rel=1e-9)
        assert stock[d + 1] - stock[d] == pytest.approx(blockade_rate, rel=1e-9), d
        checked += 1
    assert checked >= 10
    # once the stock is gone it stays at zero, and after the total closure nothing arrives
    exhausted = b_day + lachin.transit_days + checked
    assert all(s == 0.0 for s in stock[exhausted + 2 : c_day])
    assert all(r == 0.0 for r in received[c_day + lachin.transit_days : c_day + 60])


def test_blockade_causes_long_shortage(lachin_result) -> None:
    summary = lachin_result.summary
    blockade = next(e for e in lachin_result.scenario.events if e.name == "blockade")
    first = summary["NKR.first_shortage_date"]
    assert first is not None
    assert dt.date.fromisoformat(first) > blockade.date
    assert summary["NKR.shortage_days"] > 200
    assert summary["NKR.peak_stress"] > 0.5
    assert 0 <= summary["NKR.final_stress"] <= summary["NKR.peak_stress"] <= 1
    kinds = set(lachin_result.events["kind"])
    assert {"event", "shortage_start", "stress_alert"} <= kinds


@pytest.mark.parametrize(
    "how",
    [{"variants": ["no-blockade"]}, {"overrides": {"events": []}}],
    ids=["no-blockade-variant", "events-removed"],
)
def test_without_the_blockade_there_is_no_shortage(how: dict[str, Any]) -> None:
    result = run_scenario("lachin-2023", seed=1, **how)
    summary = result.summary
    assert summary["NKR.shortage_days"] == 0
    assert summary["NKR.first_shortage_date"] is None
    assert summary["NKR.peak_stress"] == 0
    assert summary["NKR.final_stress"] == 0
    initial = result.scenario.state(NK).stocks
    for good in ("food", "medicine", "fuel"):
        assert summary[f"NKR.{good}_t.final"] >= initial[good].initial_t - 1e-6
    assert not (result.events["kind"] == "shortage_start").any()


# --------------------------------------------------------------------------- reproducibility

OUTPUT_FILES = ("summary.json", "series.parquet", "flows.parquet", "events.jsonl")


def test_same_seed_writes_identical_files(tmp_path: Path) -> None:
    run_scenario("lachin-2023", seed=7).write(tmp_path / "a")
    run_scenario("lachin-2023", seed=7).write(tmp_path / "b")
    for name in OUTPUT_FILES:
        first = (tmp_path / "a" / name).read_bytes()
        assert first, name
        assert first == (tmp_path / "b" / name).read_bytes(), name


def test_different_seeds_give_different_series() -> None:
    one = run_scenario("lachin-2023", seed=1, days=30)
    two = run_scenario("lachin-2023", seed=2, days=30)
    assert one.scenario.parameters.capacity_noise_cv > 0
    capacity = one.series[(one.series.entity == "lachin") & (one.series.variable == "capacity_t")]
    capacity2 = two.series[(two.series.entity == "lachin") & (two.series.variable == "capacity_t")]
    assert not np.array_equal(capacity.value.to_numpy()[1:], capacity2.value.to_numpy()[1:])
    assert not one.series.equals(two.series)
    # without noise (capacity, and the claimant's misperception behind its attack hazard)
    # the seed does not matter before an offensive
    quiet = {**NO_NOISE, "parameters.decision_noise_sd": 0}
    quiet1 = run_scenario("lachin-2023", seed=1, days=30, overrides=quiet)
    quiet2 = run_scenario("lachin-2023", seed=2, days=30, overrides=quiet)
    pd.testing.assert_frame_equal(quiet1.series, quiet2.series, check_exact=True)


# --------------------------------------------------------------------------- events


def test_scripted_close_leaves_flows_without_route_and_says_why() -> None:
    close = {"name": "cut", "date": "2022-12-05", "action": "close_link", "link": "lachin"}
    model = ConflictModel("lachin-2023", rng=0, overrides={**NO_NOISE, "events": [close]})
    run_days(model, 10)
    to_nk = [f.name for f in model.spec.flows if f.destination == NK and f.start is None]
    for name in to_nk:
        assert model.logistics.routes[flow_index(model, name)] is None
        assert "lachin is closed" in model.logistics.no_route_reason[flow_index(model, name)]
    no_route = model.log.of_kind("no_route")
    assert {e.subject for e in no_route} >= set(to_nk)
    assert all("lachin" in e.message for e in no_route if e.subject in to_nk)
    assert all(e.date == dt.date(2022, 12, 5) for e in no_route if e.subject in to_nk)
    assert model.link("lachin").carried_today_t == 0


def test_intervention_closes_the_road_and_reopening_restores_deliveries() -> None:
    model = ConflictModel("lachin-2023", rng=0, days=40, overrides=NO_NOISE)
    nk = model.state(NK)
    transit = model.link("lachin").transit_days
    assert transit >= 1
    run_days(model, 5)
    assert nk.received_t["food"] == pytest.approx(370)

    entry = model.intervene({"action": "close_link", "link": "lachin", "reason": "test"})
    assert entry.kind == "intervention"
    assert entry.subject == "lachin"
    assert "closed" in entry.message
    assert model.link("lachin").status == "closed"
    received = []
    for _ in range(transit + 3):
        model.step()
        received.append(nk.received_t.get("food", 0.0))
    # goods already on the road still arrive; then nothing
    assert received[:transit] == pytest.approx([370] * transit)
    assert received[transit:] == [0.0] * 3
    assert model.link("lachin").carried_today_t == 0

    model.intervene({"action": "open_link", "link": "lachin"})
    model.step()
    restored = model.log.of_kind("route_restored")
    assert {e.subject for e in restored} >= {"food_to_karabakh", "medicine_to_karabakh"}
    assert all(e.date == model.today for e in restored)
    received = []
    for _ in range(transit + 1):
        received.append(nk.received_t.get("food", 0.0))
        model.step()
    assert received[0] == 0.0  # shipped again today, arrives after the transit delay
    assert received[transit] == pytest.approx(370)


def four_states(events: list[dict[str, Any]], days: int = 12, **flow: Any) -> Scenario:
    """A → D through B (quick) or C (slow)."""
    links = [
        {"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100},
        {"name": "bd", "a": "B", "b": "D", "capacity_t_per_day": 100},
        {"name": "ac", "a": "A", "b": "C", "capacity_t_per_day": 100, "transit_days": 2},
        {"name": "cd", "a": "C", "b": "D", "capacity_t_per_day": 100, "transit_days": 2},
    ]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "D",
            "quantity_t_per_day": 10,
            **flow,
        }
    ]
    return tiny(["A", "B", "C", "D"], links, flows, events, days=days)


def test_deny_and_grant_transit_reroute_and_block() -> None:
    events = [
        {"date": day(3), "action": "deny_transit", "state": "B", "to": "D"},
        {"date": day(5), "action": "deny_transit", "state": "C", "to": "A"},
        {"date": day(8), "action": "grant_transit", "state": "B", "to": "D"},
    ]
    model = ConflictModel(four_states(events), rng=0)
    routes, shipped = [], []
    while model.running:
        model.step()
        routes.append(route_names(model, "f"))
        shipped.append(float(model.logistics.shipped_today_t[0]))
    assert routes[:3] == [["ab", "bd"]] * 3
    assert routes[3:5] == [["ac", "cd"]] * 2
    assert routes[5:8] == [None] * 3
    assert routes[8:] == [["ab", "bd"]] * (len(routes) - 8)
    assert shipped[5:8] == [0.0] * 3
    assert all(s == 10 for i, s in enumerate(shipped) if not 5 <= i < 8)

    reroute = model.log.of_kind("reroute")
    assert len(reroute) == 1
    assert reroute[0].date == day(3)
    assert "B denies transit" in reroute[0].message
    no_route = model.log.of_kind("no_route")
    assert [e.date for e in no_route] == [day(5)]
    assert "C denies transit" in no_route[0].message
    restored = model.log.of_kind("route_restored")
    assert [e.date for e in restored] == [day(8)]
    assert not model.permits_transit("C", "A", "D")
    assert model.permits_transit("B", "A", "D")


def test_hostile_relation_blocks_transit_unless_granted() -> None:
    states: list[dict[str, Any]] = [
        {"name": n, "code": f"X{n}", "lat": 0.0, "lon": 0.0} for n in ("A", "B", "D")
    ]
    states[1]["relations"] = {"D": -0.9}
    links = [
        {"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100},
        {"name": "bd", "a": "B", "b": "D", "capacity_t_per_day": 100},
    ]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "D",
            "quantity_t_per_day": 5,
        }
    ]
    grant = [{"date": day(2), "action": "grant_transit", "state": "B", "to": "D"}]
    model = ConflictModel(tiny(states, links, flows, grant, days=5), rng=0)
    assert route_names(model, "f") is None
    start = model.log.of_kind("no_route")
    assert len(start) == 1
    assert start[0].message.endswith("no route at the start: B denies transit")
    run_days(model, 2)
    assert model.logistics.shipped_t[0] == 0
    run_days(model)
    assert route_names(model, "f") == ["ab", "bd"]
    assert model.logistics.shipped_t[0] == pytest.approx(15)  # days 2, 3 and 4
    assert model.logistics.delivered_t[0] == pytest.approx(5)  # day 2's, two links later


def test_gatekeeper_denial_blocks_a_link() -> None:
    states = ["A", "B", "G"]
    links = [
        {"name": "air", "mode": "air", "a": "A", "b": "B", "capacity_t_per_day": 50},
        {"name": "over_g", "a": "A", "b": "B", "capacity_t_per_day": 50, "crosses": ["G"]},
        {"name": "ag", "a": "A", "b": "G", "capacity_t_per_day": 1},
    ]
    flows = [
        {
            "name": "f",
            "commodity": "cargo",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 5,
        }
    ]
    events = [{"date": day(2), "action": "deny_transit", "state": "G", "to": "B"}]
    model = ConflictModel(tiny(states, links, flows, events, days=4), rng=0)
    assert route_names(model, "f") == ["over_g"]  # air carries a 10-day cost penalty
    run_days(model)
    assert route_names(model, "f") == ["air"]
    reroute = model.log.of_kind("reroute")
    assert len(reroute) == 1
    assert "G denies transit on over_g" in reroute[0].message
    assert model.link("over_g").carried_today_t == 0
    assert model.link("air").carried_today_t == pytest.approx(5)


def test_set_parameter_event_changes_the_parameter() -> None:
    events = [
        {
            "date": "2022-12-03",
            "action": "set_parameter",
            "path": "parameters.stress_rise_per_day",
            "value": 0.3,
        }
    ]
    model = ConflictModel("lachin-2023", rng=0, overrides={"events": events}, days=5)
    assert model.spec.parameters.stress_rise_per_day == 0.025
    run_days(model, 2)
    assert model.spec.parameters.stress_rise_per_day == 0.025
    model.step()
    assert model.spec.parameters.stress_rise_per_day == 0.3
    (entry,) = model.log.of_kind("event")
    assert entry.subject == "parameters.stress_rise_per_day"
    assert "from 0.025 to 0.3" in entry.message


@pytest.mark.parametrize("key", ["ab", "0"])
def test_set_parameter_link_capacity_takes_effect(key: str) -> None:
    links = [{"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100}]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 80,
        }
    ]
    path = f"links.{key}.capacity_t_per_day"
    events = [{"date": day(3), "action": "set_parameter", "path": path, "value": 30}]
    model = ConflictModel(tiny(["A", "B"], links, flows, events, days=6), rng=0)
    carried = []
    while model.running:
        model.step()
        carried.append(model.link("ab").carried_today_t)
    assert carried == pytest.approx([80, 80, 80, 30, 30, 30])
    assert model.link("ab").capacity_t_per_day == 30
    assert model.spec.link("ab").capacity_t_per_day == 30
    (entry,) = model.log.of_kind("event")
    assert "from 100.0 to 30" in entry.message


def test_set_parameter_can_give_a_state_a_new_stock_mid_run() -> None:
    """A whole stock set by an event becomes a typed stock the state consumes from."""
    links = [{"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100}]
    flows = [
        {
            "name": "f",
            "commodity": "fuel",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 4,
        }
    ]
    new_stock = {"initial_t": 10, "consumption_t_per_day": 5}
    events = [
        {
            "date": day(2),
            "action": "set_parameter",
            "path": "states.B.stocks.fuel",
            "value": new_stock,
        }
    ]
    model = ConflictModel(tiny(["A", "B"], links, flows, events, days=5), rng=0)
    b = model.state("B")
    assert not b.sustained
    run_days(model)
    assert b.sustained
    assert type(model.spec.state("B").stocks["fuel"]).__name__ == "Stock"
    # day 2: 10 + 4 − 5 = 9; days 3 and 4: −1 each
    assert b.stock_t["fuel"] == pytest.approx(7)
    assert b.shortage_days == 0


def test_throttle_to_zero_is_reported_as_such() -> None:
    links = [{"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100}]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 4,
            "end": day(1),
        },
        {
            "name": "g",
            "commodity": "food",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 4,
        },
    ]
    events = [
        {"date": day(3), "action": "close_link", "link": "ab"},
        {"date": day(5), "action": "throttle_link", "link": "ab", "fraction": 0},
    ]
    model = ConflictModel(tiny(["A", "B"], links, flows, events, days=7), rng=0)
    run_days(model)
    no_route = model.log.of_kind("no_route")
    # the ended flow f says nothing; g loses its route once
    assert [(e.subject, e.date) for e in no_route] == [("g", day(3))]
    assert "ab is closed" in no_route[0].message
    assert "throttled to 0%" in model.logistics._why_unusable(model.link("ab"), "A", "B", "food")


# --------------------------------------------------------------------------- capacity sharing


def one_link(quantities: list[float], priorities: list[float], capacity: float) -> ConflictModel:
    links = [{"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": capacity}]
    flows = [
        {
            "name": f"f{i}",
            "commodity": "cargo",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": q,
            "priority": p,
        }
        for i, (q, p) in enumerate(zip(quantities, priorities, strict=True))
    ]
    model = ConflictModel(tiny(["A", "B"], links, flows, days=3), rng=0)
    model.step()
    return model


def test_scarce_capacity_is_shared_by_priority_times_demand() -> None:
    model = one_link([120, 80], [1, 2], capacity=100)
    shipped = model.logistics.shipped_today_t
    weights = np.array([120 * 1, 80 * 2])
    assert shipped == pytest.approx(100 * weights / weights.sum())
    assert model.link("ab").carried_today_t == pytest.approx(100)
    assert model.link("ab").carried_today_t <= model.link("ab").capacity_today_t


def test_satisfied_flow_leaves_its_unused_capacity_to_the_other() -> None:
    # proportional shares would give f0 100 × 500/700 ≈ 71 t, more than its 5 t
    model = one_link([5, 200], [100, 1], capacity=100)
    assert model.logistics.shipped_today_t == pytest.approx([5, 95])
    assert model.link("ab").carried_today_t == pytest.approx(100)


def test_ample_capacity_ships_every_demand() -> None:
    model = one_link([30, 40], [1, 5], capacity=100)
    assert model.logistics.shipped_today_t == pytest.approx([30, 40])


def test_flow_held_back_elsewhere_leaves_capacity_to_the_other() -> None:
    """Progressive filling across links: f0 is limited to 10 t by bc, so f1 gets the rest
    of ab (90 t), not the 50 t an equal split of ab would give it."""
    links = [
        {"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100},
        {"name": "bc", "a": "B", "b": "C", "capacity_t_per_day": 10},
    ]
    flows = [
        {
            "name": "f0",
            "commodity": "food",
            "origin": "A",
            "destination": "C",
            "quantity_t_per_day": 100,
        },
        {
            "name": "f1",
            "commodity": "food",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 100,
        },
    ]
    model = ConflictModel(tiny(["A", "B", "C"], links, flows, days=2), rng=0)
    model.step()
    assert model.logistics.shipped_today_t == pytest.approx([10, 90])
    assert model.link("ab").carried_today_t == pytest.approx(100)
    assert model.link("bc").carried_today_t == pytest.approx(10)


def test_share_capacity_directly() -> None:
    demand = np.array([10.0, 200.0, 50.0])
    weight = np.array([1.0, 1.0, 1.0]) * demand
    capacity = np.array([100.0, 1000.0])
    # flows 0 and 1 share link 0; flow 2 is alone on link 1
    alloc = share_capacity(
        demand, weight, capacity, np.array([0, 1, 2]), np.array([0, 0, 1], dtype=np.int64)
    )
    assert alloc == pytest.approx([100 * 10 / 210, 100 * 200 / 210, 50])
    # no route: nothing
    alloc = share_capacity(demand, weight, capacity, np.array([0]), np.array([0]))
    assert alloc == pytest.approx([10, 0, 0])


# --------------------------------------------------------------------------- transit and loss


def test_goods_arrive_transit_days_after_shipping_less_losses() -> None:
    links = [
        {
            "name": "ab",
            "a": "A",
            "b": "B",
            "capacity_t_per_day": 100,
            "transit_days": 2,
            "loss_rate": 0.1,
        },
        {
            "name": "bc",
            "a": "B",
            "b": "C",
            "capacity_t_per_day": 100,
            "transit_days": 1,
            "loss_rate": 0.5,
        },
    ]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "C",
            "quantity_t_per_day": 20,
            "start": day(2),
            "end": day(4),
        }
    ]
    model = ConflictModel(tiny(["A", "B", "C"], links, flows, days=10), rng=0)
    shipped, received = [], []
    while model.running:
        model.step()
        shipped.append(float(model.logistics.shipped_today_t[0]))
        received.append(model.state("C").received_t.get("food", 0.0))
    survival = 0.9 * 0.5
    assert shipped == [0, 0, 20, 20, 20, 0, 0, 0, 0, 0]
    assert received == pytest.approx(
        [0, 0, 0, 0, 0, 20 * survival, 20 * survival, 20 * survival, 0, 0]
    )
    logi = model.logistics
    assert logi.shipped_t[0] == pytest.approx(60)
    assert logi.lost_t[0] == pytest.approx(60 * (1 - survival))
    assert logi.delivered_t[0] == pytest.approx(60 * survival)
    assert logi.in_transit_t[0] == pytest.approx(0)


def test_flows_running_at_the_start_arrive_from_day_zero() -> None:
    links = [{"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100, "transit_days": 3}]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 20,
        }
    ]
    model = ConflictModel(tiny(["A", "B"], links, flows, days=6), rng=0)
    assert model.logistics.in_transit_t[0] == pytest.approx(60)
    received = []
    while model.running:
        model.step()
        received.append(model.state("B").received_t.get("food", 0.0))
    assert received == pytest.approx([20] * 6)


def test_zero_transit_days_delivers_the_same_day() -> None:
    links = [{"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100, "transit_days": 0}]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 20,
            "start": day(1),
        }
    ]
    model = ConflictModel(tiny(["A", "B"], links, flows, days=3), rng=0)
    model.step()
    assert model.state("B").received_t == {}
    model.step()
    assert model.state("B").received_t == {"food": 20}


def test_origin_stock_limits_shipments() -> None:
    states: list[dict[str, Any]] = [
        {"name": "A", "code": "XA", "lat": 0.0, "lon": 0.0, "stocks": {"food": {"initial_t": 25}}},
        {"name": "B", "code": "XB", "lat": 0.0, "lon": 0.0},
    ]
    links = [{"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100, "transit_days": 0}]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "B",
            "quantity_t_per_day": 10,
            "start": day(0),
        }
    ]
    model = ConflictModel(tiny(states, links, flows, days=4), rng=0)
    shipped = []
    while model.running:
        model.step()
        shipped.append(float(model.logistics.shipped_today_t[0]))
    assert shipped == pytest.approx([10, 10, 5, 0])
    assert model.state("A").stock_t["food"] == 0


# --------------------------------------------------------------------------- rerouting


def triangle(events: Sequence[dict[str, Any]] = (), days: int = 8) -> Scenario:
    links = [
        {"name": "direct", "a": "A", "b": "C", "capacity_t_per_day": 100, "transit_days": 1},
        {"name": "ab", "a": "A", "b": "B", "capacity_t_per_day": 100, "transit_days": 1},
        {"name": "bc", "a": "B", "b": "C", "capacity_t_per_day": 100, "transit_days": 2},
    ]
    flows = [
        {
            "name": "f",
            "commodity": "food",
            "origin": "A",
            "destination": "C",
            "quantity_t_per_day": 10,
        }
    ]
    return tiny(["A", "B", "C"], links, flows, list(events), days=days)


def test_closing_the_quickest_route_reroutes_and_logs_why() -> None:
    model = ConflictModel(
        triangle([{"date": day(2), "action": "close_link", "link": "direct"}]), rng=0
    )
    run_days(model, 2)
    assert route_names(model, "f") == ["direct"]
    model.step()
    assert route_names(model, "f") == ["ab", "bc"]
    (entry,) = model.log.of_kind("reroute")
    assert entry.date == day(2)
    assert "direct is closed" in entry.message
    assert entry.data["route"] == "A → B → C"
    assert entry.data["previous_route"] == "A → C"
    assert model.logistics.routes[0].transit_days == 3
    # shipping continues on the longer route: a gap only while the new route fills
    received = []
    for _ in range(4):
        model.step()
        received.append(model.state("C").received_t.get("food", 0.0))
    # day 1 shipped direct, arriving day 2; day 2 shipped via B (3 days), arriving day 5
    assert received == pytest.approx([0, 0, 10, 10])  # days 3, 4, 5, 6


def test_a_throttled_route_keeps_its_cost_and_the_rest_goes_round() -> None:
    """Throttling is less capacity, not a longer road: the direct link keeps what it can carry
    (5 of 10 t/day) and the other 5 go the long way."""
    events = [{"date": day(1), "action": "throttle_link", "link": "direct", "fraction": 0.05}]
    model = ConflictModel(triangle(events), rng=0, record_flows=True)
    model.step()
    assert route_names(model, "f") == ["direct"]
    model.step()
    assert route_names(model, "f") == ["direct"]  # still the cheapest route
    by_link = {model.logistics.links[e].name: 0.0 for e in range(3)}
    for lk in model.logistics.links:
        by_link[lk.name] = lk.carried_today_t
    assert by_link == pytest.approx({"direct": 5.0, "ab": 5.0, "bc": 5.0})
    assert model.logistics.shipped_today_t[0] == pytest.approx(10.0)
    flows = model.logistics.flow_table()
    today = flows[flows.step == 2]
    assert set(today.route) == {"A → C via direct", "A → B → C via ab + bc"}


def test_routes_are_not_recomputed_when_nothing_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str]] = []
    original = Logistics._route

    def counting(self: Logistics, origin: str, destination: str, commodity: str) -> Any:
        calls.append((origin, destination, commodity))
        return original(self, origin, destination, commodity)

    monkeypatch.setattr(Logistics, "_route", counting)
    model = ConflictModel(triangle(days=20), rng=0)
    assert calls == [("A", "C", "food")]
    run_days(model, 5)
    assert len(calls) == 1
    model.intervene({"action": "close_link", "link": "direct"})
    assert len(calls) == 1  # lazily, at the next step
    model.step()
    assert len(calls) == 2
    run_days(model, 5)
    assert len(calls) == 2


def test_default_scenario_routes_each_pair_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str]] = []
    original = Logistics._route

    def counting(self: Logistics, origin: str, destination: str, commodity: str) -> Any:
        calls.append((origin, destination, commodity))
        return original(self, origin, destination, commodity)

    monkeypatch.setattr(Logistics, "_route", counting)
    model = ConflictModel("lachin-2023", rng=0, days=10)
    pairs = {(f.origin, f.destination, f.commodity) for f in model.spec.flows}
    assert sorted(calls) == sorted(pairs)
    run_days(model)  # the blockade event is on day 11: no changes in the first 10 days
    assert sorted(calls) == sorted(pairs)


# --------------------------------------------------------------------------- extends


def test_extends_overrides_a_built_in(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(
        """\
extends: lachin-2023
meta:
  title: "Lachin, wider road"
links:
  - name: lachin
    capacity_t_per_day: 1500
states:
  - name: Lilliput
    code: LIL
    lat: 1.0
    lon: 2.0
    population: 100
events:
  - name: total_closure
    delete: true
""",
        encoding="utf-8",
    )
    base = load_scenario("lachin-2023")
    sc = load_scenario(tmp_path / "b.yaml")
    assert sc.meta.title == "Lachin, wider road"
    assert sc.link("lachin").capacity_t_per_day == 1500
    assert sc.link("lachin").transit_days == base.link("lachin").transit_days
    assert sc.link("lachin").controlled_by == "Russia"
    assert [s.name for s in sc.states] == [*(s.name for s in base.states), "Lilliput"]
    assert sc.state("Lilliput").population == 100
    assert "total_closure" not in {e.name for e in sc.events}
    assert {e.name for e in sc.events} == {e.name for e in base.events} - {"total_closure"}
    assert len(sc.flows) == len(base.flows)

    # nested: c extends b (a relative path) which extends lachin-2023
    (tmp_path / "c.yaml").write_text(
        "extends: b.yaml\nlinks:\n  - {name: lachin, transit_days: 2}\n", encoding="utf-8"
    )
    nested = load_scenario(tmp_path / "c.yaml")
    assert nested.link("lachin").capacity_t_per_day == 1500
    assert nested.link("lachin").transit_days == 2
    assert nested.state("Lilliput").code == "LIL"
    assert "total_closure" not in {e.name for e in nested.events}

    # an empty list removes every item of the base, as the override `events=[]` does
    (tmp_path / "d.yaml").write_text("extends: b.yaml\nevents: []\n", encoding="utf-8")
    assert load_scenario(tmp_path / "d.yaml").events == []
    assert load_scenario("lachin-2023", overrides={"events": []}).events == []

    # and the model runs it: with the total closure gone (and no war, which would reopen the
    # road after a fall), leakage continues to the end
    model = ConflictModel(
        tmp_path / "c.yaml", rng=0, overrides={**NO_NOISE, "states.AZE.claims": []}
    )
    run_days(model)
    assert model.link("lachin").status == "throttled"
    assert model.state(NK).received_t.get("food", 0.0) > 0


# --------------------------------------------------------------------------- mesa


def test_batch_run_drives_the_model() -> None:
    rows = mesa.batch_run(
        ConflictModel,
        parameters={"scenario": "lachin-2023", "days": 20, "stress_rise_per_day": [0.01, 0.05]},
        rng=[1, 2],
        max_steps=20,
        number_processes=1,
        display_progress=False,
    )
    # one row per agent and run (the model has agent-type reporters), model reporters on each
    n_agents = len(ConflictModel("lachin-2023", days=1).agents)
    assert len(rows) == 4 * n_agents
    runs = {r["RunId"]: (r["stress_rise_per_day"], r["rng"]) for r in rows}
    assert sorted(runs.values()) == [(0.01, 1), (0.01, 2), (0.05, 1), (0.05, 2)]
    by_run = pd.DataFrame(rows).groupby("RunId")["delivered_t"].nunique()
    assert (by_run == 1).all()
    for row in rows:
        assert row["Step"] == 20
        for reporter in ("shipped_t", "delivered_t", "in_transit_t", "lost_t", "shipped_today_t"):
            assert math.isfinite(row[reporter])
        assert row["delivered_t"] > 0
        assert row["shipped_t"] == pytest.approx(
            row["delivered_t"] + row["in_transit_t"] + row["lost_t"]
        )
