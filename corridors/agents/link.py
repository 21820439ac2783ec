"""SupplyLink: a road corridor, air bridge, pipeline or sea lane between two states."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from corridors.scenarios.schema import Link

if TYPE_CHECKING:
    from corridors.model.conflict_model import ConflictModel

STATUS_CODES = {"open": 0, "throttled": 1, "closed": 2}
"""Numeric status for series and plots."""


class SupplyLink(mesa.Agent):
    """A link's status and what it carried; routing and capacity sharing are in logistics.

    Link state lives here, not on a Mesa network edge, so events can change it and the
    logistics layer can see the change.
    """

    model: ConflictModel

    def __init__(self, model: ConflictModel, spec: Link) -> None:
        super().__init__(model)
        self.spec = spec
        self.name: str = spec.name
        self.mode: str = str(spec.mode)
        self.a: str = spec.a
        self.b: str = spec.b
        self.a_node: str = spec.node("a")
        """Routing node of end ``a``: the state, or 'State/Hub' when the link attaches to a hub."""
        self.b_node: str = spec.node("b")
        self.bidirectional: bool = spec.bidirectional
        self.capacity_t_per_day: float = spec.capacity_t_per_day
        self.transit_days: int = spec.transit_days
        self.length_km: float | None = spec.length_km
        self.crosses: tuple[str, ...] = tuple(spec.crosses)
        self.controlled_by: str | None = spec.controlled_by
        self.status: str = str(spec.status)
        self.throttle: float = spec.throttle
        self.loss_rate: float = spec.loss_rate
        self.carries: frozenset[str] = spec.goods()
        self.capacity_people_per_day: float = spec.people_per_day()
        self.escort: float = 0.0
        """Share of capacity a guarantor's escorted convoys get through today, whatever the
        status (0 = none)."""
        self.people_today: float = 0.0
        """People who set out on the link today (displacement)."""
        self.capacity_today_t: float = 0.0
        """Capacity usable today after status and day-to-day variability (t)."""
        self.carried_today_t: float = 0.0
        """Tonnes that entered the link today, all flows together."""
        self.carried_total_t: float = 0.0

    @property
    def status_code(self) -> int:
        return STATUS_CODES[self.status]

    @property
    def usable_fraction(self) -> float:
        """Fraction of nominal capacity usable given the status (and any escort)."""
        if self.status == "closed":
            return self.escort
        if self.status == "throttled":
            return max(self.throttle, self.escort)
        return 1.0

    def set_escort(self, fraction: float) -> None:
        """Escorted convoys today (0 ends the escort)."""
        if fraction != self.escort:
            self.escort = fraction
            self.model.network_changed()

    @property
    def gatekeepers(self) -> tuple[str, ...]:
        """States whose permission a flow needs to use this link."""
        if self.controlled_by and self.controlled_by not in self.crosses:
            return (*self.crosses, self.controlled_by)
        return self.crosses

    def can_carry(self, commodity: str) -> bool:
        if commodity == "people":
            return self.capacity_people_per_day > 0
        return commodity in self.carries

    def set_status(self, status: str, throttle: float | None = None) -> None:
        """Change status; the logistics layer sees the change through the model's version."""
        self.status = status
        if throttle is not None:
            self.throttle = throttle
        self.model.network_changed()

    def __repr__(self) -> str:
        return f"SupplyLink({self.name!r}, {self.status})"
