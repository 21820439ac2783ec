"""Consequences of a capitulation: control, flight, new demands, tension, credibility.

When a defender capitulates:

1. control transfers to the attacker (the state's ``controlled_by``; links touching it come
   under the attacker's control); ``fall_routes_open_after_days`` later the attacker opens them
   for departures (on 20 Sep 2023 the ceasefire; on 24 Sep the Lachin road opened);
2. the exodus is a process: the fall sets a flight intention, min(1, ``flight_share_on_fall``
   (fear) + ``flight_stress_weight`` × humanitarian stress) of the population at the fall;
   nobody can leave until a route opens; then each day ``flight_rate_per_day`` of those still
   willing set out as a ``people`` flow, routed like goods and limited by the links' capacity in
   people per day, and arrive after the links' transit days (arrivals are counted daily);
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
        self.openings: list[tuple[int, str]] = []
        """Links out of fallen states to open: (day index, fallen state)."""

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
        model.network_changed()
        delay = model.spec.parameters.fall_routes_open_after_days
        self.openings.append((model.day_index + delay, fallen.name))
        if delay == 0:
            self._open_routes()
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
        params = self.model.spec.parameters
        share, weight = params.flight_share_on_fall, params.flight_stress_weight
        willing_share = min(1.0, share + weight * fallen.stress)
        self._flee(
            fallen_name,
            willing_share,
            f"fear after the fall {share:.0%} + {weight:.2f} × humanitarian stress "
            f"{fallen.stress:.2f}",
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

    def _open_routes(self) -> None:
        """The conqueror opens the links out of a fallen state once the delay is over."""
        model = self.model
        due = [o for o in self.openings if o[0] <= model.day_index]
        self.openings = [o for o in self.openings if o[0] > model.day_index]
        for _, fallen in due:
            winner = model.state(fallen).controlled_by
            for link in model.links:
                if fallen in (link.a, link.b) and link.status != "open":
                    link.set_status("open", throttle=1.0)
                    model.log_event(
                        "event",
                        link.name,
                        f"link {link.name} opened by {winner} after the capitulation: "
                        f"departures can start",
                        actor=winner,
                    )

    def step(self) -> None:
        """Open routes that are due; set today's departures (before the people are moved)."""
        if self.openings:
            self._open_routes()
        rate = self.model.spec.parameters.flight_rate_per_day
        people = self.model.people
        for flight in self.flights:
            left = float(people.shipped_t[flight.flow_index])
            people.set_quantity(flight.flow_index, max(0.0, rate * (flight.willing - left)))

    def displaced(self) -> float:
        """People who have left fallen states (arrived or on the road)."""
        return float(sum(self.model.people.shipped_t[f.flow_index] for f in self.flights))

    def arrived(self) -> float:
        """People from fallen states who have reached their destination."""
        return float(sum(self.model.people.delivered_t[f.flow_index] for f in self.flights))

    def arrived_today(self) -> float:
        return float(sum(self.model.people.delivered_today_t[f.flow_index] for f in self.flights))
