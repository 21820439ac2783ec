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
        self.storage_t: dict[str, float] = {
            c: s.storage_t for c, s in spec.stocks.items() if s.storage_t is not None
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
        self.in_shortage: set[str] = set()
        """Goods whose shortage has been logged as started and not yet as over."""
        self.first_shortage_date = None
        self.peak_stress: float = 0.0

        # economy (US$ millions)
        self.budget_usd_m: float = spec.economy.arms_budget_usd_m if spec.economy else 0.0
        """Defence money not yet spent on arms."""
        self.revenue_today_usd_m: float = 0.0
        self.energy_revenue_usd_m: float = 0.0
        # military: combat power = personnel × quality × readiness
        military = spec.military
        self.personnel: float = military.personnel if military else 0.0
        self.initial_personnel: float = self.personnel
        self.quality: float = military.quality if military else 0.0
        self.readiness: float = 1.0
        self.arms_received_t: float = 0.0
        # status
        self.controlled_by: str | None = None
        """The conqueror, once this state has fallen."""
        self.at_war_with: str | None = None

    @property
    def sustained(self) -> bool:
        """Whether this state has a population whose daily needs the model tracks."""
        # any(need > 0 ...), with the comparisons in C: this is read several times a day
        return any(map((0.0).__lt__, self.need_t_per_day.values()))

    def sync_military(self) -> None:
        """An event changed the military section: personnel follows it (reinforcements or
        demobilisation); quality and readiness are recomputed from it every day."""
        military = self.spec.military
        self.personnel = military.personnel if military else 0.0

    def sync_stocks(self) -> None:
        """Take daily need and production from the spec after an event changed its stocks.

        A good the state did not keep before starts at its ``initial_t`` (it had no entry, and
        sustainment crashed on it); goods already kept keep their current stock.
        """
        stocks = self.spec.stocks
        self.need_t_per_day = {c: s.consumption_t_per_day for c, s in stocks.items()}
        self.production_t_per_day = {c: s.local_production_t_per_day for c, s in stocks.items()}
        self.storage_t = {c: s.storage_t for c, s in stocks.items() if s.storage_t is not None}
        for good, stock in stocks.items():
            self.stock_t.setdefault(good, stock.initial_t)
            self.shortage.setdefault(good, 0.0)
            self.consumed_t.setdefault(good, 0.0)

    @property
    def power(self) -> float:
        """Combat power: personnel × quality × readiness."""
        return self.personnel * self.quality * self.readiness

    @property
    def fallen(self) -> bool:
        return self.controlled_by is not None

    def start_day(self) -> None:
        """Nothing received yet today."""
        self.received_t = {}

    def receive(self, commodity: str, amount: float) -> None:
        """Goods (t) or people arriving; goods join the stock if the state keeps that good."""
        self.received_t[commodity] = self.received_t.get(commodity, 0.0) + amount
        if commodity == "people":
            self.population += amount
            return
        if commodity == "arms":
            self.arms_received_t += amount
        if commodity in self.stock_t:
            self.stock_t[commodity] += amount

    def draw(self, commodity: str, amount: float) -> None:
        """Goods or people leaving as shipments."""
        if commodity == "people":
            self.population = max(0.0, self.population - amount)
        elif commodity in self.stock_t:
            self.stock_t[commodity] = max(0.0, self.stock_t[commodity] - amount)

    def available(self, commodity: str) -> float | None:
        """How much of a good this state can ship, or None when it produces what it ships."""
        if commodity == "people":
            return self.population
        return self.stock_t.get(commodity)

    def stock(self, commodity: str) -> float:
        return self.stock_t.get(commodity, 0.0)

    def __repr__(self) -> str:
        return f"StateAgent({self.name!r})"
