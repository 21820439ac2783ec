"""Property tests: invariants of the simulation core on random small scenarios.

Hypothesis draws valid scenarios (2–6 states, 1–10 links, flows only where some chain of links
can carry the good, stocks, dated events) and the model is stepped day by day; every day the
logistics accounting must balance, stocks stay non-negative, stress stays in [0, 1], no link
carries more than today's capacity, and no flow is routed over a closed link or through a state
that refuses it. A second, smaller property checks that a run is a pure function of
(scenario, seed).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from corridors import ConflictModel
from corridors.analysis.run import collect_result
from corridors.model.logistics import share_capacity
from corridors.scenarios.loader import validate_data
from corridors.scenarios.schema import CONSUMED_COMMODITIES, DEFAULT_CARRIES, Scenario

START = dt.date(2024, 1, 1)
MODES = ("road", "rail", "air", "pipeline", "sea")
GOODS = ("food", "fuel", "medicine", "ammunition", "oil", "cargo")
REL_TOL = 1e-6

quantities = st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)
small_quantities = st.floats(min_value=0, max_value=200, allow_nan=False, allow_infinity=False)
fractions = st.floats(min_value=0, max_value=1, allow_nan=False, allow_infinity=False)
scores = st.floats(min_value=-1, max_value=1, allow_nan=False, allow_infinity=False)


def _goods(link: dict[str, Any]) -> tuple[str, ...]:
    carries = link.get("carries")
    return tuple(carries) if carries is not None else DEFAULT_CARRIES[link["mode"]]


def _carriable(names: list[str], links: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(origin, destination, good) triples with some chain of links able to carry the good,
    whatever the links' status — the loader's rule for a flow to be valid."""
    out = []
    for good in GOODS:
        graph = nx.DiGraph()
        graph.add_nodes_from(names)
        for lk in links:
            if good in _goods(lk):
                graph.add_edge(lk["a"], lk["b"])
                if lk["bidirectional"]:
                    graph.add_edge(lk["b"], lk["a"])
        for origin in names:
            out.extend(
                (origin, dest, good) for dest in nx.descendants(graph, origin) if dest != origin
            )
    return out


