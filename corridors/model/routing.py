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

MODE_PENALTY_DAYS = {"road": 0.0, "rail": 0.0, "sea": 0.0, "pipeline": 0.0, "air": 10.0}
"""Generalised cost added to a link's transit days when choosing routes: flying a tonne costs
far more than trucking it, so air is used only when surface routes are slower by more than this.
A throttled link's cost is divided by its usable fraction, so flows prefer open alternatives."""

Arc = tuple[str, float, int]
"""(other end, generalised cost, link index) of a directed use of a link."""


@dataclass(frozen=True)
class SearchTrace:
    """Everything a route search read: the nodes whose outgoing (``succ``) and incoming
    (``pred``) arcs it listed, and each state's answer to "do you permit this flow?". A search
    that would read the same again finds the same route."""

    succ: frozenset[str]
    pred: frozenset[str]
    answers: tuple[tuple[str, bool], ...]


class GoodsNetwork:
    """The directed arcs usable by one good (links not closed, that carry it), with the
    gatekeepers of the links that have any; arcs are listed in the order links appear in the
    scenario."""

    def __init__(self, links: Sequence[SupplyLink], commodity: str) -> None:
        self.succ: dict[str, list[Arc]] = {}
        self.pred: dict[str, list[Arc]] = {}
        self.gatekeepers: dict[int, tuple[str, ...]] = {}
        for i, link in enumerate(links):
            fraction = link.usable_fraction
            if fraction <= 0 or not link.can_carry(commodity):
                continue
            if link.gatekeepers:
                self.gatekeepers[i] = link.gatekeepers
            weight = (link.transit_days + 1 + MODE_PENALTY_DAYS[link.mode]) / fraction
            ends = [(link.a, link.b)]
            if link.bidirectional:
                ends.append((link.b, link.a))
            for u, v in ends:
                self.succ.setdefault(u, []).append((v, weight, i))
                self.pred.setdefault(v, []).append((u, weight, i))


class FlowView:
    """The network as one flow sees it: an arc is usable when every gatekeeper of its link
    other than the flow's ends permits the flow, and so do both its ends. ``permits(state)``
    is asked at most once per state, and only of states the search reaches."""

    def __init__(
        self,
        network: GoodsNetwork,
        origin: str,
        destination: str,
        permits: Callable[[str], bool],
    ) -> None:
        self.network = network
        self.permits = permits
        self._nodes: dict[str, bool] = {origin: True, destination: True}
        self._links: dict[int, bool] = {}
        self._succ: dict[str, dict[str, tuple[float, int]]] = {}
        self._pred: dict[str, dict[str, tuple[float, int]]] = {}

    def node_ok(self, state: str) -> bool:
        ok = self._nodes.get(state)
        if ok is None:
            ok = self._nodes[state] = self.permits(state)
        return ok

    def link_ok(self, i: int) -> bool:
        ok = self._links.get(i)
        if ok is None:
            gates = self.network.gatekeepers.get(i, ())
            ok = self._links[i] = all(self.node_ok(g) for g in gates)
        return ok

    def _arcs(self, arcs: list[Arc], here: str) -> dict[str, tuple[float, int]]:
        """Usable arcs by other end, in first-usable order; the cheapest link of parallel ones
        (the first of equals), as ``graph.add_edge`` kept it."""
        out: dict[str, tuple[float, int]] = {}
        if not self.node_ok(here):
            return out
        nodes, links, gated = self._nodes, self._links, self.network.gatekeepers
        for other, weight, i in arcs:
            if i in gated:
                ok = links.get(i)
                if not (ok or (ok is None and self.link_ok(i))):
                    continue
            ok = nodes.get(other)
            if not (ok or (ok is None and self.node_ok(other))):
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

    def has_node(self, node: str) -> bool:
        """Whether the node has a usable arc (was a node of the flow's graph)."""
        return bool(self.successors(node) or self.predecessors(node))

    def trace(self, origin: str, destination: str) -> SearchTrace:
        """What the searches on this view have read so far."""
        return SearchTrace(
            succ=frozenset(self._succ),
            pred=frozenset(self._pred),
            answers=tuple(
                (s, ok) for s, ok in self._nodes.items() if s not in (origin, destination)
            ),
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
            ends = (links[i].a, links[i].b)
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
