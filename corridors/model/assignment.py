"""Flow assignment: each flow's demand over one or more routes, within link and hub capacities.

A min-cost flow per flow ("commodity"), the commodities sharing edge capacity:

1. Every flow first gets a weighted max-min fair share of its cheapest route, with weights
   ``priority × demand`` (the capacity sharing the model always used: humanitarian before
   commercial in proportion to their priorities, equal priorities get equal fractions of their
   demand), so that flows behind one bottleneck split it rather than the first taking all.
2. Then each flow in turn, highest priority first (scenario order among equals), sends what is
   still missing by successive shortest paths on its residual network: the cheapest path with
   spare capacity, where cancelling some of its own flow on an edge counts at minus the edge's
   cost, until its demand is met or no such path is left.

Guarantees (``tests/test_assignment.py``): no edge carries more than its capacity; a flow alone
gets the maximum flow the network allows, at minimum cost (successive shortest paths from a flow
on a cheapest path, which is a min-cost flow of its value at any capacity); spare capacity off
the cheapest routes goes to higher priorities first. Between several flows the result is fair on
the cheapest routes and by priority on the rest: it is not a multi-commodity optimum, which
would need an LP.

Costs (:func:`corridors.model.routing.link_cost`) are positive on links and zero on hub edges, so
a min-cost flow has no cycles and splits into paths (:func:`decompose`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

MAX_AUGMENTATIONS = 2_000
"""Per flow and assignment: a safety bound (each augmentation fills an arc or meets demand)."""


class ArcSource(Protocol):
    def usable_arcs(self, node: str) -> list[tuple[str, float, int]]: ...


@dataclass
class Commodity:
    """One flow's part of an assignment problem."""

    source: str
    sink: str
    demand: float
    priority: float
    arcs: ArcSource
    """Its usable arcs: (other end, cost, edge) by node."""
    first_path: tuple[tuple[int, str, str], ...] = ()
    """Its cheapest route as (edge, from, to), or empty when it has none."""
    key: object = None
    """What identifies its arcs (same key, same arcs): lets ``assign`` remember that it found
    no path beyond the cheapest route with the same edges full."""


Arc = tuple[int, str, str]
"""(edge, from node, to node): one direction of an edge."""

Share = Callable[[list[float], list[float], list[float], list[tuple[int, int]]], list[float]]


def assign(
    capacity: Sequence[float],
    edge_cost: Sequence[float],
    commodities: Sequence[Commodity],
    share: Share,
    augmented: list[bool] | None = None,
    stuck: set[object] | None = None,
) -> list[dict[Arc, float]]:
    """Each commodity's flow on each directed edge (see the module docstring).

    ``share(demand, weight, capacity, pairs)`` is the weighted progressive filling of the
    cheapest routes (:func:`corridors.model.logistics.share_capacity` on lists). When given,
    ``augmented`` is filled with whether each commodity went beyond its cheapest route (the
    others' flow is that route alone, and their arcs were never asked for). ``stuck`` remembers
    (key, first path, full edges) for which no further path existed: whether one exists depends
    only on which edges have room, so the search is skipped when that is unchanged."""
    used = [0.0] * len(capacity)
    flows: list[dict[Arc, float]] = [{} for _ in commodities]
    members = [k for k, c in enumerate(commodities) if c.demand > 0]
    # 1. fair shares of the cheapest routes
    demand = [commodities[k].demand for k in members]
    weight = [commodities[k].priority * commodities[k].demand for k in members]
    pairs = [(j, arc[0]) for j, k in enumerate(members) for arc in commodities[k].first_path]
    shipped = share(demand, weight, list(capacity), pairs) if pairs else [0.0] * len(members)
    sent = dict.fromkeys(members, 0.0)
    for j, k in enumerate(members):
        if shipped[j] > 0:
            sent[k] = shipped[j]
            for arc in commodities[k].first_path:
                _push(flows[k], used, arc, shipped[j])
    # 2. the rest by successive shortest paths, one flow after another
    if augmented is not None:
        augmented[:] = [False] * len(commodities)
    for k in sorted(members, key=lambda k: -commodities[k].priority):
        c = commodities[k]
        memo = None
        if stuck is not None and c.key is not None and sent[k] < c.demand:
            full = frozenset(
                e
                for e, (cap, u) in enumerate(zip(capacity, used, strict=True))
                if cap - u <= 1e-12 * max(1.0, cap)
            )
            memo = (c.key, c.first_path, sent[k] > 0, full)
            if memo in stuck:
                continue
        total = _augment(c, flows[k], capacity, used, edge_cost, sent[k])
        if memo is not None and total == sent[k]:
            stuck.add(memo)
        if augmented is not None and total != sent[k]:
            augmented[k] = True
    return flows