@st.composite
def scenarios(draw: st.DrawFn, max_days: int = 40) -> Scenario:
    """A valid random small scenario, validated by the loader."""
    n_states = draw(st.integers(2, 6))
    names = [f"S{i}" for i in range(n_states)]
    days = draw(st.integers(5, max_days))
    dates = st.integers(0, days - 1).map(lambda d: START + dt.timedelta(days=d))

    states = []
    for name in names:
        others = [n for n in names if n != name]
        stocks = {}
        for good in draw(st.lists(st.sampled_from(GOODS), unique=True, max_size=3)):
            consumed = good in CONSUMED_COMMODITIES
            stocks[good] = {
                "initial_t": draw(quantities),
                "consumption_t_per_day": draw(small_quantities) if consumed else 0.0,
                "local_production_t_per_day": draw(small_quantities) if consumed else 0.0,
            }
        states.append(
            {
                "name": name,
                "code": f"C{name}",
                "lat": 0.0,
                "lon": 0.0,
                "population": draw(st.sampled_from([0.0, 1000.0, 50_000.0])),
                "stocks": stocks,
                "relations": draw(st.dictionaries(st.sampled_from(others), scores, max_size=3)),
                "denies_transit_to": draw(
                    st.lists(st.sampled_from(others), unique=True, max_size=1)
                ),
            }
        )

    links = []
    for i in range(draw(st.integers(1, 10))):
        if i < n_states - 1 and draw(st.booleans()):
            a, b = names[i], names[i + 1]  # often a chain, so flows have multi-hop routes
        else:
            a, b = draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
        status = draw(st.sampled_from(["open", "open", "throttled", "closed"]))
        link: dict[str, Any] = {
            "name": f"L{i}",
            "mode": draw(st.sampled_from(MODES)),
            "a": a,
            "b": b,
            "bidirectional": draw(st.booleans()),
            "capacity_t_per_day": draw(quantities),
            "transit_days": draw(st.integers(0, 4)),
            "loss_rate": draw(st.sampled_from([0.0, 0.0, 0.01, 0.1, 0.5])),
            "status": status,
            "crosses": draw(st.lists(st.sampled_from(names), unique=True, max_size=2))
            if draw(st.integers(0, 3)) == 0
            else [],
        }
        if status == "throttled":
            link["throttle"] = draw(st.floats(0, 0.99))
        if draw(st.booleans()):
            link["carries"] = draw(st.lists(st.sampled_from(GOODS), unique=True, max_size=4))
        if draw(st.integers(0, 3)) == 0:
            link["controlled_by"] = draw(st.sampled_from(names))
        links.append(link)

    flows = []
    carriable = _carriable(names, links)
    if carriable:
        picks = draw(st.lists(st.sampled_from(carriable), min_size=1, max_size=6))
        for i, (origin, dest, good) in enumerate(picks):
            flow: dict[str, Any] = {
                "name": f"F{i}",
                "commodity": good,
                "origin": origin,
                "destination": dest,
                "quantity_t_per_day": draw(quantities),
                "priority": draw(st.sampled_from([0.5, 1.0, 2.0, 5.0])),
            }
            if draw(st.booleans()):
                first = draw(dates)
                flow["start"] = first
                if draw(st.booleans()):
                    flow["end"] = first + dt.timedelta(days=draw(st.integers(0, days)))
            flows.append(flow)

    link_names = [lk["name"] for lk in links]
    event_kinds = st.sampled_from(
        ["close", "open", "throttle", "deny", "grant", "noise", "capacity", "quantity", "stock"]
    )
    events = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(event_kinds)
        ev: dict[str, Any] = {"date": draw(dates)}
        if kind in ("close", "open", "throttle"):
            ev["action"] = {"close": "close_link", "open": "open_link"}.get(kind, "throttle_link")
            ev["link"] = draw(st.sampled_from(link_names))
            if kind == "throttle":
                ev["fraction"] = draw(fractions)
        elif kind in ("deny", "grant"):
            ev["action"] = f"{kind}_transit"
            ev["state"] = draw(st.sampled_from(names))
            ev["to"] = draw(st.sampled_from(names))
        elif kind == "noise":
            ev["action"] = "set_parameter"
            ev["path"] = "parameters.capacity_noise_cv"
            ev["value"] = draw(st.floats(0, 0.5))
        elif kind == "capacity":
            ev["action"] = "set_parameter"
            key = draw(st.sampled_from([*link_names, *map(str, range(len(links)))]))
            ev["path"] = f"links.{key}.capacity_t_per_day"
            ev["value"] = draw(quantities)
        elif kind == "stock":  # replaces or adds a whole stock mid-run
            ev["action"] = "set_parameter"
            good = draw(st.sampled_from(CONSUMED_COMMODITIES))
            ev["path"] = f"states.{draw(st.sampled_from(names))}.stocks.{good}"
            ev["value"] = {
                "initial_t": draw(quantities),
                "consumption_t_per_day": draw(small_quantities),
                "local_production_t_per_day": draw(small_quantities),
            }
        elif flows:
            ev["action"] = "set_parameter"
            key = draw(st.sampled_from([f["name"] for f in flows] + ["0", str(len(flows) - 1)]))
            ev["path"] = f"flows.{key}.quantity_t_per_day"
            ev["value"] = draw(quantities)
        else:
            continue
        events.append(ev)

    data = {
        "meta": {"title": "hypothesis"},
        "calendar": {"start": START, "days": days},
        "parameters": {
            "capacity_noise_cv": draw(st.floats(0, 0.5)),
            "hostile_transit_threshold": draw(st.sampled_from([-1.0, -0.5, -0.5, 0.0, 0.5])),
            "stress_rise_per_day": draw(st.sampled_from([0.0, 0.02, 0.3, 1.0])),
            "stress_recovery_per_day": draw(st.sampled_from([0.0, 0.01, 0.5, 1.0])),
        },
        "states": states,
        "links": links,
        "flows": flows,
        "events": events,
    }
    return validate_data(data, "<hypothesis>")


def _close(a: np.ndarray, b: np.ndarray, scale: float) -> bool:
    return bool(np.all(np.abs(a - b) <= REL_TOL * max(scale, 1.0)))


