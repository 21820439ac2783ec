"""Routing: the quickest permitted chain of links for a flow.

Routes used to be found by building a networkx graph per (origin, destination, good) — every
state asked whether it permits the flow, every link checked — and calling
``nx.shortest_path``. That cost O(states + links) per flow and route refresh, so a refresh was
quadratic in the size of the network. Here the usable links of a good are listed once per
refresh (:class:`GoodsNetwork`), and permissions are asked lazily, only of the states and links
the search reaches (:class:`FlowView`).

:func:`shortest_path` replays networkx's bidirectional Dijkstra (``nx.shortest_path`` with a
source, a target and a weight) step for step: the same neighbour order (links in scenario
order, as the per-flow graph inserted them), the same tie-breaking counter, the same float
additions. Routes are therefore identical to the networkx ones, ties included
(``tests/test_performance.py`` checks it on random networks).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corridors.agents import SupplyLink

MODE_PENALTY_DAYS = {
    "road": 0.0,
    "rail": 0.0,
    "sea": 0.0,
    "river": 0.0,
    "pipeline": 0.0,
    "air": 10.0,
}
"""Generalised cost added to a link's transit days when choosing routes: flying a tonne costs
far more than trucking it, so air is used only when surface routes are slower by more than this
(or full)."""

COST_PER_DAY = 100_000.0
"""A link's cost is ``(transit days + 1 + mode penalty) × COST_PER_DAY + length in km``: days
first (the 1 counts each hand-over), length only between routes of equal days. A throttled link
keeps its cost: throttling is less capacity, not a longer road."""


def link_cost(link: SupplyLink) -> float:
    """Generalised cost of moving a unit over a link (see :data:`COST_PER_DAY`)."""
    days = link.transit_days + 1 + MODE_PENALTY_DAYS[link.mode]
    return days * COST_PER_DAY + min(float(getattr(link, "length_km", None) or 0.0), 99_999.0)


def state_of(node: str) -> str:
    """The state a routing node belongs to ('Oman/Sohar' → 'Oman')."""
    return node.partition("/")[0]


@dataclass(frozen=True)
class HubEdge:
    """The passage between a state and one of its hubs, as a routing edge of its own, with the
    hub's throughput as capacity (shared by both directions)."""

    state: str
    hub: str
    capacity_t_per_day: float | None
    capacity_people_per_day: float | None

    @property
    def node(self) -> str:
        return f"{self.state}/{self.hub}"


Arc = tuple[str, float, int]
"""(other end, generalised cost, edge index) of a directed use of a link or hub edge. Edges are
the model's links in scenario order, then hub edges."""


@dataclass(frozen=True)
class SearchTrace:
    """Everything a route search read: the nodes whose outgoing (``succ``) and incoming
    (``pred``) arcs it listed, and each state's answer to "do you permit this flow?". A search
    that would read the same again finds the same route."""

    succ: frozenset[str]
    pred: frozenset[str]
    answers: tuple[tuple[tuple[str, str | None], bool], ...]
    """((state, mode), permitted) for every question asked."""


class GoodsNetwork:
    """The directed arcs usable by one good (links not closed, that carry it, and the passages
    to hubs), with the gatekeepers of the links that have any and each edge's mode (None for a
    hub edge); arcs are listed in the order links appear in the scenario."""

    def __init__(
        self, links: Sequence[SupplyLink], commodity: str, hubs: Sequence[HubEdge] = ()
    ) -> None:
        self.succ: dict[str, list[Arc]] = {}
        self.pred: dict[str, list[Arc]] = {}
        self.gatekeepers: dict[int, tuple[str, ...]] = {}
        self.modes: list[str | None] = [link.mode for link in links] + [None] * len(hubs)
        for i, link in enumerate(links):
            fraction = link.usable_fraction
            if fraction <= 0 or not link.can_carry(commodity):
                continue
            if link.gatekeepers:
                self.gatekeepers[i] = link.gatekeepers
            weight = link_cost(link)
            a, b = getattr(link, "a_node", link.a), getattr(link, "b_node", link.b)
            ends = [(a, b)]
            if link.bidirectional:
                ends.append((b, a))
            for u, v in ends:
                self.succ.setdefault(u, []).append((v, weight, i))
                self.pred.setdefault(v, []).append((u, weight, i))
        for h, hub in enumerate(hubs, start=len(links)):
            for u, v in ((hub.state, hub.node), (hub.node, hub.state)):
                self.succ.setdefault(u, []).append((v, 0.0, h))
                self.pred.setdefault(v, []).append((u, 0.0, h))


