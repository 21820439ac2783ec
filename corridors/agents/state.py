"""StateAgent: a state's population, stocks and their daily sustainment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from corridors.scenarios.schema import State

if TYPE_CHECKING:
    from corridors.model.conflict_model import ConflictModel


class StateAgent(mesa.Agent):
    """A sovereign, de facto state or exclave.

    Stocks are in tonnes. Daily need scales with population, so a population that shrinks
    (flight, later mechanisms) needs less.
    """

    model: ConflictModel

    def __init__(self, model: ConflictModel, spec: State) -> None:
        super().__init__(model)
        self.spec = spec
        self.name: str = spec.name
        self.code: str = spec.code
        self.role: str = str(spec.role)
        self.lat: float = spec.lat
        self.lon: float = spec.lon
        self.population: float = spec.population
        self.initial_population: float = spec.population
        self.stock_t: dict[str, float] = {c: s.initial_t for c, s in spec.stocks.items()}
        self.need_t_per_day: dict[str, float] = {
            c: s.consumption_t_per_day for c, s in spec.stocks.items()
        }
        self.production_t_per_day: dict[str, float] = {
            c: s.local_production_t_per_day for c, s in spec.stocks.items()
        }
        self.shortage: dict[str, float] = dict.fromkeys(spec.stocks, 0.0)
        """Unmet fraction of today's need, per good (0 = fully supplied, 1 = nothing)."""
        self.consumed_t: dict[str, float] = dict.fromkeys(spec.stocks, 0.0)
        self.received_t: dict[str, float] = {}
        """Goods delivered to this state today, by good (t)."""
        self.stress: float = 0.0
        """Humanitarian-stress index, 0 (none) .. 1 (catastrophe)."""
        self.weighted_shortage: float = 0.0
        self.shortage_days: int = 0
        self.first_shortage_date = None
        self.peak_stress: float = 0.0

    @property
    def sustained(self) -> bool:
        """Whether this state has a population whose daily needs the model tracks."""
        return bool(self.need_t_per_day)

    def sync_stocks(self) -> None:
        """Take daily need and production from the spec after an event changed its stocks.

        A good the state did not keep before starts at its ``initial_t`` (it had no entry, and
        sustainment crashed on it); goods already kept keep their current stock.
        """
        stocks = self.spec.stocks
        self.need_t_per_day = {c: s.consumption_t_per_day for c, s in stocks.items()}
        self.production_t_per_day = {c: s.local_production_t_per_day for c, s in stocks.items()}
        for good, stock in stocks.items():
            self.stock_t.setdefault(good, stock.initial_t)
            self.shortage.setdefault(good, 0.0)
            self.consumed_t.setdefault(good, 0.0)

    def receive(self, commodity: str, tonnes: float) -> None:
        """Goods arriving; they join the stock if the state keeps one of that good."""
        self.received_t[commodity] = self.received_t.get(commodity, 0.0) + tonnes
        if commodity in self.stock_t:
            self.stock_t[commodity] += tonnes

    def draw(self, commodity: str, tonnes: float) -> None:
        """Goods leaving as shipments from a stock."""
        if commodity in self.stock_t:
            self.stock_t[commodity] = max(0.0, self.stock_t[commodity] - tonnes)

    def stock(self, commodity: str) -> float:
        return self.stock_t.get(commodity, 0.0)

    def __repr__(self) -> str:
        return f"StateAgent({self.name!r})"
