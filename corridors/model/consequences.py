"""Consequences of a capitulation: control, flight, new demands, tension, credibility.

When a defender capitulates:

1. control transfers to the attacker (the state's ``controlled_by``; links touching it come
   under the attacker's control, and the attacker opens them for departures);
2. its population flees to its ``patron`` along open links, as a ``people`` flow: the share
   willing to leave is min(1, ``flight_share_on_fall`` + ½ × humanitarian stress) of the
   population at the fall, and each day ``flight_rate_per_day`` of those still willing set out,
   within the links' capacity in people per day;
3. guarantors of the fallen state lose credibility; states that oppose border changes grow
   tense toward the winner; a claim's ``demands_corridor`` is put forward (and logged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corridors.model.logistics import RuntimeFlow

if TYPE_CHECKING:
    from corridors.model.combat import War
    from corridors.model.conflict_model import ConflictModel


@dataclass
class Flight:
    """A displacement under way: people leaving a fallen state for its patron."""

    origin: str
    destination: str
    flow_index: int
    willing: float
    """How many people are willing to leave in all."""


class Consequences:
    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        self.flights: list[Flight] = []
        self.demands: list[str] = []

    def on_capitulation(self, war: War) -> None:
        model = self.model
        winner, fallen = model.state(war.attacker), model.state(war.defender)
        fallen.controlled_by = winner.name
        model.log_event(
            "control",
            fallen.name,
            f"{fallen.name} passes under {winner.name}'s control",
            controller=winner.name,
        )
        for link in model.links:
            if fallen.name in (link.a, link.b):
                link.controlled_by = winner.name
                if link.status != "open":
                    link.set_status("open", throttle=1.0)
                    model.log_event(
                        "event",
                        link.name,
                        f"link {link.name} opened by {winner.name} after the capitulation",
                        actor=winner.name,
                    )
        model.network_changed()
        model.diplomacy.on_fall(fallen.name)
        model.diplomacy.on_border_change(winner.name, f"{winner.name} takes {fallen.name}")
        if war.claim.demands_corridor:
            corridor = war.claim.demands_corridor
            self.demands.append(corridor)
            model.log_event(
                "demand",
                winner.name,
                f"{winner.name} demands a new corridor: {corridor}",
                corridor=corridor,
            )
            model.diplomacy.on_border_change(winner.name, f"{winner.name} demands {corridor}")
        self._start_flight(fallen.name)

    def on_war_start(self, war: War) -> None:
        """Fighting on its territory sends part of the defender's population to its patron."""
        share = self.model.spec.parameters.flight_share_in_war
        if share > 0:
            self._flee(war.defender, share, f"fighting on its territory ({share:.0%} flee)")

    def on_ceasefire(self, war: War, guarantee: Any) -> None:
        """A guarantor that stops a war may deploy peacekeepers along the links it covers."""
        troops = guarantee.peacekeepers_on_ceasefire
        if troops <= 0:
            return
        guarantee.personnel = max(guarantee.personnel, troops)
        where = ", ".join(guarantee.links) or war.defender
        self.model.log_event(
            "guarantee",
            guarantee.guarantor,
            f"{guarantee.guarantor} deploys {troops:,.0f} peacekeepers ({where}) to guarantee "
            f"the ceasefire protecting {war.defender}",
            personnel=troops,
        )

    def _start_flight(self, fallen_name: str) -> None:
        fallen = self.model.state(fallen_name)
        share = self.model.spec.parameters.flight_share_on_fall
        willing_share = min(1.0, share + 0.5 * fallen.stress)
        self._flee(
            fallen_name,
            willing_share,
            f"fear after the fall {share:.0%} + half the humanitarian stress {fallen.stress:.2f}",
        )

    def _flee(self, name: str, willing_share: float, why: str) -> None:
        """``willing_share`` of the population (counting those already gone) wants to leave;
        a flight already under way is extended, not duplicated."""
        model = self.model
        state = model.state(name)
        patron = state.spec.patron
        if patron is None:
            return
        flight = next((f for f in self.flights if f.origin == name), None)
        base = state.population
        if flight is not None:
            base += float(model.people.shipped_t[flight.flow_index])
        if flight is None:
            if state.population <= 0:
                return
            index = model.people.add_flow(
                RuntimeFlow(
                    name=f"displacement {name} → {patron}",
                    commodity="people",
                    origin=name,
                    destination=patron,
                    start=model.today,
                )
            )
            flight = Flight(name, patron, index, 0.0)
            self.flights.append(flight)
        flight.willing = max(flight.willing, willing_share * base)
        model.log_event(
            "displacement",
            name,
            f"{flight.willing:,.0f} people ({willing_share:.0%}) of {name} want to leave for "
            f"{patron} ({why})",
            willing=flight.willing,
            destination=patron,
        )

    def step(self) -> None:
        """Set today's departures (before the people are moved)."""
        rate = self.model.spec.parameters.flight_rate_per_day
        people = self.model.people
        for flight in self.flights:
            left = float(people.shipped_t[flight.flow_index])
            people.set_quantity(flight.flow_index, max(0.0, rate * (flight.willing - left)))

    def displaced(self) -> float:
        """People who have left fallen states (arrived or on the road)."""
        return float(sum(self.model.people.shipped_t[f.flow_index] for f in self.flights))