class FlowView:
    """The network as one flow sees it: an arc is usable when every gatekeeper of its link
    other than the flow's ends permits the flow on the link's mode, and so do both its ends'
    states. ``permits(state, mode)`` is asked at most once per state and mode, and only of
    states the search reaches. Hub edges need no permission of their own: the links into and
    out of the hub ask the state."""

    def __init__(
        self,
        network: GoodsNetwork,
        origin: str,
        destination: str,
        permits: Callable[[str, str | None], bool],
    ) -> None:
        self.network = network
        self.permits = permits
        self.ends = (origin, destination)
        self._answers: dict[tuple[str, str | None], bool] = {}
        self._node_answers: dict[tuple[str, str | None], bool] = {}
        """:meth:`node_ok` by node (a hub's answer is its state's)."""
        self._links: dict[int, bool] = {}
        self._succ: dict[str, dict[str, tuple[float, int]]] = {}
        self._pred: dict[str, dict[str, tuple[float, int]]] = {}
        self._all: dict[str, list[Arc]] = {}

    def node_ok(self, node: str, mode: str | None) -> bool:
        ok = self._node_answers.get((node, mode))
        if ok is None:
            state = state_of(node)
            if state in self.ends:
                ok = True
            else:
                key = (state, mode)
                ok = self._answers.get(key)
                if ok is None:
                    ok = self._answers[key] = self.permits(state, mode)
            self._node_answers[(node, mode)] = ok
        return ok

    def link_ok(self, i: int) -> bool:
        ok = self._links.get(i)
        if ok is None:
            gates = self.network.gatekeepers.get(i, ())
            mode = self.network.modes[i]
            ok = self._links[i] = all(self.node_ok(g, mode) for g in gates)
        return ok

    def arc_ok(self, here: str, other: str, i: int) -> bool:
        mode = self.network.modes[i]
        if mode is None:  # a hub edge
            return True
        if i in self.network.gatekeepers and not self.link_ok(i):
            return False
        return self.node_ok(here, mode) and self.node_ok(other, mode)

    def _arcs(self, arcs: list[Arc], here: str) -> dict[str, tuple[float, int]]:
        """Usable arcs by other end, in first-usable order; the cheapest link of parallel ones
        (the first of equals), as ``graph.add_edge`` kept it. (:meth:`arc_ok` for each arc,
        asking the same questions in the same order, with ``here``'s answer kept per mode.)"""
        out: dict[str, tuple[float, int]] = {}
        modes, gated = self.network.modes, self.network.gatekeepers
        here_ok: dict[str | None, bool] = {}
        for other, weight, i in arcs:
            mode = modes[i]
            if mode is not None:  # not a hub edge
                if i in gated and not self.link_ok(i):
                    continue
                ok = here_ok.get(mode)
                if ok is None:
                    ok = here_ok[mode] = self.node_ok(here, mode)
                if not ok or not self.node_ok(other, mode):
                    continue
            current = out.get(other)
            if current is None or weight < current[0]:
                out[other] = (weight, i)
        return out

    def successors(self, node: str) -> dict[str, tuple[float, int]]:
        out = self._succ.get(node)
        if out is None:
            out = self._succ[node] = self._arcs(self.network.succ.get(node, []), node)
        return out

    def predecessors(self, node: str) -> dict[str, tuple[float, int]]:
        out = self._pred.get(node)
        if out is None:
            out = self._pred[node] = self._arcs(self.network.pred.get(node, []), node)
        return out

    def usable_arcs(self, node: str) -> list[Arc]:
        """Every usable outgoing arc of a node, parallel links included (for flow assignment)."""
        out = self._all.get(node)
        if out is None:
            out = self._all[node] = [
                arc for arc in self.network.succ.get(node, []) if self.arc_ok(node, arc[0], arc[2])
            ]
        return out

    def has_node(self, node: str) -> bool:
        """Whether the node has a usable arc (was a node of the flow's graph)."""
        return bool(self.successors(node) or self.predecessors(node))

    def trace(self, origin: str, destination: str) -> SearchTrace:
        """What the searches on this view have read so far."""
        return SearchTrace(
            succ=frozenset(self._succ),
            pred=frozenset(self._pred),
            answers=tuple(self._answers.items()),
        )