def check_invariants(model: ConflictModel) -> None:
    """Everything that must hold after every day."""
    logi = model.logistics
    shipped, delivered = logi.shipped_t, logi.delivered_t
    in_transit, lost = logi.in_transit_t, logi.lost_t
    scale = float(shipped.max(initial=0.0))
    day = model.today

    # conservation, per flow and in total
    assert _close(shipped, delivered + in_transit + lost, scale), (day, logi.balance())
    assert abs(shipped.sum() - (delivered.sum() + in_transit.sum() + lost.sum())) <= (
        REL_TOL * max(float(shipped.sum()), 1.0)
    )
    for arr in (shipped, delivered, in_transit, lost, logi.shipped_today_t):
        assert np.all(arr >= -1e-9), (day, arr)
    residual = logi.balance()["residual_t"].to_numpy()
    assert np.all(np.abs(residual) <= REL_TOL * max(scale, 1.0))

    # stocks and stress
    for state in model.states:
        for good, tonnes in state.stock_t.items():
            assert tonnes >= 0.0, (day, state.name, good, tonnes)
            assert np.isfinite(tonnes)
        assert 0.0 <= state.stress <= 1.0, (day, state.name, state.stress)
        assert 0.0 <= state.weighted_shortage <= 1.0 + 1e-12

    # capacity, and nothing through a closed link
    for link in model.links:
        cap = link.capacity_today_t
        assert link.carried_today_t >= 0.0
        assert link.carried_today_t <= cap + 1e-9 * max(cap, 1.0), (day, link, cap)
        if link.status == "closed":
            assert link.carried_today_t == 0.0, (day, link)

    # routes: usable links, every gatekeeper and intermediate state permits the flow. A change
    # after today's shipping (a fall hands a link to its conqueror in the combat phase) is seen
    # by the routes at tomorrow's refresh, before anything ships under it: check current routes.
    routes_current = logi._route_version == model.network_version
    for fi, route in enumerate(logi.routes if routes_current else []):
        flow = logi.flow_specs[fi]
        ends = (flow.origin, flow.destination)
        if route is None:
            assert logi.shipped_today_t[fi] == 0.0
            continue
        assert route.nodes[0] == flow.origin
        assert route.nodes[-1] == flow.destination
        for li, (u, v) in zip(route.links, itertools.pairwise(route.nodes), strict=True):
            link = logi.links[li]
            assert link.status != "closed", (day, flow.name, link)
            assert link.usable_fraction > 0
            assert link.can_carry(flow.commodity)
            assert (u, v) == (link.a, link.b) or (link.bidirectional and (v, u) == (link.a, link.b))
            for gate in link.gatekeepers:
                if gate not in ends:
                    assert model.permits_transit(gate, *ends), (day, flow.name, link, gate)
        for node in route.nodes[1:-1]:
            assert model.permits_transit(node, *ends), (day, flow.name, node)

    # a flow ships only within its dates and within what its route can take
    for fi, tonnes in enumerate(logi.shipped_today_t):
        if tonnes > 0:
            flow = logi.flow_specs[fi]
            assert flow.start is None or flow.start <= day
            assert flow.end is None or day <= flow.end
            assert tonnes <= flow.quantity_t_per_day * (1 + 1e-9)


@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_invariants_hold_every_day(scenario: Scenario, seed: int) -> None:
    model = ConflictModel(scenario, rng=seed)
    check_invariants_at_start(model)
    while model.running:
        model.step()
        check_invariants(model)
    assert model.steps == scenario.calendar.n_days


def check_invariants_at_start(model: ConflictModel) -> None:
    logi = model.logistics
    assert _close(logi.shipped_t, logi.in_transit_t, float(logi.shipped_t.max(initial=0.0))), (
        "before day 0 everything shipped is still on its way"
    )
    for state in model.states:
        assert state.stress == 0.0


@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1), stop=st.integers(0, 10))
def test_interventions_keep_invariants(scenario: Scenario, seed: int, stop: int) -> None:
    """Closing, throttling and reopening links mid-run between two steps."""
    model = ConflictModel(scenario, rng=seed)
    rng = np.random.default_rng(seed)
    while model.running:
        if model.steps == stop or rng.random() < 0.2:
            link = model.links.to_list()[int(rng.integers(len(model.links)))]
            action = ["close_link", "open_link", "throttle_link"][int(rng.integers(3))]
            event: dict[str, Any] = {"action": action, "link": link.name}
            if action == "throttle_link":
                event["fraction"] = float(rng.random())
            entry = model.intervene(event)
            assert entry.kind == "intervention"
            assert entry.subject == link.name
        model.step()
        check_invariants(model)


