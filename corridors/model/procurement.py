"""Procurement: arms budgets buy from suppliers; contracts ship over the supply network.

Every ``parameters.procurement_interval_days`` a buyer (a state with an arms budget) spends its
budget across suppliers in proportion to

    weight(s) = max(0, relation of s toward the buyer) × s.max_delivery_t_per_day

excluding suppliers that embargo the buyer and suppliers with no permitted route to it today
(the network decides: an air bridge whose overflown states deny arms carries none, so no money
goes that way). Spending becomes a backlog of tonnes (``spend / price_usd_m_per_t``), capped at
``parameters.backlog_cap_days`` of the supplier's deliveries; money beyond the cap stays in the
budget. When a supplier loses its route, its unshipped backlog is cancelled at the next purchase
and the money returns to the budget, to go to suppliers that can deliver.

Each day a supplier ships up to its ``max_delivery_t_per_day`` across its buyers, in proportion
to their backlogs, as a run-time flow of ``arms`` routed like any other flow (an air bridge
needs every overflown state's permission). An embargo freezes the backlog.
Deliveries are tracked by supplier and by route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corridors.model.logistics import RuntimeFlow

if TYPE_CHECKING:
    from corridors.agents import StateAgent
    from corridors.model.conflict_model import ConflictModel


class Procurement:
    """Arms contracts, backlogs and embargoes."""

    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        self.suppliers: list[StateAgent] = [
            s for s in model.states if s.spec.arms_supplier is not None
        ]
        self.buyers: list[StateAgent] = [
            s
            for s in model.states
            if s.spec.economy is not None and s.spec.economy.procurement_share > 0
        ]
        self.embargoes: set[tuple[str, str]] = {
            (s.name, buyer)
            for s in self.suppliers
            for buyer in s.spec.arms_supplier.embargoes  # type: ignore[union-attr]
        }
        self.backlog_t: dict[tuple[str, str], float] = {}
        self.contracted_t: dict[tuple[str, str], float] = {}
        self.flow_index: dict[tuple[str, str], int] = {}
        self._keys_of: dict[str, list[tuple[str, str]]] = {}
        """Each supplier's (supplier, buyer) flows, in the order of ``flow_index``."""
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ embargoes

    def embargo(self, supplier: str, buyer: str) -> None:
        self.embargoes.add((supplier, buyer))

    def lift_embargo(self, supplier: str, buyer: str) -> None:
        self.embargoes.discard((supplier, buyer))

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """Place contracts on procurement days; set today's arms shipments from backlogs."""
        model = self.model
        if model.day_index % model.spec.parameters.procurement_interval_days == 0:
            for buyer in self.buyers:
                self._buy(buyer)
        backlog, set_quantity = self.backlog_t, model.logistics.set_quantity
        for supplier in self.suppliers:
            flows = self._keys_of.get(supplier.name)
            if not flows:
                continue
            spec = supplier.spec.arms_supplier
            assert spec is not None
            # backlogs and flows are listed in the same order (both start in _flow)
            keys = [k for k in flows if backlog[k] > 0 and k not in self.embargoes]
            total = sum(backlog[k] for k in keys)
            for key in flows:
                quantity = 0.0
                if key in keys and total > 0:
                    share = backlog[key] / total
                    quantity = min(backlog[key], spec.max_delivery_t_per_day * share)
                set_quantity(self.flow_index[key], quantity)

    def after_shipping(self) -> None:
        """Shipped arms leave the backlog."""
        shipped = self.model.logistics.shipped_today_t.tolist()
        for key, fi in self.flow_index.items():
            self.backlog_t[key] = max(0.0, self.backlog_t[key] - shipped[fi])

    def _flow(self, supplier: str, buyer: str) -> int:
        key = (supplier, buyer)
        if key not in self.flow_index:
            self.flow_index[key] = self.model.logistics.add_flow(
                RuntimeFlow(
                    name=f"arms {supplier} → {buyer}",
                    commodity="arms",
                    origin=supplier,
                    destination=buyer,
                    track_routes=True,
                )
            )
            self.backlog_t.setdefault(key, 0.0)
            self._keys_of.setdefault(supplier, []).append(key)
        return self.flow_index[key]

    def can_deliver(self, supplier: str, buyer: str) -> bool:
        """Whether arms from ``supplier`` have a permitted route to ``buyer`` today."""
        fi = self._flow(supplier, buyer)
        self.model.logistics.refresh_routes()
        return self.model.logistics.routes[fi] is not None

    def _cancel_undeliverable(self, buyer: StateAgent) -> None:
        """Backlogs of suppliers that lost their route go back to the buyer's budget."""
        for (supplier, b), tonnes in list(self.backlog_t.items()):
            if b != buyer.name or tonnes <= 0 or self.can_deliver(supplier, b):
                continue
            spec = self.model.state(supplier).spec.arms_supplier
            assert spec is not None
            refund = tonnes * spec.price_usd_m_per_t
            self.backlog_t[(supplier, b)] = 0.0
            buyer.budget_usd_m += refund
            self.model.log_event(
                "procurement",
                buyer.name,
                f"{buyer.name} moves ${refund:,.0f} m of contracts away from {supplier}: no "
                f"permitted route ({tonnes:,.0f} t undelivered)",
                supplier=supplier,
                refund_usd_m=refund,
            )

    def _buy(self, buyer: StateAgent) -> None:
        model = self.model
        self._cancel_undeliverable(buyer)
        budget = buyer.budget_usd_m
        if budget <= 0:
            return
        weights = {}
        blocked = []
        for s in self.suppliers:
            if s is buyer or (s.name, buyer.name) in self.embargoes:
                continue
            relation = s.spec.relations.get(buyer.name, 0.0)
            spec = s.spec.arms_supplier
            assert spec is not None
            weight = max(0.0, relation) * spec.max_delivery_t_per_day
            if weight <= 0:
                continue
            if not self.can_deliver(s.name, buyer.name):
                blocked.append(s.name)
                continue
            weights[s] = weight
        total = sum(weights.values())
        if total <= 0:
            if buyer.name not in self._warned:
                self._warned.add(buyer.name)
                why = (
                    f"no permitted route from {', '.join(blocked)}"
                    if blocked
                    else "embargoes or poor relations"
                )
                model.log_event(
                    "procurement",
                    buyer.name,
                    f"{buyer.name} finds no supplier that will sell and can deliver it arms "
                    f"({why}); its arms budget accumulates",
                )
            return
        parts = []
        spent_total = 0.0
        cap_days = model.spec.parameters.backlog_cap_days
        for supplier, weight in weights.items():
            spec = supplier.spec.arms_supplier
            assert spec is not None
            spend = budget * weight / total
            key = (supplier.name, buyer.name)
            self._flow(*key)
            room = max(0.0, cap_days * spec.max_delivery_t_per_day - self.backlog_t[key])
            price = spec.price_usd_m_per_t
            tonnes = min(spend / price, room) if price > 0 else 0.0
            spend = tonnes * price
            self.backlog_t[key] += tonnes
            self.contracted_t[key] = self.contracted_t.get(key, 0.0) + tonnes
            spent_total += spend
            parts.append(f"{supplier.name} {tonnes:,.0f} t (${spend:,.0f} m)")
        buyer.budget_usd_m = budget - spent_total
        kept = (
            f"; ${buyer.budget_usd_m:,.0f} m kept (backlogs at their cap of {cap_days} days)"
            if buyer.budget_usd_m > 0.5
            else ""
        )
        avoided = f"; none from {', '.join(blocked)} (no permitted route)" if blocked else ""
        model.log_event(
            "procurement",
            buyer.name,
            f"{buyer.name} buys arms with ${spent_total:,.0f} m: "
            + ", ".join(parts)
            + kept
            + avoided,
            budget_usd_m=spent_total,
        )

    # ------------------------------------------------------------------ outputs

    def delivered_by_supplier(self) -> dict[str, float]:
        """Arms delivered (t) by supplier, all buyers together."""
        delivered = self.model.logistics.delivered_t
        out: dict[str, float] = {}
        for (supplier, _), fi in self.flow_index.items():
            out[supplier] = out.get(supplier, 0.0) + float(delivered[fi])
        return out

    def delivered_to(self, buyer: str) -> dict[str, float]:
        delivered = self.model.logistics.delivered_t
        return {s: float(delivered[fi]) for (s, b), fi in self.flow_index.items() if b == buyer}

    def delivered_by_route(self) -> dict[str, float]:
        """Arms delivered (t) by route label ('Israel → Azerbaijan via israel_azerbaijan_air')."""
        out: dict[str, float] = {}
        arms = set(self.flow_index.values())
        for (fi, label), amount in self.model.logistics.delivered_by_route.items():
            if fi in arms:
                out[label] = out.get(label, 0.0) + amount
        return out
