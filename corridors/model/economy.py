"""Economy: daily revenue, including energy exports that actually got through, funds defence.

For each state with an ``economy``:

    revenue = revenue_usd_m_per_day + energy_revenue_share × price × oil delivered today (t) / 1e6
    defence budget today = defence_share × revenue
    arms budget += procurement_share × defence budget today

Oil counts for its exporter (the flow's origin) only when it is delivered, so a pipeline closed
or a transit state that denies passage cuts the exporter's revenue. Importers' energy
received is tracked as ``energy_delivered_t``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corridors.model.conflict_model import ConflictModel

ENERGY_COMMODITIES = frozenset({"oil"})


class Economy:
    """Revenue and budgets of every state that has an ``economy`` section."""

    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        self.states = [s for s in model.states if s.spec.economy is not None]
        self.energy_delivered_t: dict[str, float] = defaultdict(float)
        """Energy (oil, t) delivered, by importing state."""
        self.energy_exported_t: dict[str, float] = defaultdict(float)
        """Energy (oil, t) delivered to buyers, by exporting state."""
        self.defence_spent_usd_m: dict[str, float] = defaultdict(float)

    def step(self) -> None:
        model = self.model
        logistics = model.logistics
        price = model.spec.parameters.oil_price_usd_per_t
        exported_today: dict[str, float] = defaultdict(float)
        for fidx, tonnes in enumerate(logistics.delivered_today_t.tolist()):
            if not tonnes:
                continue
            flow = logistics.flow_specs[fidx]
            if flow.commodity in ENERGY_COMMODITIES:
                exported_today[flow.origin] += tonnes
                self.energy_exported_t[flow.origin] += tonnes
                self.energy_delivered_t[flow.destination] += tonnes
        for state in self.states:
            econ = state.spec.economy
            assert econ is not None
            energy = econ.energy_revenue_share * price * exported_today.get(state.name, 0.0) / 1e6
            state.energy_revenue_usd_m += energy
            state.revenue_today_usd_m = econ.revenue_usd_m_per_day + energy
            defence = econ.defence_share * state.revenue_today_usd_m
            self.defence_spent_usd_m[state.name] += defence
            state.budget_usd_m += econ.procurement_share * defence

    @property
    def energy_delivered_total_t(self) -> float:
        return float(sum(self.energy_delivered_t.values()))
