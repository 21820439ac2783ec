"""Logistics: routing flows over usable links, sharing capacity, transit delay, losses.

Every flow has a cheapest route (the quickest chain of links that are not closed, that carry its
good, and whose gatekeepers and intermediate states permit it on the link's mode). When the
flows' demands fit on their cheapest routes, that is the plan. When they do not, the demand is
assigned over several routes within link and hub capacities (:mod:`corridors.model.assignment`:
priorities first, then cheapest routes first). Each day the planned tonnes per route meet the
day's capacities, which vary around nominal: routes share a link in proportion to
``priority × planned tonnes`` (weighted progressive filling), so no link ever carries more than
its capacity. Goods arrive after the sum of the route's transit days; a fraction
``1 − Π(1 − loss_rate)`` is lost on the way. Routes are recomputed only when a link's status or a
transit permission changes (the model's ``network_version``), the plan only when routes or
demands change.

Conservation, per flow and in total, every day: shipped = delivered + in transit + lost.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridors.model.assignment import Commodity, assign, decompose
from corridors.model.routing import (
    FlowView,
    GoodsNetwork,
    HubEdge,
    SearchTrace,
    changed_nodes,
    link_cost,
    shortest_path,
    state_of,
)

if TYPE_CHECKING:
    from corridors.agents import StateAgent, SupplyLink
    from corridors.model.conflict_model import ConflictModel


@dataclass
class RuntimeFlow:
    """A flow created during a run (an arms contract, a displacement), shaped like a scenario
    ``Flow`` so logistics treats both alike. ``commodity`` may be ``people``."""

    name: str
    commodity: str
    origin: str
    destination: str
    quantity_t_per_day: float = 0.0
    start: dt.date | None = None
    end: dt.date | None = None
    priority: float = 1.0
    track_routes: bool = False
    """Account deliveries by route (for arms: 'by supplier and by route')."""


@dataclass(frozen=True)
class Route:
    """A flow's chain of links (indices into the model's link list) and its properties."""

    links: tuple[int, ...]
    nodes: tuple[str, ...]
    """Routing nodes: states, and hubs as 'State/Hub'."""
    transit_days: int
    survival: float
    """Fraction of a shipment that is not lost along the route."""
    edges: tuple[int, ...] = ()
    """Links and hub edges (indices after the links), in order: what uses capacity."""

    def describe(self) -> str:
        """The nodes, a state next to its own hub shown once (as the hub)."""
        shown: list[str] = []
        for node in self.nodes:
            if shown and state_of(shown[-1]) == state_of(node):
                if "/" in node and "/" not in shown[-1]:
                    shown[-1] = node
                elif "/" in node and "/" in shown[-1]:
                    shown.append(node)
                continue
            shown.append(node)
        return " → ".join(shown)


@dataclass(frozen=True)
class PlannedPath:
    """A route a flow uses in the current plan, and the amount planned on it per day."""

    flow: int
    route: Route
    amount: float


SMALL_SHARING = 128
"""Up to this many (flow, link) pairs, :func:`share_capacity` runs in plain Python: numpy's
per-call overhead dominates arrays of a dozen elements (the default scenario's)."""


def share_capacity(
    demand: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    pair_flow: np.ndarray,
    pair_link: np.ndarray,
) -> np.ndarray:
    """Tonnes each flow ships today: weighted progressive filling (max-min fair by weight).

    All flows with demand grow together at rates proportional to ``weight`` (priority × demand,
    so equal priorities get equal fractions of their demand); a flow stops when its demand is
    met or when a link on its route is full, and the capacity it leaves is shared among the
    rest. ``pair_flow[k]`` uses link ``pair_link[k]``. No link ever carries more than its capacity.
    """
    if pair_flow.size <= SMALL_SHARING:
        shipped = _share_small(demand, weight, capacity, pair_flow, pair_link)
        if shipped is not None:
            return shipped
    return _share_arrays(demand, weight, capacity, pair_flow, pair_link)


def _plain(values: list[float]) -> bool:
    """Zeros, or numbers with which no operation of the filling overflows, underflows or
    meets a NaN: then plain floats and numpy's arrays give the same bits."""
    nonzero = [v for v in values if v]
    if not nonzero:
        return True
    total = sum(nonzero)  # NaN or infinite if any value is: min and max need neither
    return total - total == 0.0 and min(nonzero) >= 1e-100 and max(nonzero) <= 1e100


def _share_small(
    demand: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    pair_flow: np.ndarray,
    pair_link: np.ndarray,
) -> np.ndarray | None:
    """:func:`_share_lists` on arrays."""
    pairs = list(zip(pair_flow.tolist(), pair_link.tolist(), strict=True))
    shipped = _share_lists(demand.tolist(), weight.tolist(), capacity.astype(float).tolist(), pairs)
    return None if shipped is None else np.array(shipped, dtype=float)


def _share_lists(
    d: list[float], w: list[float], cap: list[float], pairs: list[tuple[int, int]]
) -> list[float] | None:
    """:func:`_share_arrays` on plain floats: the same operations on the same doubles in the
    same order (sums in pair order, as ``np.bincount`` adds), so the same result, bit for bit
    (``tests/test_performance.py`` checks it). None when a number is outside the range where
    that is guaranteed; the array version then runs."""
    if not (_plain(d) and _plain(w) and _plain(cap)):
        return None
    return _fill(_Filling(d, w, pairs), cap)


class _Filling:
    """What the progressive filling needs that depends on demands and weights only (not on
    the day's capacities): kept with a plan, so that each day only :func:`_fill` runs."""

    def __init__(self, d: list[float], w: list[float], pairs: list[tuple[int, int]]) -> None:
        self.d, self.w = d, w
        self.plain = _plain(d) and _plain(w)
        on_route = {f for f, _ in pairs}
        self.active = {f for f in on_route if d[f] > 0 and w[f] > 0}
        self.pairs = [p for p in pairs if p[0] in self.active]
        self.enough = {f: d[f] * (1 - 1e-12) for f in self.active}
        link_weight: dict[int, float] = {}
        for f, li in self.pairs:  # in pair order, as np.bincount adds
            link_weight[li] = link_weight.get(li, 0.0) + w[f]
        self.link_weight = link_weight
        """The first round's weight on each link."""
        self.first_step = min([d[f] / w[f] for f in self.active]) if self.active else 0.0
        """The first round's step as the flows alone limit it (``(d − 0) / w``)."""


def _fill(plan: _Filling, cap: list[float]) -> list[float]:
    """The progressive filling of :func:`_share_lists` on today's capacities."""
    d, w, enough = plan.d, plan.w, plan.enough
    n_flows, n_links = len(d), len(cap)
    active = set(plan.active)
    pairs = plan.pairs
    alloc = [0.0] * n_flows
    remaining = list(cap)
    link_weight = plan.link_weight
    first = True
    # Only flows still growing and the links they use are visited: a link no active flow
    # uses keeps its remaining capacity (the array version subtracts 0 from it).
    for _ in range(n_flows + n_links + 1):
        if not active:
            break
        if first:
            step = plan.first_step
            first = False
        else:
            link_weight = {}
            for f, li in pairs:  # in pair order, as np.bincount adds
                link_weight[li] = link_weight.get(li, 0.0) + w[f]
            step = min([(d[f] - alloc[f]) / w[f] for f in active])
        step = min(step, *[remaining[li] / lw for li, lw in link_weight.items()])
        step = max(0.0, step)
        for f in active:
            alloc[f] += step * w[f]
        full = set()
        for li, lw in link_weight.items():
            left = remaining[li] - step * lw
            if left > 0.0:
                remaining[li] = left
                if left <= 1e-12 * max(cap[li], 1.0):
                    full.add(li)
            else:
                remaining[li] = 0.0
                full.add(li)
        stopped = {f for f in active if alloc[f] >= enough[f]}
        if full:
            stopped.update(f for f, li in pairs if li in full)
        if stopped:
            active -= stopped
            pairs = [p for p in pairs if p[0] in active]
    return [a if a < x else x for a, x in zip(alloc, d, strict=True)]


def _share_arrays(
    demand: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    pair_flow: np.ndarray,
    pair_link: np.ndarray,
) -> np.ndarray:
    """:func:`share_capacity` on numpy arrays (any size, any numbers)."""
    n_links = capacity.size
    alloc = np.zeros_like(demand)
    active = (demand > 0) & (weight > 0)
    on_route = np.zeros(demand.size, dtype=bool)
    on_route[pair_flow] = True
    active &= on_route
    remaining = capacity.astype(float).copy()
    tolerance = 1e-12
    for _ in range(demand.size + n_links + 1):
        if not active.any():
            break
        act_pair = active[pair_flow]
        link_weight = np.bincount(
            pair_link[act_pair], weights=weight[pair_flow[act_pair]], minlength=n_links
        )
        # over="ignore": a tiny weight (a demand of 1e-310 t) overflows remaining / weight to
        # inf, which is the right answer (that link never limits the flow), not a warning.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t_flow = np.where(active, (demand - alloc) / weight, np.inf)
            t_link = np.where(link_weight > 0, remaining / link_weight, np.inf)
        step = max(0.0, min(t_flow.min(), t_link.min()))
        alloc[active] += step * weight[active]
        remaining = np.maximum(remaining - step * link_weight, 0.0)
        full_link = (link_weight > 0) & (remaining <= tolerance * np.maximum(capacity, 1.0))
        done = active & (alloc >= demand * (1 - 1e-12))
        blocked = np.zeros_like(active)
        blocked[pair_flow[act_pair & full_link[pair_link]]] = True
        active &= ~(done | blocked)
    return np.minimum(alloc, demand)


def _amount(x: float) -> str:
    """A daily amount for the log: whole units, or three digits when small."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


class _LazyView:
    """A flow's :class:`FlowView`, built when the assignment first asks for its arcs (most
    flows never need more than their cheapest route)."""

    def __init__(self, logistics: Logistics, key: tuple[str, str, str]) -> None:
        self.logistics, self.key = logistics, key
        self.view: FlowView | None = None

    def usable_arcs(self, node: str) -> list[tuple[str, float, int]]:
        if self.view is None:
            self.view = self.logistics._view(*self.key)
        return self.view.usable_arcs(node)


FULL = 1 - 1e-9
"""An edge is full when its planned load reaches this share of its capacity."""

UNLIMITED = 1e15
"""Capacity of a hub without a given throughput (finite, so the sharing stays in plain floats)."""


def _share_or_arrays(
    demand: list[float], weight: list[float], capacity: list[float], pairs: list[tuple[int, int]]
) -> list[float]:
    """:func:`share_capacity` on lists: plain Python for small problems, numpy otherwise."""
    if len(pairs) <= SMALL_SHARING:
        listed = _share_lists(demand, weight, capacity, pairs)
        if listed is not None:
            return listed
    return share_capacity(
        np.array(demand, dtype=float),
        np.array(weight, dtype=float),
        np.array(capacity, dtype=float),
        np.array([f for f, _ in pairs], dtype=np.int64),
        np.array([e for _, e in pairs], dtype=np.int64),
    ).tolist()


class Logistics:
    """Daily shipping and delivery for all flows of a model."""

    def __init__(
        self, model: ConflictModel, flows: list[Any] | None = None, unit: str = "t"
    ) -> None:
        self.model = model
        self.unit = unit
        """``t`` for goods; ``people`` for displacement (link capacity in people per day)."""
        self.links: list[SupplyLink] = list(model.links)
        self.link_index = {lk.name: i for i, lk in enumerate(self.links)}
        self._load_hubs()
        self.flow_specs: list[Any] = list(model.spec.flows if flows is None else flows)
        self.flow_names = [f.name for f in self.flow_specs]
        n = len(self.flow_specs)
        self.delivered_by_route: dict[tuple[int, str], float] = {}
        """For flows that track routes: delivered amount by (flow index, route label)."""
        self._pending_routes: dict[int, dict[tuple[int, str], float]] = {}
        self._new_flows: set[int] = set()
        """Flows added since routes were last computed: their first route is not a change."""
        self.shipped_t = np.zeros(n)
        self.delivered_t = np.zeros(n)
        self.lost_t = np.zeros(n)
        self.shipped_today_t = np.zeros(n)
        self.delivered_today_t = np.zeros(n)
        self._unmet: list[float] = [0.0] * n
        """Demand of active flows not shipped (no route, no capacity, no stock)."""
        self.paths: list[PlannedPath] = []
        """Today's plan: the routes each flow uses and the amounts planned on them."""
        self._plan_key: tuple[int, tuple[float, ...]] | None = None
        self.capacity_limited: dict[int, str] = {}
        """Flows the plan cannot serve in full, with why (logged when it starts and ends)."""
        self._route_ids: dict[str, int] = {}
        self._labels_by_route: dict[Route, str] = {}
        self._route_names: list[str] = []
        self.pending: dict[int, list[float]] = {}
        """Goods in transit by arrival day index (t per flow; plain floats: a dozen additions a
        day cost less on a list than on an array, with the same result)."""
        self.routes: list[Route | None] = [None] * n
        self.no_route_reason: list[str] = [""] * n
        self._route_version = -1
        self._networks: dict[str, GoodsNetwork] = {}
        """Arcs usable by each good, at the last route refresh."""
        self._searched: dict[tuple[str, str, str], tuple[Route | None, SearchTrace, int]] = {}
        """Each (origin, destination, good)'s last route, what its search read, and the last
        refresh that found it still valid."""
        self._refreshes = 0
        self._link_facts: list[tuple[int, float]] = []
        """Transit days and loss rate of each link at the last route refresh."""
        self._records: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._load_flow_arrays()
        self.refresh_routes()
        self._fill_pipeline()

    def _load_hubs(self) -> None:
        """Hub passages from the scenario (again when an event changes a state's hubs)."""
        self.hubs: list[HubEdge] = [
            HubEdge(st.name, hub.name, hub.capacity_t_per_day, hub.capacity_people_per_day)
            for st in self.model.spec.states
            for hub in st.hubs
        ]
        """Hub passages: routing edges after the links (index ``len(links) + h``)."""
        self.edge_names = [lk.name for lk in self.links] + [f"hub {h.node}" for h in self.hubs]
        self.edge_cost = [link_cost(lk) for lk in self.links] + [0.0] * len(self.hubs)

    def _fill_pipeline(self) -> None:
        """Goods already on their way at the start, as if each flow active on day 0 had been
        running at its nominal rate: otherwise every scenario opens with a false gap."""
        demand = np.where(
            (self.first_day <= 0) & (self.last_day >= 0) & self._routed, self.quantity, 0.0
        ).tolist()
        self._plan(demand, log=False)
        shipped = self._share_paths(self._nominal)
        self._plan_key, self.capacity_limited = None, {}  # the first day plans and logs
        for path, amount in zip(self.paths, shipped, strict=True):
            arriving = amount * path.route.survival
            if not arriving:
                continue
            fidx = path.flow
            for days_before in range(1, path.route.transit_days + 1):
                due = path.route.transit_days - days_before
                bucket = self.pending.setdefault(due, [0.0] * len(self.flow_specs))
                bucket[fidx] += arriving
                self.shipped_t[fidx] += arriving

    # ------------------------------------------------------------------ set-up and caches

    def _load_flow_arrays(self) -> None:
        """Arrays of the flows' numbers; reloaded when an event changes a flow's spec."""
        start = self.model.start_date
        specs = self.flow_specs
        self.quantity = np.array([f.quantity_t_per_day for f in specs], dtype=float)
        self.priority = np.array([f.priority for f in specs], dtype=float)
        self.first_day = np.array(
            [(f.start - start).days if f.start else -(10**9) for f in specs], dtype=np.int64
        )
        self.last_day = np.array(
            [(f.end - start).days if f.end else 10**9 for f in specs], dtype=np.int64
        )
        states = self.model.states_by_name
        self._origins: list[StateAgent] = [states[f.origin] for f in specs]
        self._destinations: list[StateAgent] = [states[f.destination] for f in specs]
        self._commodities: list[str] = [f.commodity for f in specs]
        self._tracked = [i for i, f in enumerate(specs) if getattr(f, "track_routes", False)]
        """Flows whose deliveries are accounted by route."""
        self._tracked_set = set(self._tracked)
        self._start_days = set(self.first_day.tolist())
        self._priorities: list[float] = self.priority.tolist()
        self._first_days: list[int] = self.first_day.tolist()
        self._last_days: list[int] = self.last_day.tolist()

    def flows_changed(self) -> None:
        self._load_flow_arrays()
        self._plan_key = None  # priorities may have changed: plan again

    def nominal_capacity(self) -> np.ndarray:
        """Each link's capacity today before day-to-day variability (t or people per day)."""
        if self.unit == "people":
            return np.array([lk.capacity_people_per_day * lk.usable_fraction for lk in self.links])
        return np.array([lk.capacity_t_per_day * lk.usable_fraction for lk in self.links])

    def edge_capacity(self) -> np.ndarray:
        """Nominal capacity of every edge: links (as :meth:`nominal_capacity`), then hubs
        (unlimited when not given)."""
        links = self.nominal_capacity()
        if not self.hubs:
            return links
        people = self.unit == "people"
        hubs = [(h.capacity_people_per_day if people else h.capacity_t_per_day) for h in self.hubs]
        return np.concatenate([links, [UNLIMITED if c is None else c for c in hubs]])

    def add_flow(self, flow: Any) -> int:
        """Add a flow during the run (a contract, a displacement); returns its index."""
        self.flow_specs.append(flow)
        self.flow_names.append(flow.name)
        for name in (
            "shipped_t",
            "delivered_t",
            "lost_t",
            "shipped_today_t",
            "delivered_today_t",
        ):
            setattr(self, name, np.append(getattr(self, name), 0.0))
        for bucket in self.pending.values():
            bucket.append(0.0)
        self.routes.append(None)
        self._unmet.append(0.0)
        self.no_route_reason.append("")
        self._load_flow_arrays()
        self._route_version = -2  # routes must be recomputed, but this is not the start
        self._new_flows.add(len(self.flow_specs) - 1)
        return len(self.flow_specs) - 1

    def set_quantity(self, fi: int, quantity: float) -> None:
        """Today's demand of a run-time flow (e.g. what an arms backlog allows)."""
        self.flow_specs[fi].quantity_t_per_day = quantity
        self.quantity[fi] = quantity

    def route_label(self, fi: int) -> str:
        """The flow's cheapest route, described."""
        return self.describe_route(self.routes[fi])

    def describe_route(self, route: Route | None) -> str:
        if route is None:
            return "no route"
        return f"{route.describe()} via " + " + ".join(self.links[i].name for i in route.links)

    @property
    def unmet_t(self) -> np.ndarray:
        """Per flow, demand while active that was not shipped (no route, capacity or stock)."""
        return np.array(self._unmet, dtype=float)

    @property
    def in_transit_t(self) -> np.ndarray:
        total = np.zeros(len(self.flow_specs))
        for amounts in self.pending.values():
            total += amounts
        return total

    # ------------------------------------------------------------------ routing

    def _network(self, commodity: str) -> GoodsNetwork:
        """The arcs usable by a good, built once per route refresh."""
        network = self._networks.get(commodity)
        if network is None:
            network = self._networks[commodity] = GoodsNetwork(self.links, commodity, self.hubs)
        return network

    def _why_unusable(self, link: SupplyLink, origin: str, destination: str, commodity: str) -> str:
        if link.status == "closed":
            return f"{link.name} is closed"
        if link.usable_fraction <= 0:  # otherwise reported as "leads nowhere useful"
            return f"{link.name} is throttled to 0% of capacity"
        if not link.can_carry(commodity):
            return f"{link.name} does not carry {commodity}"
        mode = link.mode
        by = "" if mode not in ("air",) else " through its airspace"
        for g in link.gatekeepers:
            if g not in (origin, destination) and not self.model.permits_transit(
                g, origin, destination, commodity, mode
            ):
                return f"{g} denies transit{by} on {link.name}"
        for s in (link.a, link.b):
            if s not in (origin, destination) and not self.model.permits_transit(
                s, origin, destination, commodity, mode
            ):
                return f"{s} denies transit{by}"
        return f"{link.name} leads nowhere useful"

    def _view(self, origin: str, destination: str, commodity: str) -> FlowView:
        permits = self.model.permits_transit
        return FlowView(
            self._network(commodity),
            origin,
            destination,
            lambda state, mode: permits(state, origin, destination, commodity, mode),
        )

    def _make_route(self, nodes: Sequence[str], edges: Sequence[int]) -> Route:
        n_links = len(self.links)
        link_ids = tuple(i for i in edges if i < n_links)
        return Route(
            links=link_ids,
            nodes=tuple(nodes),
            transit_days=sum(self.links[i].transit_days for i in link_ids),
            survival=math.prod(1.0 - self.links[i].loss_rate for i in link_ids),
            edges=tuple(edges),
        )

    def _route(self, origin: str, destination: str, commodity: str) -> Route | None:
        view = self._view(origin, destination, commodity)
        route = None
        if view.has_node(origin) and view.has_node(destination):
            nodes = shortest_path(view, origin, destination)
            if nodes is not None:
                edges = [view.successors(u)[v][1] for u, v in itertools.pairwise(nodes)]
                route = self._make_route(nodes, edges)
        trace = view.trace(origin, destination)
        self._searched[(origin, destination, commodity)] = (route, trace, self._refreshes)
        return route

    def _unchanged_route(
        self,
        key: tuple[str, str, str],
        previous: dict[str, GoodsNetwork],
        moved: set[str],
        stale: dict[str, tuple[set[str], set[str]]],
    ) -> tuple[bool, Route | None]:
        """(True, route) when a new search for ``key`` would read exactly what its last one
        read — the same arcs at every node it listed, the same answers from every state it
        asked — and so find the same route; (False, None) when it must search again.

        Ties between equally quick routes are broken by the order of the search, so this is
        stricter than "the route is still usable": the result is the route a fresh search finds.
        """
        known = self._searched.get(key)
        old = previous.get(key[2])
        # Only an entry checked at the last refresh: changes are known since then only.
        if known is None or old is None or known[2] != self._refreshes - 1:
            return False, None
        route, trace, _ = known
        dirty = stale.get(key[2])
        if dirty is None:
            succ, pred = changed_nodes(old, self._network(key[2]), self.links)
            dirty = stale[key[2]] = (succ | moved, pred | moved)
        if not (trace.succ.isdisjoint(dirty[0]) and trace.pred.isdisjoint(dirty[1])):
            return False, None
        permits = self.model.permits_transit
        origin, destination, commodity = key
        for (state, mode), answer in trace.answers:
            if permits(state, origin, destination, commodity, mode) != answer:
                return False, None
        self._searched[key] = (route, trace, self._refreshes)
        return True, route

    def refresh_routes(self) -> None:
        """Recompute routes if the network changed since they were last computed."""
        if self._route_version == self.model.network_version:
            return
        first = self._route_version == -1
        self._route_version = self.model.network_version
        self._refreshes += 1
        self._load_hubs()  # also picks up a link's changed transit days (its cost)
        self._nominal: list[float] = self.edge_capacity().tolist()
        """Nominal edge capacities: every change of a link's status, throttle, escort or
        capacity, and of a hub, changes the network version, and so refreshes this."""
        previous, self._networks = self._networks, {}
        for commodity in {flow.commodity for flow in self.flow_specs}:
            self._network(commodity)
        # Links whose transit time or losses changed: routes through them must be rebuilt.
        facts = [(lk.transit_days, lk.loss_rate) for lk in self.links]
        moved = {
            end
            for lk, now, then in zip(self.links, facts, self._link_facts, strict=False)
            if now != then
            for end in (lk.a, lk.b)
        }
        self._link_facts = facts
        stale: dict[str, tuple[set[str], set[str]]] = {}
        cache: dict[tuple[str, str, str], Route | None] = {}
        for fi, flow in enumerate(self.flow_specs):
            key = (flow.origin, flow.destination, flow.commodity)
            if key not in cache:
                same, route = self._unchanged_route(key, previous, moved, stale)
                cache[key] = route if same else self._route(*key)
            new, old = cache[key], self.routes[fi]
            if fi in self._new_flows:
                if new is None:
                    self.no_route_reason[fi] = self._no_route_reason(fi, None)
                    self.model.log_event(
                        "no_route",
                        flow.name,
                        f"flow {flow.name} has no route: {self.no_route_reason[fi]}",
                        flow=flow.name,
                    )
            elif not first and self._active(fi):
                self._log_route_change(fi, old, new)
            elif first and new is None and self._active(fi):
                # Only at the start: a flow that has ended is not active either, and must not
                # log "no route at the start" whenever the network changes later.
                self.no_route_reason[fi] = self._no_route_reason(fi, None)
                self.model.log_event(
                    "no_route",
                    flow.name,
                    f"flow {flow.name} has no route at the start: {self.no_route_reason[fi]}",
                    flow=flow.name,
                )
            self.routes[fi] = new
        self._new_flows.clear()
        self._routed = np.array([r is not None for r in self.routes], dtype=bool)
        self._all_routed = bool(self._routed.all())
        self._plan_key = None  # routes changed: plan again
        self._views: dict[tuple[str, str, str], _LazyView] = {}
        self._stuck: set[object] = set()
        """Flows that found no route beyond their cheapest with the same edges full."""
        """Each flow's view of the network for the assignment, built when first needed."""

    # ------------------------------------------------------------------ the plan

    def _plan(self, demand: list[float], log: bool = True) -> None:
        """The routes and amounts per route for today's demand: each flow's cheapest route
        when all fit, else an assignment within capacities. Kept while routes and demands stay
        the same (most days)."""
        key = (self._refreshes, tuple(demand))
        previous = self._plan_key
        if key == previous:
            return
        self._plan_key = key
        if (
            previous is not None
            and previous[0] == key[0]
            and len(previous[1]) == len(demand)
            and self._update_in_place(previous[1], demand)
        ):
            return
        routes = self.routes
        capacity = list(self._nominal)
        load = [0.0] * len(capacity)
        for fi, route in enumerate(routes):
            amount = demand[fi]
            if amount and route is not None:
                for e in route.edges:
                    load[e] += amount
        if all(lo <= cap * (1 + 1e-12) for lo, cap in zip(load, capacity, strict=True)):
            paths = [
                PlannedPath(fi, route, demand[fi])
                for fi, route in enumerate(routes)
                if route is not None and demand[fi] > 0
            ]
            limited: dict[int, str] = {}
        else:
            paths, limited = self._assign(demand, capacity)
        self._set_paths(paths, demand)
        if log:
            self._log_limits(limited, demand)
        self.capacity_limited = limited
        # What a later change of demand must not touch for the plan to be updated in place
        self._capacity = capacity
        self._load = [0.0] * len(capacity)
        by_flow: dict[int, int] = {}
        for p in paths:
            by_flow[p.flow] = by_flow.get(p.flow, 0) + 1
            for e in p.route.edges:
                self._load[e] += p.amount
        full = {
            e
            for e, (lo, cap) in enumerate(zip(self._load, capacity, strict=True))
            if lo >= cap * FULL
        }
        self._involved = set(limited) | {
            p.flow for p in paths if by_flow[p.flow] > 1 or not full.isdisjoint(p.route.edges)
        }
        self._involved_edges = full | {
            e for p in paths if p.flow in self._involved for e in p.route.edges
        }

    def _update_in_place(self, before: tuple[float, ...], demand: list[float]) -> bool:
        """Most days only some flows' demands change (arms deliveries as budgets allow), on
        routes far from any bottleneck. When every changed flow is on one route that touches no
        full edge and no edge of a flow that is capacity-limited or split, and still fits with
        room to spare, the assignment would change that flow's amount alone: change it here."""
        changed = [i for i, (a, b) in enumerate(zip(before, demand, strict=True)) if a != b]
        load = list(self._load)
        for fi in changed:
            route = self.routes[fi]
            if route is None:
                continue
            if fi in self._involved or not self._involved_edges.isdisjoint(route.edges):
                return False
            for e in route.edges:
                load[e] += demand[fi] - before[fi]
                if load[e] >= self._capacity[e] * FULL:
                    return False
        self._load = load
        where = self._path_of
        if all(fi in where and demand[fi] > 0 for fi in changed if self.routes[fi] is not None):
            # the same routes, new amounts: change them where they are
            for fi in changed:
                k = where.get(fi)
                if k is None:
                    continue
                self.paths[k] = PlannedPath(fi, self.paths[k].route, demand[fi])
                self._path_amount[k] = demand[fi]
                self._path_weight[k] = self._priorities[fi] * demand[fi]
            self._filling = None
            return True
        paths = [p for p in self.paths if demand[p.flow] > 0 and p.flow not in changed]
        paths += [
            PlannedPath(fi, self.routes[fi], demand[fi])  # type: ignore[arg-type]
            for fi in changed
            if self.routes[fi] is not None and demand[fi] > 0
        ]
        paths.sort(key=lambda p: p.flow)  # flows in scenario order, as a fresh plan lists them
        self._set_paths(paths, demand)
        return True

    def _assign(
        self, demand: list[float], capacity: list[float]
    ) -> tuple[list[PlannedPath], dict[int, str]]:
        """Assignment within capacities (:func:`corridors.model.assignment.assign`)."""
        views = self._views
        commodities: list[Commodity] = []
        index: list[int] = []
        for fi, route in enumerate(self.routes):
            if route is None or demand[fi] <= 0:
                continue
            spec = self.flow_specs[fi]
            key = (spec.origin, spec.destination, spec.commodity)
            view = views.get(key)
            if view is None:
                view = views[key] = _LazyView(self, key)
            first = tuple(
                (e, u, v)
                for e, (u, v) in zip(route.edges, itertools.pairwise(route.nodes), strict=True)
            )
            commodities.append(
                Commodity(
                    source=spec.origin,
                    sink=spec.destination,
                    demand=demand[fi],
                    priority=self._priorities[fi],
                    arcs=view,
                    first_path=first,
                    key=key,
                )
            )
            index.append(fi)
        augmented: list[bool] = []
        flows = assign(
            capacity, self.edge_cost, commodities, _share_or_arrays, augmented, self._stuck
        )
        used = [0.0] * len(capacity)
        paths: list[PlannedPath] = []
        limited: dict[int, str] = {}
        for fi, commodity, flow, more in zip(index, commodities, flows, augmented, strict=True):
            for (e, _, _), amount in flow.items():
                used[e] += amount
            if not more:  # its cheapest route only
                amount = flow[commodity.first_path[0]] if flow else 0.0
                if amount > 0:
                    paths.append(PlannedPath(fi, self.routes[fi], amount))  # type: ignore[arg-type]
                continue
            found = []
            for arcs, amount in decompose(
                flow, commodity.source, commodity.sink, 1e-12 * commodity.demand
            ):
                route = self._make_route([arcs[0][1], *(a[2] for a in arcs)], [a[0] for a in arcs])
                found.append((sum(self.edge_cost[e] for e in route.edges), route, amount))
            found.sort(key=lambda item: item[0])  # cheapest first (stable: ties keep order)
            paths.extend(PlannedPath(fi, route, amount) for _, route, amount in found)
        for fi, commodity in zip(index, commodities, strict=True):
            planned = sum(p.amount for p in paths if p.flow == fi)
            if planned < commodity.demand * (1 - 1e-9):
                edges = dict.fromkeys(
                    e for p in paths if p.flow == fi for e in p.route.edges
                ) or dict.fromkeys(a[0] for a in commodity.first_path)
                full = [
                    self.edge_names[e]
                    for e in edges
                    if used[e] >= capacity[e] * (1 - 1e-9) and capacity[e] < UNLIMITED
                ]
                unit = " t" if self.unit == "t" else " people"
                limited[fi] = (
                    f"{self.flow_names[fi]}: {_amount(planned)} of "
                    f"{_amount(commodity.demand)}{unit}/day; "
                    f"{', '.join(full) or 'its routes'} full; no other permitted route with "
                    "spare capacity"
                )
        return paths, limited

    def _log_limits(self, limited: dict[int, str], demand: list[float]) -> None:
        """Log flows that become capacity-limited, and those that no longer are."""
        for fi, why in limited.items():
            if fi not in self.capacity_limited:
                self.model.log_event(
                    "capacity_limited", self.flow_names[fi], why, flow=self.flow_names[fi]
                )
        for fi in self.capacity_limited:
            if fi not in limited and demand[fi] > 0 and self.routes[fi] is not None:
                self.model.log_event(
                    "capacity_restored",
                    self.flow_names[fi],
                    f"{self.flow_names[fi]}: all {_amount(demand[fi])}"
                    f"{'t' if self.unit == 't' else ' people'}/day get through again",
                    flow=self.flow_names[fi],
                )

    def _set_paths(self, paths: list[PlannedPath], demand: list[float]) -> None:
        """Arrays of the plan for the day's sharing. A flow the plan cannot serve in full asks
        each of its routes for its planned share of its whole demand: on a day when capacity
        is above nominal it gets more, as it did with one route (and a flow on one route asks,
        with weight ``priority × demand``, exactly what it always did)."""
        self.paths = paths
        planned = [0.0] * len(demand)
        for p in paths:
            planned[p.flow] += p.amount
        self._split = len({p.flow for p in paths}) < len(paths)
        """Whether some flow uses several routes."""
        self._path_of = {p.flow: k for k, p in enumerate(paths)}
        """Path of each flow (its last, for a split flow: only unsplit flows are looked up)."""
        scale = [d / t if t > 0 else 1.0 for d, t in zip(demand, planned, strict=True)]
        self._path_flow: list[int] = [p.flow for p in paths]
        self._path_amount: list[float] = [
            demand[p.flow] if planned[p.flow] == p.amount else p.amount * scale[p.flow]
            for p in paths
        ]
        self._path_weight: list[float] = [
            self._priorities[p.flow] * amount
            for p, amount in zip(paths, self._path_amount, strict=True)
        ]
        self._path_pairs: list[tuple[int, int]] = [
            (k, e) for k, p in enumerate(paths) for e in p.route.edges
        ]
        self._path_transit: list[int] = [p.route.transit_days for p in paths]
        groups: dict[int, list[int]] = {}
        for k, days in enumerate(self._path_transit):
            groups.setdefault(days, []).append(k)
        self._transit_groups = sorted(groups.items())
        """Paths by transit days, quickest first, each group in path order."""
        self._path_loss: list[float] = [1.0 - p.route.survival for p in paths]
        self._path_labels: dict[int, str] = {}
        """Route labels, computed when first needed."""
        self._filling: _Filling | None = None
        """The day's sharing prepared for these amounts (when first needed)."""

    def _path_label(self, k: int) -> str:
        label = self._path_labels.get(k)
        if label is None:
            route = self.paths[k].route
            label = self._labels_by_route.get(route)
            if label is None:
                label = self._labels_by_route[route] = self.describe_route(route)
            self._path_labels[k] = label
        return label

    def _route_id(self, k: int) -> int:
        label = self._path_label(k)
        rid = self._route_ids.get(label)
        if rid is None:
            rid = self._route_ids[label] = len(self._route_names)
            self._route_names.append(label)
        return rid

    def _share_paths(self, capacity: list[float]) -> list[float]:
        """What each planned path ships given the edges' capacities today."""
        pairs = self._path_pairs
        if not pairs:
            return [0.0] * len(self.paths)
        filling = self._filling
        if filling is None:
            filling = self._filling = (
                _Filling(self._path_amount, self._path_weight, pairs)
                if len(pairs) <= SMALL_SHARING
                else None
            )
        if filling is not None and filling.plain and _plain(capacity):
            return _fill(filling, capacity)
        return _share_or_arrays(self._path_amount, self._path_weight, capacity, pairs)

    def _active(self, fi: int) -> bool:
        day = max(self.model.day_index, 0)
        return bool(self.first_day[fi] <= day <= self.last_day[fi])

    def _no_route_reason(self, fi: int, old: Route | None) -> str:
        flow = self.flow_specs[fi]
        if old is not None:
            candidates = [self.links[i] for i in old.links]
        else:
            candidates = [
                lk
                for lk in self.links
                if flow.origin in (lk.a, lk.b) or flow.destination in (lk.a, lk.b)
            ]
        reasons = [
            self._why_unusable(lk, flow.origin, flow.destination, flow.commodity)
            for lk in candidates
        ]
        usable = [r for r in reasons if not r.endswith("leads nowhere useful")]
        # dict.fromkeys: two links at one denying state gave "B denies transit; B denies transit"
        return "; ".join(dict.fromkeys(usable or reasons)) or (
            "no link touches its origin or destination"
        )

    def _log_route_change(self, fi: int, old: Route | None, new: Route | None) -> None:
        if old == new:
            return
        flow = self.flow_specs[fi]
        if new is None:
            assert old is not None
            reason = self._no_route_reason(fi, old)
            self.no_route_reason[fi] = reason
            self.model.log_event(
                "no_route",
                flow.name,
                f"flow {flow.name} ({flow.commodity}, {flow.origin} → {flow.destination}) "
                f"has no route: {reason}",
                flow=flow.name,
                previous_route=old.describe(),
            )
        elif old is None:
            self.model.log_event(
                "route_restored",
                flow.name,
                f"flow {flow.name} can move again via {new.describe()}",
                flow=flow.name,
                route=new.describe(),
            )
        elif old.links != new.links:
            changed = [self.links[i] for i in old.links if i not in new.links]
            reasons = [
                self._why_unusable(lk, flow.origin, flow.destination, flow.commodity)
                for lk in changed
            ]
            # A link left because a state now denies transit is still open: name the state
            # rather than report "X is open".
            found = list(dict.fromkeys(r for r in reasons if not r.endswith("nowhere useful")))
            if found:
                why = "; ".join(found)
            elif all(lk.usable_fraction >= 1 for lk in changed):
                opened = [self.links[i].name for i in new.links if i not in old.links]
                why = f"quicker via {', '.join(opened)}"
            else:
                why = "; ".join(f"{lk.name} is {lk.status}" for lk in changed)
            old_label = f"{old.describe()} via {'+'.join(self.links[i].name for i in old.links)}"
            new_label = f"{new.describe()} via {'+'.join(self.links[i].name for i in new.links)}"
            self.model.log_event(
                "reroute",
                flow.name,
                f"flow {flow.name} rerouted from {old_label} to {new_label} ({why})",
                flow=flow.name,
                route=new.describe(),
                previous_route=old.describe(),
            )

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        if self.unit == "people" and not self.flow_specs:
            # Nobody is on the move (no displacement yet): nothing to do. Links start with
            # nobody on them, flows once added are never removed, and routes are refreshed
            # when a flow is added. (Goods without flows still draw the day's capacities.)
            return
        model = self.model
        day = model.day_index
        self.refresh_routes()
        links = self.links
        n_links = len(links)
        goods = self.unit == "t"

        if day in self._start_days:
            for fidx in np.flatnonzero((self.first_day == day) & ~self._routed):
                reason = self._no_route_reason(int(fidx), None)
                self.model.log_event(
                    "no_route",
                    self.flow_names[fidx],
                    f"flow {self.flow_names[fidx]} starts today but has no route: {reason}",
                    flow=self.flow_names[fidx],
                )
        # The day's numbers are plain lists: the same elementwise arithmetic as on arrays,
        # without numpy's per-call overhead on a dozen flows.
        wanted = [
            q if first <= day <= last else 0.0
            for q, first, last in zip(
                self.quantity.tolist(), self._first_days, self._last_days, strict=True
            )
        ]
        demand = (
            list(wanted)  # the stock limit below changes demand, not what was wanted
            if self._all_routed
            else [
                q if route is not None else 0.0
                for q, route in zip(wanted, self.routes, strict=True)
            ]
        )
        demand = self._limit_by_origin_stock(demand)
        self._plan(demand)

        cap = self._nominal
        cv = model.spec.parameters.capacity_noise_cv
        if goods and cv > 0 and n_links:
            sigma = math.sqrt(math.log1p(cv * cv))
            noise = np.exp(model.rng.normal(-0.5 * sigma * sigma, sigma, n_links)).tolist()
            # the products numpy's ``capacity[:n_links] *= noise`` gives, on plain floats
            cap = [c * f for c, f in zip(cap, noise, strict=False)] + cap[n_links:]

        path_shipped = self._share_paths(cap)
        path_flow = self._path_flow
        n_flows = len(self.flow_specs)
        shipped_t = [0.0] * n_flows
        lost_t = [0.0] * n_flows
        loss = self._path_loss
        for k, amount in enumerate(path_shipped):
            if amount:
                fidx = path_flow[k]
                shipped_t[fidx] += amount
                if goods:  # people are not "lost" on a road: loss rates apply to goods only
                    lost_t[fidx] += amount * loss[k]
        carried = [0.0] * len(cap)
        for k, e in self._path_pairs:  # in pair order, as np.bincount adds
            carried[e] += path_shipped[k]
        if model.record_flows and self._path_pairs:
            kept = [(k, e) for k, e in self._path_pairs if path_shipped[k] > 0 and e < n_links]
            self._records.append(
                (
                    day,
                    np.array([e for _, e in kept], dtype=np.int64),
                    np.array([path_flow[k] for k, _ in kept], dtype=np.int64),
                    np.array([path_shipped[k] for k, _ in kept], dtype=float),
                    np.array([self._route_id(k) for k, _ in kept], dtype=np.int64),
                )
            )
        if goods:
            for lk, value, amount in zip(links, cap, carried, strict=False):
                lk.capacity_today_t = value
                lk.carried_today_t = amount
                lk.carried_total_t += amount
        else:
            for lk, amount in zip(links, carried, strict=False):
                lk.people_today = amount

        shipped = np.array(shipped_t, dtype=float)
        self.shipped_today_t = shipped
        self.shipped_t += shipped
        self.lost_t += np.array(lost_t, dtype=float)
        unmet = self._unmet
        origins, commodities = self._origins, self._commodities
        for fidx, (want, got) in enumerate(zip(wanted, shipped_t, strict=True)):
            if want != got:
                unmet[fidx] += want - got
            if got:
                origins[fidx].draw(commodities[fidx], got)
        if self._split:
            self._into_transit_split(day, path_shipped, shipped_t, lost_t)
        else:
            self._into_transit(day, path_shipped, shipped_t, lost_t)
        self._deliver(day)

    def _into_transit(
        self, day: int, path_shipped: list[float], shipped_t: list[float], lost_t: list[float]
    ) -> None:
        """Into transit, by arrival day, when every flow has one path: what each flow shipped
        less what it lost. Buckets are created in order of transit time (the order
        ``in_transit_t`` adds them up), and filled in path order."""
        path_flow = self._path_flow
        tracked = self._tracked_set
        pending = self.pending
        for days, ks in self._transit_groups:
            due = day + days
            bucket = None
            for k in ks:
                if path_shipped[k] <= 0:
                    continue
                fidx = path_flow[k]
                part = shipped_t[fidx] - lost_t[fidx]
                if part <= 0:
                    continue
                if bucket is None:
                    bucket = pending.get(due)
                    if bucket is None:
                        bucket = pending[due] = [0.0] * len(self.flow_specs)
                bucket[fidx] += part
                if fidx in tracked:
                    key = (fidx, self._path_label(k))
                    by_route = self._pending_routes.setdefault(due, {})
                    by_route[key] = by_route.get(key, 0.0) + part

    def _into_transit_split(
        self, day: int, path_shipped: list[float], shipped_t: list[float], lost_t: list[float]
    ) -> None:
        """Into transit when some flow uses several paths: what each flow shipped less what it
        lost, split over its paths (the flow's last path takes the remainder, so shipped = in
        transit + lost holds to the bit for a flow on one path and to rounding on several)."""
        goods = self.unit == "t"
        path_flow, loss = self._path_flow, self._path_loss
        n_flows = len(self.flow_specs)
        left = [s - lost for s, lost in zip(shipped_t, lost_t, strict=True)]
        last_path: dict[int, int] = {}
        for k, amount in enumerate(path_shipped):
            if amount > 0:
                last_path[path_flow[k]] = k
        transit = self._path_transit
        by_transit: dict[int, list[tuple[int, float]]] = {}
        for k, amount in enumerate(path_shipped):
            if amount <= 0:
                continue
            fidx = path_flow[k]
            if last_path[fidx] == k:
                part = left[fidx]
            else:
                part = amount - amount * loss[k] if goods else amount
                left[fidx] -= part
            if part > 0:
                by_transit.setdefault(transit[k], []).append((k, part))
        for days in sorted(by_transit):
            bucket = self.pending.get(day + days)
            if bucket is None:
                bucket = self.pending[day + days] = [0.0] * n_flows
            for k, part in by_transit[days]:
                bucket[path_flow[k]] += part
        if self._tracked:
            tracked = self._tracked_set
            for days in sorted(by_transit):
                for k, part in by_transit[days]:
                    fidx = path_flow[k]
                    if fidx in tracked:
                        key = (fidx, self._path_label(k))
                        by_route = self._pending_routes.setdefault(day + days, {})
                        by_route[key] = by_route.get(key, 0.0) + part

    def _limit_by_origin_stock(self, demand: list[float]) -> list[float]:
        """Flows drawing on an origin's stock cannot ship more than the stock holds."""
        groups: dict[tuple[str, str], tuple[float, list[int]]] = {}
        origins, commodities = self._origins, self._commodities
        for fidx, wanted in enumerate(demand):
            if wanted:
                origin, commodity = origins[fidx], commodities[fidx]
                key = (origin.name, commodity)
                group = groups.get(key)
                if group is not None:
                    group[1].append(fidx)
                    continue
                stock = origin.available(commodity)
                if stock is not None:
                    groups[key] = (stock, [fidx])
        for stock, idx in groups.values():
            available = stock or 0.0
            if len(idx) <= 2:  # what numpy's sum gives for one or two (non-negative) numbers
                wanted = demand[idx[0]] if len(idx) == 1 else demand[idx[0]] + demand[idx[1]]
            else:
                wanted = float(np.array([demand[i] for i in idx], dtype=float).sum())
            if wanted > available:
                share = available / wanted
                for i in idx:
                    demand[i] = float(demand[i] * share)
        return demand

    def _deliver(self, day: int) -> None:
        by_route = self._pending_routes.pop(day, None)
        if by_route:
            for key, amount in by_route.items():
                self.delivered_by_route[key] = self.delivered_by_route.get(key, 0.0) + amount
        due = self.pending.pop(day, None)
        if due is None:
            self.delivered_today_t = np.zeros(len(self.flow_specs))
            return
        arrived = np.array(due, dtype=float)
        self.delivered_today_t = arrived
        self.delivered_t += arrived
        destinations, commodities = self._destinations, self._commodities
        for fidx, amount in enumerate(due):
            if amount:
                destinations[fidx].receive(commodities[fidx], amount)

    # ------------------------------------------------------------------ outputs

    def balance(self) -> pd.DataFrame:
        """Per-flow accounting: shipped, delivered, in transit, lost and the residual (t)."""
        in_transit = self.in_transit_t
        frame = pd.DataFrame(
            {
                "flow": self.flow_names,
                "shipped_t": self.shipped_t,
                "delivered_t": self.delivered_t,
                "in_transit_t": in_transit,
                "lost_t": self.lost_t,
                "unmet_t": self.unmet_t,
            }
        )
        frame["residual_t"] = (
            frame.shipped_t - frame.delivered_t - frame.in_transit_t - frame.lost_t
        )
        return frame

    def flow_table(self) -> pd.DataFrame:
        """What each link carried each day for each flow and route (t); one row per link, flow,
        route and day."""
        columns = ["step", "date", "link", "mode", "flow", "commodity", "route", "tonnes"]
        if not self._records:
            return pd.DataFrame(columns=columns)
        days = np.concatenate([np.full(len(r[1]), r[0]) for r in self._records])
        links = np.concatenate([r[1] for r in self._records])
        flows = np.concatenate([r[2] for r in self._records])
        tonnes = np.concatenate([r[3] for r in self._records])
        route_ids = np.concatenate([r[4] for r in self._records])
        route_names = np.array(self._route_names, dtype=object)
        start = pd.Timestamp(self.model.start_date)
        link_names = np.array([lk.name for lk in self.links], dtype=object)
        link_modes = np.array([lk.mode for lk in self.links], dtype=object)
        names = np.array(self.flow_names, dtype=object)
        commodities = np.array([f.commodity for f in self.flow_specs], dtype=object)
        return pd.DataFrame(
            {
                "step": days + 1,
                "date": (start + pd.to_timedelta(days, unit="D")).date,
                "link": link_names[links],
                "mode": link_modes[links],
                "flow": names[flows],
                "commodity": commodities[flows],
                "route": route_names[route_ids],
                "tonnes": tonnes,
            }
        )