def changed_nodes(
    old: GoodsNetwork, new: GoodsNetwork, links: Sequence[SupplyLink]
) -> tuple[set[str], set[str]]:
    """Nodes whose outgoing / incoming arcs differ between two networks of one good, and the
    ends of links whose gatekeepers differ: a search that read none of them reads the same."""
    succ = {u for u in old.succ.keys() | new.succ.keys() if old.succ.get(u) != new.succ.get(u)}
    pred = {v for v in old.pred.keys() | new.pred.keys() if old.pred.get(v) != new.pred.get(v)}
    for i in old.gatekeepers.keys() | new.gatekeepers.keys():
        if old.gatekeepers.get(i) != new.gatekeepers.get(i):
            link = links[i]
            ends = (getattr(link, "a_node", link.a), getattr(link, "b_node", link.b))
            succ.update(ends)
            pred.update(ends)
    return succ, pred


def shortest_path(view: FlowView, source: str, target: str) -> list[str] | None:
    """The nodes of the cheapest path from ``source`` to ``target``, or None: networkx's
    ``bidirectional_dijkstra``, step for step (see the module docstring)."""
    if source == target:
        return [source]
    dists: list[dict[str, float]] = [{}, {}]
    preds: list[dict[str, str | None]] = [{source: None}, {target: None}]
    seen: list[dict[str, float]] = [{source: 0}, {target: 0}]
    fringe: list[list[tuple[float, int, str]]] = [[], []]
    counter = itertools.count()
    heappush(fringe[0], (0, next(counter), source))
    heappush(fringe[1], (0, next(counter), target))
    neighbours = (view.successors, view.predecessors)
    finaldist: float | None = None
    meetnode: str | None = None
    direction = 1
    while fringe[0] and fringe[1]:
        direction = 1 - direction
        dist, _, v = heappop(fringe[direction])
        done = dists[direction]
        if v in done:
            continue
        done[v] = dist
        if v in dists[1 - direction]:
            assert meetnode is not None
            forward: list[str] = []
            node: str | None = meetnode
            while node is not None:
                forward.append(node)
                node = preds[0][node]
            forward.reverse()
            node = preds[1][meetnode]
            while node is not None:
                forward.append(node)
                node = preds[1][node]
            return forward
        seen_here, seen_there = seen[direction], seen[1 - direction]
        for w, (cost, _) in neighbours[direction](v).items():
            length = dist + cost
            if w in done:
                continue  # weights are positive: never shorter than the settled distance
            if w not in seen_here or length < seen_here[w]:
                seen_here[w] = length
                heappush(fringe[direction], (length, next(counter), w))
                preds[direction][w] = v
                if w in seen_there:
                    total = length + seen_there[w]
                    if finaldist is None or finaldist > total:
                        finaldist, meetnode = total, w
    return None