def _run(scenario: Scenario, seed: int) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    model = ConflictModel(scenario, rng=seed)
    while model.running:
        model.step()
    result = collect_result(model, seed)
    return result.summary, result.series, result.flows


@settings(max_examples=20)
@given(scenario=scenarios(max_days=20), seed=st.integers(0, 2**32 - 1))
def test_same_scenario_and_seed_give_identical_runs(scenario: Scenario, seed: int) -> None:
    summary1, series1, flows1 = _run(scenario, seed)
    summary2, series2, flows2 = _run(scenario, seed)
    assert summary1 == summary2
    pd.testing.assert_frame_equal(series1, series2, check_exact=True)
    pd.testing.assert_frame_equal(flows1, flows2, check_exact=True)


@settings(max_examples=20)
@given(scenario=scenarios(max_days=20), seed=st.integers(0, 2**32 - 1))
def test_runs_do_not_touch_the_scenario(scenario: Scenario, seed: int) -> None:
    """Events change the model's copy of the scenario, never the caller's."""
    before = scenario.model_dump()
    _run(scenario, seed)
    assert scenario.model_dump() == before


def test_strategy_finds_flows_and_events() -> None:
    """The strategy is not degenerate: it produces scenarios with flows that ship and events."""
    seen = {"flows": 0, "events": 0, "shipped": 0}

    @settings(max_examples=30, database=None, derandomize=True)
    @given(scenario=scenarios(max_days=10))
    def probe(scenario: Scenario) -> None:
        seen["flows"] += bool(scenario.flows)
        seen["events"] += bool(scenario.events)
        model = ConflictModel(scenario, rng=0)
        while model.running:
            model.step()
        seen["shipped"] += bool(model.logistics.shipped_t.sum() > 0)

    probe()
    assert seen["flows"] >= 5
    assert seen["events"] >= 5
    assert seen["shipped"] >= 3


@st.composite
def sharing_problems(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n_flows = draw(st.integers(1, 6))
    n_links = draw(st.integers(1, 5))
    positive = st.floats(1e-3, 1000)
    demand = np.array([draw(st.one_of(st.just(0.0), positive)) for _ in range(n_flows)])
    priority = np.array([draw(st.sampled_from([0.1, 0.5, 1.0, 2.0, 5.0])) for _ in range(n_flows)])
    capacity = np.array([draw(st.one_of(st.just(0.0), positive)) for _ in range(n_links)])
    pairs = [
        (f, lk)
        for f in range(n_flows)
        for lk in draw(st.lists(st.integers(0, n_links - 1), unique=True, max_size=n_links))
    ]
    pair_flow = np.array([p[0] for p in pairs], dtype=np.int64)
    pair_link = np.array([p[1] for p in pairs], dtype=np.int64)
    return demand, priority * demand, capacity, pair_flow, pair_link


@given(problem=sharing_problems())
def test_share_capacity_is_weighted_max_min_fair(problem: tuple[np.ndarray, ...]) -> None:
    """``share_capacity`` never exceeds a demand or a capacity, and every flow left short is
    held back by a full link on which no other flow got a larger share per unit of weight
    (the bottleneck condition that characterises weighted max-min fairness)."""
    demand, weight, capacity, pair_flow, pair_link = problem
    alloc = share_capacity(demand, weight, capacity, pair_flow, pair_link)
    assert np.all(alloc >= 0)
    assert np.all(alloc <= demand)
    load = np.bincount(pair_link, weights=alloc[pair_flow], minlength=capacity.size)
    slack = 1e-9 * np.maximum(capacity, 1.0)
    assert np.all(load <= capacity + slack), (load, capacity)
    routed = np.zeros(demand.size, dtype=bool)
    routed[pair_flow] = True
    assert np.all(alloc[~routed] == 0)
    rate = np.divide(alloc, weight, out=np.zeros_like(alloc), where=weight > 0)
    for f in np.flatnonzero(routed & (weight > 0) & (alloc < demand * (1 - 1e-9))):
        links = pair_link[pair_flow == f]
        bottlenecks = [
            lk
            for lk in links
            if load[lk] >= capacity[lk] - slack[lk]
            and rate[f] >= rate[pair_flow[pair_link == lk]].max() * (1 - 1e-9) - 1e-12
        ]
        assert bottlenecks, (f, alloc, demand, load, capacity)
