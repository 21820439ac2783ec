"""Logistics: routing flows over usable links, sharing capacity, transit delay, losses.

Each day every active flow asks to ship its daily quantity along its route (the quickest chain
of links that are not closed, that carry its good, and whose gatekeepers and intermediate states
permit it). Links share their capacity among the flows on them in proportion to
``priority × demand``; a flow ships the smallest share it gets along its route, so no link ever
carries more than its capacity. Goods arrive after the sum of the links' transit days; a
fraction ``1 − Π(1 − loss_rate)`` is lost on the way. Routes are cached and recomputed only when
a link's status or a transit permission changes (the model's ``network_version``).

Conservation, per flow and in total, every day: shipped = delivered + in transit + lost.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridors.model.routing import FlowView, GoodsNetwork, shortest_path

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
    transit_days: int
    survival: float
    """Fraction of a shipment that is not lost along the route."""

    def describe(self) -> str:
        return " → ".join(self.nodes)


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
        self.pending: dict[int, np.ndarray] = {}
        """Goods in transit by arrival day index (t per flow)."""
        self.routes: list[Route | None] = [None] * n
        self.no_route_reason: list[str] = [""] * n
        self._route_version = -1
        self._networks: dict[str, GoodsNetwork] = {}
        """Arcs usable by each good, during one route refresh."""
        self._pairs_flow = np.zeros(0, dtype=np.int64)
        self._pairs_link = np.zeros(0, dtype=np.int64)
        self._records: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self._load_flow_arrays()
        self.refresh_routes()
        self._fill_pipeline()

    def _fill_pipeline(self) -> None:
        """Goods already on their way at the start, as if each flow active on day 0 had been
        running at its nominal rate: otherwise every scenario opens with a false gap."""
        demand = np.where(
            (self.first_day <= 0) & (self.last_day >= 0) & self._routed, self.quantity, 0.0
        )
        capacity = self.nominal_capacity()
        shipped = share_capacity(
            demand, self.priority * demand, capacity, self._pairs_flow, self._pairs_link
        )
        arriving = shipped * self._survival
        for fidx in np.flatnonzero(arriving):
            for days_before in range(1, int(self._transit[fidx]) + 1):
                due = int(self._transit[fidx]) - days_before
                bucket = self.pending.setdefault(due, np.zeros(len(self.flow_specs)))
                bucket[fidx] += arriving[fidx]
                self.shipped_t[fidx] += arriving[fidx]

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

    def flows_changed(self) -> None:
        self._load_flow_arrays()

    def nominal_capacity(self) -> np.ndarray:
        """Each link's capacity today before day-to-day variability (t or people per day)."""
        if self.unit == "people":
            return np.array([lk.capacity_people_per_day * lk.usable_fraction for lk in self.links])
        return np.array([lk.capacity_t_per_day * lk.usable_fraction for lk in self.links])

    def add_flow(self, flow: Any) -> int:
        """Add a flow during the run (a contract, a displacement); returns its index."""
        self.flow_specs.append(flow)
        self.flow_names.append(flow.name)
        for name in ("shipped_t", "delivered_t", "lost_t", "shipped_today_t", "delivered_today_t"):
            setattr(self, name, np.append(getattr(self, name), 0.0))
        for due, bucket in self.pending.items():
            self.pending[due] = np.append(bucket, 0.0)
        self.routes.append(None)
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
        route = self.routes[fi]
        if route is None:
            return "no route"
        return f"{route.describe()} via " + " + ".join(self.links[i].name for i in route.links)

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
            network = self._networks[commodity] = GoodsNetwork(self.links, commodity)
        return network

    def _why_unusable(self, link: SupplyLink, origin: str, destination: str, commodity: str) -> str:
        if link.status == "closed":
            return f"{link.name} is closed"
        if link.usable_fraction <= 0:  # otherwise reported as "leads nowhere useful"
            return f"{link.name} is throttled to 0% of capacity"
        if not link.can_carry(commodity):
            return f"{link.name} does not carry {commodity}"
        for g in link.gatekeepers:
            if g not in (origin, destination) and not self.model.permits_transit(
                g, origin, destination, commodity
            ):
                return f"{g} denies transit on {link.name}"
        for s in (link.a, link.b):
            if s not in (origin, destination) and not self.model.permits_transit(
                s, origin, destination, commodity
            ):
                return f"{s} denies transit"
        return f"{link.name} leads nowhere useful"

    def _route(self, origin: str, destination: str, commodity: str) -> Route | None:
        permits = self.model.permits_transit
        view = FlowView(
            self._network(commodity),
            origin,
            destination,
            lambda state: permits(state, origin, destination, commodity),
        )
        if not (view.has_node(origin) and view.has_node(destination)):
            return None
        nodes = shortest_path(view, origin, destination)
        if nodes is None:
            return None
        link_ids = tuple(view.successors(u)[v][1] for u, v in itertools.pairwise(nodes))
        return Route(
            links=link_ids,
            nodes=tuple(nodes),
            transit_days=sum(self.links[i].transit_days for i in link_ids),
            survival=math.prod(1.0 - self.links[i].loss_rate for i in link_ids),
        )

    def refresh_routes(self) -> None:
        """Recompute routes if the network changed since they were last computed."""
        if self._route_version == self.model.network_version:
            return
        first = self._route_version == -1
        self._route_version = self.model.network_version
        self._networks = {}
        cache: dict[tuple[str, str, str], Route | None] = {}
        for fi, flow in enumerate(self.flow_specs):
            key = (flow.origin, flow.destination, flow.commodity)
            if key not in cache:
                cache[key] = self._route(*key)
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
        pairs = [(fi, li) for fi, r in enumerate(self.routes) if r for li in r.links]
        self._pairs_flow = np.array([p[0] for p in pairs], dtype=np.int64)
        self._pairs_link = np.array([p[1] for p in pairs], dtype=np.int64)
        self._transit = np.array([r.transit_days if r else 0 for r in self.routes], dtype=np.int64)
        self._survival = np.array([r.survival if r else 0.0 for r in self.routes])
        self._routed = np.array([r is not None for r in self.routes], dtype=bool)

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
        model = self.model
        day = model.day_index
        self.refresh_routes()
        n_links = len(self.links)

        active = (self.first_day <= day) & (day <= self.last_day)
        for fidx in np.flatnonzero((self.first_day == day) & ~self._routed):
            reason = self._no_route_reason(int(fidx), None)
            self.model.log_event(
                "no_route",
                self.flow_names[fidx],
                f"flow {self.flow_names[fidx]} starts today but has no route: {reason}",
                flow=self.flow_names[fidx],
            )
        demand = np.where(active & self._routed, self.quantity, 0.0)
        demand = self._limit_by_origin_stock(demand)

        capacity = self.nominal_capacity()
        goods = self.unit == "t"
        cv = model.spec.parameters.capacity_noise_cv
        if goods and cv > 0 and n_links:
            sigma = math.sqrt(math.log1p(cv * cv))
            capacity *= np.exp(model.rng.normal(-0.5 * sigma * sigma, sigma, n_links))
        if goods:
            for lk, cap in zip(self.links, capacity, strict=True):
                lk.capacity_today_t = float(cap)

        fi, li = self._pairs_flow, self._pairs_link
        shipped = share_capacity(demand, self.priority * demand, capacity, fi, li)
        carried = np.bincount(li, weights=shipped[fi], minlength=n_links)
        if model.record_flows and fi.size:
            keep = shipped[fi] > 0
            self._records.append((day, li[keep], fi[keep], shipped[fi][keep]))
        for lk, amount in zip(self.links, carried, strict=True):
            if goods:
                lk.carried_today_t = float(amount)
                lk.carried_total_t += float(amount)
            else:
                lk.people_today = float(amount)

        # people are not "lost" on a road: loss rates apply to goods only
        lost = shipped * (1.0 - self._survival) if goods else np.zeros_like(shipped)
        arriving = shipped - lost
        self.shipped_today_t = shipped
        self.shipped_t += shipped
        self.lost_t += lost
        for fidx in np.flatnonzero(shipped):
            flow = self.flow_specs[fidx]
            model.states_by_name[flow.origin].draw(flow.commodity, float(shipped[fidx]))
        for transit in np.unique(self._transit[arriving > 0]):
            due_day = day + int(transit)
            mask = (self._transit == transit) & (arriving > 0)
            bucket = self.pending.setdefault(due_day, np.zeros(len(self.flow_specs)))
            bucket[mask] += arriving[mask]
        for fidx in np.flatnonzero(arriving):
            if getattr(self.flow_specs[fidx], "track_routes", False):
                due_day = day + int(self._transit[fidx])
                key = (int(fidx), self.route_label(int(fidx)))
                by_route = self._pending_routes.setdefault(due_day, {})
                by_route[key] = by_route.get(key, 0.0) + float(arriving[fidx])
        self._deliver(day)

    def _limit_by_origin_stock(self, demand: np.ndarray) -> np.ndarray:
        """Flows drawing on an origin's stock cannot ship more than the stock holds."""
        groups: dict[tuple[str, str], list[int]] = {}
        for fidx in np.flatnonzero(demand):
            flow = self.flow_specs[fidx]
            origin: StateAgent = self.model.states_by_name[flow.origin]
            if origin.available(flow.commodity) is not None:
                groups.setdefault((flow.origin, flow.commodity), []).append(int(fidx))
        for (origin_name, commodity), idx in groups.items():
            available = self.model.states_by_name[origin_name].available(commodity) or 0.0
            wanted = demand[idx].sum()
            if wanted > available:
                demand[idx] *= available / wanted
        return demand

    def _deliver(self, day: int) -> None:
        for key, amount in self._pending_routes.pop(day, {}).items():
            self.delivered_by_route[key] = self.delivered_by_route.get(key, 0.0) + amount
        due = self.pending.pop(day, None)
        if due is None:
            self.delivered_today_t = np.zeros(len(self.flow_specs))
            return
        self.delivered_today_t = due
        self.delivered_t += due
        for fidx in np.flatnonzero(due):
            flow = self.flow_specs[fidx]
            self.model.states_by_name[flow.destination].receive(flow.commodity, float(due[fidx]))

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
            }
        )
        frame["residual_t"] = (
            frame.shipped_t - frame.delivered_t - frame.in_transit_t - frame.lost_t
        )
        return frame

    def flow_table(self) -> pd.DataFrame:
        """What each link carried each day for each flow (t); one row per link, flow and day."""
        columns = ["step", "date", "link", "mode", "flow", "commodity", "tonnes"]
        if not self._records:
            return pd.DataFrame(columns=columns)
        days = np.concatenate([np.full(len(r[1]), r[0]) for r in self._records])
        links = np.concatenate([r[1] for r in self._records])
        flows = np.concatenate([r[2] for r in self._records])
        tonnes = np.concatenate([r[3] for r in self._records])
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
                "tonnes": tonnes,
            }
        )