def _push(flow: dict[Arc, float], used: list[float], arc: Arc, amount: float) -> None:
    """Send ``amount`` along ``arc``, first cancelling the flow's own flow the other way."""
    edge, u, v = arc
    back = (edge, v, u)
    against = flow.get(back, 0.0)
    if against > 0.0:
        cancel = min(against, amount)
        left = against - cancel
        if left > 0.0:
            flow[back] = left
        else:
            del flow[back]
        used[edge] -= cancel
        amount -= cancel
    if amount > 0.0:
        flow[arc] = flow.get(arc, 0.0) + amount
        used[edge] += amount


def _augment(
    commodity: Commodity,
    flow: dict[Arc, float],
    capacity: Sequence[float],
    used: list[float],
    edge_cost: Sequence[float],
    sent: float,
) -> float:
    """Successive shortest paths for one commodity on the capacity left; returns what it sends
    in total."""
    for _ in range(MAX_AUGMENTATIONS):
        missing = commodity.demand - sent
        if missing <= 1e-9 * commodity.demand:
            break
        path = _cheapest_residual_path(commodity, flow, capacity, used, edge_cost)
        if path is None:
            break
        room = missing
        for arc, cancels in path:
            edge = arc[0]
            spare = flow[(edge, arc[2], arc[1])] if cancels else capacity[edge] - used[edge]
            room = min(room, spare)
        if room <= 0.0:
            break
        for arc, _ in path:
            _push(flow, used, arc, room)
        sent += room
    return sent


def _cheapest_residual_path(
    commodity: Commodity,
    flow: dict[Arc, float],
    capacity: Sequence[float],
    used: list[float],
    edge_cost: Sequence[float],
) -> list[tuple[Arc, bool]] | None:
    """Bellman-Ford (a FIFO label-correcting queue) from source to sink over arcs with spare
    capacity and reversals of the commodity's own flow (negative cost). Ties keep the first
    label found: arcs in scenario order, then reversals in the order the flow was built."""
    tol = 1e-12 * commodity.demand
    reverse: dict[str, list[tuple[int, str, float]]] = {}
    for (edge, u, v), amount in flow.items():
        if amount > tol:
            reverse.setdefault(v, []).append((edge, u, amount))
    source, sink = commodity.source, commodity.sink
    dist: dict[str, float] = {source: 0.0}
    pred: dict[str, tuple[Arc, bool]] = {}
    queue = deque([source])
    queued = {source}
    relaxations = 0
    limit = 64 * (len(capacity) + 2) ** 2
    while queue:
        node = queue.popleft()
        queued.discard(node)
        base = dist[node]
        candidates: list[tuple[str, float, Arc, bool]] = []
        for other, cost, edge in commodity.arcs.usable_arcs(node):
            if capacity[edge] - used[edge] > 1e-12 * max(1.0, capacity[edge]):
                candidates.append((other, cost, (edge, node, other), False))
        for edge, other, _ in reverse.get(node, ()):
            candidates.append((other, -edge_cost[edge], (edge, node, other), True))
        for other, cost, arc, cancels in candidates:
            length = base + cost
            if other not in dist or length < dist[other] - 1e-9 * abs(length):
                dist[other] = length
                pred[other] = (arc, cancels)
                if other not in queued and other != sink:
                    queue.append(other)
                    queued.add(other)
        relaxations += 1
        if relaxations > limit:  # cannot happen without a negative cycle; stay feasible
            return None
    if sink not in pred:
        return None
    path: list[tuple[Arc, bool]] = []
    node = sink
    seen = {sink}
    while node != source:
        step = pred[node]
        path.append(step)
        node = step[0][1]
        if node in seen:
            return None
        seen.add(node)
    path.reverse()
    return path


def decompose(
    flow: dict[Arc, float], source: str, sink: str, tol: float
) -> list[tuple[list[Arc], float]]:
    """Split a flow into source-to-sink paths with amounts, cheapest-first order not implied:
    each path follows, from every node, the first arc (in the order the flow was built) that
    still carries flow."""
    left = {arc: amount for arc, amount in flow.items() if amount > tol}
    out_of: dict[str, list[Arc]] = {}
    for arc in left:
        out_of.setdefault(arc[1], []).append(arc)
    paths: list[tuple[list[Arc], float]] = []
    for _ in range(len(left) + 1):
        path: list[Arc] = []
        node, seen = source, {source}
        while node != sink:
            arc = next((a for a in out_of.get(node, ()) if left.get(a, 0.0) > tol), None)
            if arc is None or arc[2] in seen:
                break
            path.append(arc)
            node = arc[2]
            seen.add(node)
        if node != sink or not path:
            break
        amount = min(left[a] for a in path)
        for arc in path:
            left[arc] -= amount
        paths.append((path, amount))
    return paths
