"""The optimisations of issue 7 change how, never what: each fast path is checked against the
straightforward implementation it replaced.

* ``share_capacity`` on plain floats (small problems) against its numpy version, bit for bit;
* routing (``corridors.model.routing``) against the per-flow networkx graph and
  ``nx.shortest_path`` it replaced, on random networks with parallel links, equal costs,
  gatekeepers and states that refuse passage: the same nodes and the same links, ties included;
* ``SeriesCollector`` against Mesa's own ``DataCollector.collect`` on real runs: the same
  records, step for step;
* ``record_series=False`` changes nothing but the series.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from corridors import ConflictModel
from corridors.analysis.run import summarise
from corridors.model.logistics import _share_arrays, _share_small
from corridors.model.routing import FlowView, GoodsNetwork, link_cost, shortest_path


@dataclass
class FakeLink:
    """What routing reads of a SupplyLink."""

    a: str
    b: str
    mode: str
    transit_days: int
    usable_fraction: float
    bidirectional: bool
    gatekeepers: tuple[str, ...]
    carries: frozenset[str]

    def can_carry(self, commodity: str) -> bool:
        return commodity in self.carries


def reference_route(
    links: list[FakeLink], states: list[str], origin: str, destination: str, permits: Any
) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """The routing this replaced: a networkx graph per flow and ``nx.shortest_path``."""
    blocked = {s for s in states if s not in (origin, destination) and not permits(s)}
    graph = nx.DiGraph()
    for i, link in enumerate(links):
        fraction = link.usable_fraction
        if fraction <= 0 or not link.can_carry("food"):
            continue
        if any(g not in (origin, destination) and not permits(g) for g in link.gatekeepers):
            continue
        weight = link_cost(link)  # type: ignore[arg-type]
        ends = [(link.a, link.b), (link.b, link.a)] if link.bidirectional else [(link.a, link.b)]
        for u, v in ends:
            if u in blocked or v in blocked:
                continue
            current = graph.get_edge_data(u, v)
            if current is None or weight < current["weight"]:
                graph.add_edge(u, v, weight=weight, link=i)
    if origin not in graph or destination not in graph:
        return None
    try:
        nodes = nx.shortest_path(graph, origin, destination, weight="weight")
    except nx.NetworkXNoPath:
        return None
    return tuple(nodes), tuple(graph.edges[u, v]["link"] for u, v in itertools.pairwise(nodes))


def fast_route(
    links: list[FakeLink], origin: str, destination: str, permits: Any
) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    view = FlowView(GoodsNetwork(links, "food"), origin, destination, permits)  # type: ignore[arg-type]
    if not (view.has_node(origin) and view.has_node(destination)):
        return None
    nodes = shortest_path(view, origin, destination)
    if nodes is None:
        return None
    return tuple(nodes), tuple(view.successors(u)[v][1] for u, v in itertools.pairwise(nodes))


@st.composite
def networks(draw: st.DrawFn) -> tuple[list[str], list[FakeLink], set[str]]:
    n = draw(st.integers(2, 9))
    states = [f"S{i}" for i in range(n)]
    pick = st.sampled_from(states)
    links = []
    for _ in range(draw(st.integers(1, 3 * n))):
        a, b = draw(pick), draw(pick)
        if a == b:
            continue
        links.append(
            FakeLink(
                a=a,
                b=b,
                mode=draw(st.sampled_from(["road", "road", "rail", "air"])),
                transit_days=draw(st.integers(0, 3)),  # few values: many equal-cost paths
                usable_fraction=draw(st.sampled_from([1.0, 1.0, 1.0, 0.5, 0.25, 0.0])),
                bidirectional=draw(st.booleans()),
                gatekeepers=tuple(draw(st.lists(pick, max_size=2, unique=True))),
                carries=frozenset(draw(st.sampled_from([{"food"}, {"food"}, {"fuel"}]))),
            )
        )
    refusing = set(draw(st.lists(pick, max_size=n // 2, unique=True)))
    return states, links, refusing


@settings(max_examples=300, deadline=None)
@given(network=networks())
def test_routing_matches_networkx_ties_included(
    network: tuple[list[str], list[FakeLink], set[str]],
) -> None:
    states, links, refusing = network
    for origin, destination in itertools.permutations(states, 2):
        asked: list[tuple[str, str | None]] = []

        def permits(state: str, mode: str | None, asked: list = asked) -> bool:
            asked.append((state, mode))
            return state not in refusing

        expected = reference_route(links, states, origin, destination, lambda s: s not in refusing)
        assert fast_route(links, origin, destination, permits) == expected
        assert len(asked) == len(set(asked)), "each state is asked at most once per flow and mode"


def test_routing_asks_only_states_it_reaches() -> None:
    """A chain of 200 states: a flow between neighbours asks nobody far away."""
    states = [f"S{i}" for i in range(200)]
    links = [
        FakeLink(a, b, "road", 1, 1.0, True, (), frozenset({"food"}))
        for a, b in itertools.pairwise(states)
    ]
    asked: list[str] = []

    def permits(state: str, mode: str | None = None) -> bool:
        asked.append(state)
        return True

    assert fast_route(links, "S100", "S102", permits) == (("S100", "S101", "S102"), (100, 101))
    assert len(asked) < 10


def mesa_records(model: ConflictModel) -> tuple[dict[str, list[Any]], dict[Any, Any]]:
    """What Mesa's own DataCollector records for the model's reporters, now."""
    collector = model.datacollector
    reference = mesa.DataCollector(
        model_reporters=collector.model_reporters,
        agenttype_reporters=collector.agenttype_reporters,
    )
    reference.collect(model)
    return reference.model_vars, reference._agenttype_records


def test_series_collector_records_what_mesa_records() -> None:
    for scenario, days in (("lachin-2023", 304), ("karabakh-2020", 60), ("zangezur", 60)):
        model = ConflictModel(scenario, rng=3, days=days)
        collector = model.datacollector
        while model.running:
            model.step()
            model_vars, records = mesa_records(model)
            for name, values in model_vars.items():
                assert collector.model_vars[name][-1] == values[-1], (scenario, name)
            time = model.time
            assert collector._agenttype_records[time] == records[time], (scenario, time)


def test_record_series_false_changes_only_the_series() -> None:
    def run(record_series: bool) -> tuple[dict[str, Any], pd.DataFrame]:
        model = ConflictModel("lachin-2023", rng=5, record_series=record_series)
        while model.running:
            model.step()
        return summarise(model, 5), model.logistics.flow_table()

    with_series, without = run(True), run(False)
    assert with_series[0] == without[0]
    pd.testing.assert_frame_equal(with_series[1], without[1], check_exact=True)


@st.composite
def sharing(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """Capacity-sharing problems rich in ties, zeros, full links and awkward magnitudes."""
    n_flows, n_links = draw(st.integers(1, 12)), draw(st.integers(1, 10))
    amount = st.one_of(
        st.sampled_from([0.0, -0.0, 1.0, 3.0, 10.0, 400.0, 0.1]),  # ties, signed zeros
        st.floats(1e-3, 1e4),
        st.floats(1e-90, 1e90),
    )
    demand = np.array([draw(amount) for _ in range(n_flows)])
    priority = np.array([draw(st.sampled_from([0.1, 0.5, 1.0, 1.0, 2.0])) for _ in range(n_flows)])
    capacity = np.array([draw(amount) for _ in range(n_links)])
    pairs = [
        (f, lk)
        for f in range(n_flows)
        for lk in draw(st.lists(st.integers(0, n_links - 1), unique=True, max_size=4))
    ]
    pair_flow = np.array([p[0] for p in pairs], dtype=np.int64)
    pair_link = np.array([p[1] for p in pairs], dtype=np.int64)
    return demand, priority * demand, capacity, pair_flow, pair_link


@settings(max_examples=500, deadline=None)
@given(problem=sharing())
def test_small_sharing_is_the_array_version_bit_for_bit(problem: tuple[np.ndarray, ...]) -> None:
    small = _share_small(*problem)
    assert small is not None
    assert small.tobytes() == _share_arrays(*problem).tobytes()


def test_small_sharing_leaves_awkward_numbers_to_numpy() -> None:
    one = np.array([0], dtype=np.int64)
    for bad in (1e-310, 1e200, float("inf"), float("nan"), -1.0):
        problem = (np.array([bad]), np.array([bad]), np.array([5.0]), one, one)
        assert _share_small(*problem) is None
        problem = (np.array([5.0]), np.array([5.0]), np.array([bad]), one, one)
        assert _share_small(*problem) is None
