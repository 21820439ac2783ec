"""ConflictModel: one step is one day of a scenario."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mesa

from corridors.agents import StateAgent, SupplyLink
from corridors.model import military, sustainment
from corridors.model.combat import Combat
from corridors.model.consequences import Consequences
from corridors.model.decisions import Decisions
from corridors.model.diplomacy import Diplomacy
from corridors.model.economy import Economy
from corridors.model.eventlog import EventLog, LogEntry
from corridors.model.events import (
    EventSchedule,
    apply_event,
    capacity_schedule_events,
    make_event,
    seasonal_events,
)
from corridors.model.logistics import Logistics
from corridors.model.procurement import Procurement
from corridors.model.series import SeriesCollector
from corridors.scenarios import Scenario, load_scenario
from corridors.scenarios.loader import RUNTIME_SECTIONS

DEFAULT_SCENARIO = "lachin-2023"
ROUTING_PATHS = frozenset({"parameters.hostile_transit_threshold"})
"""Parameters that change which routes are permitted."""
ROUTING_STATE_FIELDS = frozenset({"relations", "denies_transit_to", "hubs"})
"""State fields that change which routes are permitted."""


class ConflictModel(mesa.Model):
    """A scenario played out day by day.

    ``ConflictModel(scenario="lachin-2023", rng=1, stress_rise_per_day=0.05)``: the scenario is a
    built-in name, a file path or a loaded :class:`Scenario`; ``variants`` are counterfactual
    overlays; ``overrides`` maps dotted paths to values, and further keyword parameters are
    overrides too (``links__lachin__status="closed"``, or a bare ``parameters`` name), so
    ``mesa.batch_run`` can drive the model. ``record_flows=False`` and ``record_series=False``
    skip the per-link flow table and the daily series (a sweep that keeps only summaries).

    ``model.date`` is the calendar date the next step will simulate; ``model.today`` is the day
    being (or last) simulated. Outputs number days one way: step k is day k, dated start + k − 1,
    and its series row is the state at the end of that day.
    """

    def __init__(
        self,
        scenario: str | Path | Scenario = DEFAULT_SCENARIO,
        rng: Any = None,
        variants: Sequence[str] = (),
        overrides: Mapping[str, Any] | None = None,
        days: int | None = None,
        record_flows: bool = True,
        record_series: bool = True,
        **params: Any,
    ) -> None:
        super().__init__(rng=rng)
        spec = load_scenario(scenario, variants=variants, overrides={**(overrides or {}), **params})
        # Events change the model's scenario, never the caller's: copy a scenario that was
        # passed in as it is; one built by load_scenario (from a file, or with variants or
        # overrides applied) is already the model's own. Events change only RUNTIME_SECTIONS
        # (set_field refuses the rest), so the meta, calendar, events and targets are shared
        # (a sweep builds a model per run: the meta with its lesson is most of a deep copy).
        self.spec: Scenario = (
            spec.model_copy(
                update={name: copy.deepcopy(getattr(spec, name)) for name in RUNTIME_SECTIONS}
            )
            if spec is scenario
            else spec
        )
        self.spec._provenance = spec._provenance
        self.start_date: dt.date = self.spec.calendar.start
        self.n_days: int = days if days is not None else self.spec.calendar.n_days
        self.day_index: int = -1
        """Index of the day being (or last) simulated: 0 on the start date."""
        self.today: dt.date = self.start_date
        self.record_flows = record_flows
        self.record_series = record_series
        """Collect the daily series (``False``: a run that needs only its summary, as in a
        sweep, skips the collector, about a third of a day's step)."""
        self.network_version = 0
        self.transit_overrides: dict[tuple[str, str, str | None], bool] = {}
        self.transit_mode_overrides: dict[tuple[str, str, str | None, str], bool] = {}
        """Transit rights given or withdrawn for some modes only (state, to, good, mode)."""
        """Explicit transit decisions from events: (transit state, beneficiary, good or None for
        all goods) → allowed."""
        self.log = EventLog()
        self.held_offensives: set[tuple[str, str]] = set()
        """Claims (claimant, target) whose decision rule is suspended by an ``order_offensive``
        event: a player decides when to attack (rooms)."""

        self.states = StateAgent.create_agents(self, len(self.spec.states), spec=self.spec.states)
        self.links = SupplyLink.create_agents(self, len(self.spec.links), spec=self.spec.links)
        self.states_by_name: dict[str, StateAgent] = {s.name: s for s in self.states}
        self.links_by_name: dict[str, SupplyLink] = {lk.name: lk for lk in self.links}
        self.sustained_states = self.states.select(lambda s: s.sustained)
        self.armed_states = self.states.select(lambda s: s.spec.military is not None)
        """States with a ``military`` section: the others have no forces to update."""
        last = self.start_date + dt.timedelta(days=self.spec.calendar.n_days)
        seasons = seasonal_events(self.spec, self.start_date, last)
        steps = capacity_schedule_events(self.spec, self.start_date, last)
        # seasons, then capacity steps, first on a day, so a scripted event can override them
        self.schedule_of_events = EventSchedule(
            [*seasons, *steps, *self.spec.events], self.start_date
        )
        self.logistics = Logistics(self)
        self.people = Logistics(self, flows=[], unit="people")
        """Displacement: people moving along links, with the same accounting as goods."""
        self.economy = Economy(self)
        self.procurement = Procurement(self)
        self.diplomacy = Diplomacy(self)
        self.combat = Combat(self)
        self.consequences = Consequences(self)
        self.states.do(military.update_forces)
        self.decisions = Decisions(self)

        self.datacollector = SeriesCollector(
            model_reporters=self._model_reporters(),
            agenttype_reporters={
                StateAgent: {
                    "stress": "stress",
                    "population": "population",
                    "weighted_shortage": "weighted_shortage",
                    "food_t": lambda a: a.stock_t.get("food"),
                    "fuel_t": lambda a: a.stock_t.get("fuel"),
                    "medicine_t": lambda a: a.stock_t.get("medicine"),
                    "received_food_t": lambda a: (
                        a.received_t.get("food", 0.0) if a.sustained else None
                    ),
                    "received_medicine_t": lambda a: (
                        a.received_t.get("medicine", 0.0) if a.sustained else None
                    ),
                    "received_fuel_t": lambda a: (
                        a.received_t.get("fuel", 0.0) if a.sustained else None
                    ),
                    "arms_t": lambda a: a.stock_t.get("arms"),
                    "personnel": lambda a: a.personnel if a.spec.military else None,
                    "readiness": lambda a: a.readiness if a.spec.military else None,
                    "quality": lambda a: a.quality if a.spec.military else None,
                    "power": lambda a: a.power if a.spec.military else None,
                    "arms_received_t": lambda a: a.arms_received_t if a.spec.military else None,
                    "arms_budget_usd_m": lambda a: a.budget_usd_m if a.spec.economy else None,
                    "revenue_usd_m": lambda a: a.revenue_today_usd_m if a.spec.economy else None,
                },
                SupplyLink: {
                    "carried_t": "carried_today_t",
                    "capacity_t": "capacity_today_t",
                    "status": "status_code",
                },
            },
        )
        self.running = self.n_days > 0
        if record_series:
            self.datacollector.collect(self)

    def _model_reporters(self) -> dict[str, Any]:
        """Totals, plus one series per claim, guarantee and watched pair of states."""
        reporters: dict[str, Any] = {
            "shipped_t": lambda m: float(m.logistics.shipped_t.sum()),
            "delivered_t": lambda m: float(m.logistics.delivered_t.sum()),
            "in_transit_t": lambda m: float(m.logistics.in_transit_t.sum()),
            "lost_t": lambda m: float(m.logistics.lost_t.sum()),
            "shipped_today_t": lambda m: float(m.logistics.shipped_today_t.sum()),
            "energy_delivered_t": lambda m: m.economy.energy_delivered_total_t,
            "displaced": lambda m: m.consequences.displaced(),
            "arrived": lambda m: m.consequences.arrived(),
            "arrived_today": lambda m: m.consequences.arrived_today(),
        }
        for key in self.decisions.force_ratio:
            label = f"{key[0]}->{key[1]}"
            reporters[f"force_ratio.{label}"] = lambda m, k=key: m.decisions.force_ratio[k]
            reporters[f"deterrence.{label}"] = lambda m, k=key: m.decisions.deterrence[k]
            reporters[f"attack_hazard.{label}"] = lambda m, k=key: m.decisions.hazard.get(k, 0.0)
        for g in self.diplomacy.guarantees:
            reporters[f"credibility.{g.key}"] = lambda m, g=g: g.credibility
        for pair in self.diplomacy.tracked_pairs:
            label = f"{pair[0]}->{pair[1]}"
            reporters[f"tension.{label}"] = lambda m, p=pair: m.diplomacy.tension.get(p, 0.0)
        return reporters

    # ------------------------------------------------------------------ time

    @property
    def date(self) -> dt.date:
        """The date the next step simulates; the series row of this step is dated so."""
        return self.start_date + dt.timedelta(days=self.steps)

    def step(self) -> None:
        """One day: events; arms contracts and departures; shipping and delivery of goods and
        people; revenue; consumption; forces; guarantees and tension; decisions; combat;
        data collection."""
        self.day_index = self.steps - 1
        self.today = self.start_date + dt.timedelta(days=self.day_index)
        self.states.do("start_day")
        for event in self.schedule_of_events.due(self.day_index):
            if self._overtaken(event) or self._deterred(event):
                continue
            apply_event(self, event)
        self.diplomacy.apply_escorts()
        self.procurement.step()
        self.consequences.step()
        self.logistics.step()
        self.people.step()
        self.procurement.after_shipping()
        self.economy.step()
        self.sustained_states.do(sustainment.sustain_state)
        self.armed_states.do(military.update_forces)
        self.diplomacy.step()
        self.decisions.step()
        self.combat.step()
        if self.record_series:
            self.datacollector.collect(self)
        if self.steps >= self.n_days:
            self.running = False

    # ------------------------------------------------------------------ look-ups

    def state(self, name: str) -> StateAgent:
        return self.states_by_name[name]

    def link(self, name: str) -> SupplyLink:
        return self.links_by_name[name]

    def permits_transit(
        self,
        state_name: str,
        origin: str,
        destination: str,
        commodity: str | None = None,
        mode: str | None = None,
    ) -> bool:
        """Whether ``state_name`` lets goods from ``origin`` to ``destination`` pass, on a link
        of ``mode`` (None: any mode, i.e. a denial of any mode refuses it).

        A conqueror lets the population of the state it took leave (the exodus road is open
        whatever its relations with the refugees' destination). A rule for some modes beats
        one for every mode (an event granting airspace opens air links through a state that
        otherwise denies transit), and a refusal beats a grant at the same level."""
        if commodity == "people" and self.states_by_name[origin].controlled_by == state_name:
            return True
        by_mode = self.transit_mode_overrides
        if by_mode and mode is not None:
            found = [
                by_mode.get((state_name, target, good, mode))
                for target in (destination, origin)
                for good in (commodity, None)
            ]
            if False in found:
                return False
            if True in found[:2]:
                return True
        overrides = self.transit_overrides
        if overrides:  # (routing asks this of every state it reaches: skip the look-ups)
            for good in (commodity, None):
                if overrides.get((state_name, destination, good)) is False:
                    return False
                if overrides.get((state_name, origin, good)) is False:
                    return False
            for good in (commodity, None):
                if overrides.get((state_name, destination, good)) is True:
                    return True
        spec = self.states_by_name[state_name].spec
        for entry in spec.denies_transit_to:
            if isinstance(entry, str):
                if entry in (destination, origin):
                    return False
            elif (
                entry.state in (destination, origin)
                and (entry.modes is None or mode in entry.modes)
                and (entry.goods is None or commodity in entry.goods)
            ):
                return False
        relation = spec.relations.get(destination, 0.0)
        return relation >= self.spec.parameters.hostile_transit_threshold

    # ------------------------------------------------------------------ changes

    def network_changed(self) -> None:
        """A link status or transit permission changed: routes must be recomputed."""
        self.network_version += 1

    def spec_changed(self, path: str) -> None:
        """An event changed a field of the scenario: bring agents and caches in line."""
        parts = path.split(".")
        section = parts[0]
        if section == "states":
            self.diplomacy.states_changed()
        if section == "links" and len(parts) >= 3:
            key = parts[1]
            link = self.links_by_name.get(key) or self.link(self.spec.links[int(key)].name)
            attr = parts[2]
            value = getattr(link.spec, attr)
            if attr in ("carries", "mode"):
                link.carries = link.spec.goods()
                link.mode = str(link.spec.mode)
            elif attr == "crosses":
                link.crosses = tuple(value)
            elif attr in ("a", "b", "a_hub", "b_hub"):
                link.a, link.b = link.spec.a, link.spec.b
                link.a_node, link.b_node = link.spec.node("a"), link.spec.node("b")
            elif attr == "status":
                link.status = str(value)
            elif hasattr(link, attr):
                setattr(link, attr, value)
        elif section == "states" and len(parts) >= 3:
            key = parts[1]
            state = next((s for s in self.states if key in (s.name, s.code)), None) or self.state(
                self.spec.states[int(key)].name
            )
            if parts[2] == "population":
                state.population = state.spec.population
            elif parts[2] == "stocks":
                state.sync_stocks()
                # a state given its first stock by an event starts being sustained
                self.sustained_states = self.states.select(lambda s: s.sustained)
            elif parts[2] == "guarantees":
                self._sync_guarantees(state.name, parts)
            elif parts[2] == "military":
                state.sync_military()
                self.armed_states = self.states.select(lambda s: s.spec.military is not None)
            elif parts[2] in ("responses", "initial_tension"):
                self.diplomacy.responses_changed(state.name)
        elif section == "parameters":
            self.diplomacy.parameters_changed()
        elif section == "flows":
            self.logistics.flows_changed()
        if (
            section in ("links", "flows")
            or path in ROUTING_PATHS
            or (section == "states" and len(parts) >= 3 and parts[2] in ROUTING_STATE_FIELDS)
        ):
            self.network_changed()

    def _sync_guarantees(self, state: str, parts: list[str]) -> None:
        guarantees = self.spec.state(state).guarantees
        indices = range(len(guarantees))
        if len(parts) >= 4 and parts[3].lstrip("-").isdigit():
            indices = [int(parts[3]) % max(len(guarantees), 1)]
        for j in indices:
            self.diplomacy.sync_guarantee(state, j)
            if len(parts) >= 5 and parts[4] == "credibility":
                self.diplomacy.set_credibility(state, j)

    def _overtaken(self, event: Any) -> bool:
        """A scripted event on a link into a state that has already fallen no longer applies:
        the world it was written for has changed (e.g. the record's ICRC convoys of 18 Sep 2023
        after a modelled fall on 10 Sep). Logged, not applied."""
        link = getattr(event, "link", None)
        if link is None or link not in self.links_by_name:
            return False
        fallen = [s for s in (self.link(link).a, self.link(link).b) if self.state(s).fallen]
        if not fallen:
            return False
        self.log_event(
            "event_skipped",
            link,
            f"scripted {event.action} on {link} skipped: {fallen[0]} has already fallen "
            f"to {self.state(fallen[0]).controlled_by}",
            action=event.action,
        )
        return True

    def _deterred(self, event: Any) -> bool:
        """A third party's exercises deter this scripted event: logged, not applied."""
        who = self.diplomacy.deterred(getattr(event, "name", None))
        if who is None:
            return False
        self.log_event(
            "event_deterred",
            event.name,
            f"scripted {event.action} '{event.name}' deterred: {who}'s exercises and threats "
            f"(its response to rising tension) hold it off",
            action=event.action,
            deterred_by=who,
        )
        return True

    def intervene(self, event: Any) -> LogEntry:
        """Apply an event now (an object or a dict such as ``{"action": "close_link",
        "link": "lachin"}``), logged as an intervention."""
        self.day_index = self.steps
        self.today = self.date
        event = make_event(self, event)
        apply_event(self, event, intervention=True)
        return self.log.entries[-1]

    def log_event(
        self, kind: str, subject: str, message: str, origin: str = "model", **data: Any
    ) -> LogEntry:
        step = max(self.day_index + 1, 0)
        return self.log.add(step, self.today, kind, subject, message, origin, **data)
