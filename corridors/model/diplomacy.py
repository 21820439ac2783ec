"""Guarantors and third parties: deterrence, credibility, tension.

Deterrence a claimant faces from attacking a target (capped at 1):

    Σ over guarantees protecting the target with troops present: commitment × credibility
    + Σ over states threatening the claimant: threat

Guarantees erode in degrees: each day a guarantee's credibility falls by
``credibility_decay_per_day`` × the unmet share of the protected population's need (what arrived
today plus local production against need, weighted like the stress index), so a road throttled
to 99 % costs almost nothing and a closed one the full rate; it drops by
``credibility_drop_on_fall`` when the protected state falls. A guarantor acts: it protests once
when a link it covers is first blocked (a tenth of a day's recovery), escorts convoys through a
blockade when its commitment reaches ``escort_min_commitment`` and its ``escort_fraction`` > 0
(the link carries at least that share of capacity; every escort day regains
``credibility_recovery_per_day`` of the gap to full credibility), reinforces or withdraws by event
(``reinforce``, ``withdraw_peacekeepers``) or withdraws by rule below
``withdraw_below_credibility``. A guarantor ``engaged_elsewhere`` (at war elsewhere; set by event)
deters with ``engaged_commitment_factor`` of its commitment.

Third parties respond: when a state's tension toward another crosses a ``responses[].level``
it threatens (adds to the deterrence that state faces), holds exercises (also deters the scripted
events named in ``deters`` while tension stays at or above the level) or denies transit.

Tension (0–1, by ordered pair) rises when a rival's arms reach a neighbour
(``tension_per_kt_rival_arms`` per 1,000 t, toward both the supplier and the recipient, for a
state whose relation toward the supplier is at or below −0.5) and when a conquest or a demanded
corridor changes borders (``opposes_border_change``); it relaxes by ``tension_decay_per_day``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corridors.model.conflict_model import ConflictModel

RIVAL_RELATION = -0.5


@dataclass
class GuaranteeState:
    """A guarantee during the run."""

    guarantor: str
    protects: str
    links: tuple[str, ...]
    personnel: float
    commitment: float
    credibility: float
    can_impose_ceasefire: bool
    ceasefire_below_share: float = 0.0
    peacekeepers_on_ceasefire: float = 0.0
    engaged_elsewhere: bool = False
    escort_fraction: float = 0.0
    withdraw_below_credibility: float = 0.0
    engaged_factor: float = 1.0
    """Share of commitment that deters while engaged elsewhere (from the parameters)."""
    failing_logged: bool = False
    escort_until: dict[str, tuple[int, float]] = field(default_factory=dict)
    """Escorts under way by link: (last day index, fraction)."""
    unmet_share: float = 0.0
    """Today's unmet share of the protected population's need."""

    @property
    def key(self) -> str:
        return f"{self.guarantor}->{self.protects}"

    @property
    def present(self) -> bool:
        return self.personnel > 0

    @property
    def strength(self) -> float:
        """What the guarantee deters with: commitment × credibility when troops are present
        (commitment scaled down while the guarantor is engaged elsewhere)."""
        if not self.present:
            return 0.0
        commitment = self.commitment * (self.engaged_factor if self.engaged_elsewhere else 1.0)
        return commitment * self.credibility


class Diplomacy:
    """Guarantees, deterrence and tension."""

    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        factor = model.spec.parameters.engaged_commitment_factor
        self.guarantees = [
            GuaranteeState(
                guarantor=s.name,
                protects=g.protects,
                links=tuple(g.links),
                personnel=g.personnel,
                commitment=g.commitment,
                credibility=g.credibility,
                can_impose_ceasefire=g.can_impose_ceasefire,
                ceasefire_below_share=g.ceasefire_below_share,
                peacekeepers_on_ceasefire=g.peacekeepers_on_ceasefire,
                engaged_elsewhere=g.engaged_elsewhere,
                escort_fraction=g.escort_fraction,
                withdraw_below_credibility=g.withdraw_below_credibility,
                engaged_factor=factor,
            )
            for s in model.spec.states
            for g in s.guarantees
        ]
        self._guarantee_index = {
            (s.name, j): g
            for (s, j), g in zip(
                [(s, j) for s in model.spec.states for j in range(len(s.guarantees))],
                self.guarantees,
                strict=True,
            )
        }
        self.tension: dict[tuple[str, str], float] = {}
        self.peak_tension: dict[tuple[str, str], float] = {}
        self.responding: set[tuple[str, int]] = set()
        """Responses under way: (state, index in its responses)."""
        self._escorts_set = False
        """Whether yesterday's escorts left any link escorted (else every escort is 0)."""
        self._rivals: dict[str, list[str]] = {}
        """Per arms supplier, the states that see it as a rival, in scenario order (cleared
        by :meth:`states_changed`)."""
        self.threat_added: dict[tuple[str, str], float] = {}
        """Threats added by responses: (from, toward) → amount."""
        states = model.spec.states
        claimants = [s.name for s in states if s.claims]
        pairs: set[tuple[str, str]] = set()
        for watcher in states:
            for other in states:
                if other.name == watcher.name:
                    continue
                rival = watcher.relations.get(other.name, 0.0) <= RIVAL_RELATION
                if rival and other.arms_supplier is not None:
                    pairs.add((watcher.name, other.name))
                    pairs.update((watcher.name, b) for b in claimants if b != watcher.name)
                if watcher.opposes_border_change > 0 and other.name in claimants:
                    pairs.add((watcher.name, other.name))
        for link in model.spec.links:
            if link.changes_borders:
                pairs.update(
                    (w.name, end)
                    for w in states
                    if w.opposes_border_change > 0
                    for end in (link.a, link.b)
                    if end != w.name
                )
        for watcher in states:
            pairs.update((watcher.name, other) for other in watcher.initial_tension)
            pairs.update((watcher.name, r.toward) for r in watcher.responses)
        self.tracked_pairs = sorted(pairs)
        """Pairs whose tension is recorded every day (others only when it arises)."""
        for pair in self.tracked_pairs:
            self.tension[pair] = 0.0
            self.peak_tension[pair] = 0.0
        for watcher in states:
            for other, level in watcher.initial_tension.items():
                self.tension[(watcher.name, other)] = level
                self.peak_tension[(watcher.name, other)] = level
        for watcher in states:
            for toward in dict.fromkeys(r.toward for r in watcher.responses):
                self._respond(watcher.name, toward, "tension at the start")

    def sync_guarantee(self, state: str, index: int) -> None:
        """An event changed a guarantee in the scenario: the run-time guarantee follows
        (credibility only when the event set it; it is otherwise the run's own)."""
        g = self._guarantee_index.get((state, index))
        if g is None:
            return
        spec = self.model.spec.state(state).guarantees[index]
        g.personnel = spec.personnel
        g.commitment = spec.commitment
        g.links = tuple(spec.links)
        g.can_impose_ceasefire = spec.can_impose_ceasefire
        g.ceasefire_below_share = spec.ceasefire_below_share
        g.peacekeepers_on_ceasefire = spec.peacekeepers_on_ceasefire
        g.engaged_elsewhere = spec.engaged_elsewhere
        g.escort_fraction = spec.escort_fraction
        g.withdraw_below_credibility = spec.withdraw_below_credibility

    def set_credibility(self, state: str, index: int) -> None:
        g = self._guarantee_index.get((state, index))
        if g is not None:
            g.credibility = self.model.spec.state(state).guarantees[index].credibility

    def parameters_changed(self) -> None:
        factor = self.model.spec.parameters.engaged_commitment_factor
        for g in self.guarantees:
            g.engaged_factor = factor

    def states_changed(self) -> None:
        """An event changed a state's fields (relations among them): forget the rivals."""
        self._rivals.clear()

    def _rivals_of(self, supplier: str) -> list[str]:
        """States other than ``supplier`` whose relation to it is at most rival level."""
        rivals = self._rivals.get(supplier)
        if rivals is None:
            rivals = self._rivals[supplier] = [
                state.name
                for state in self.model.spec.states
                if state.name != supplier and state.relations.get(supplier, 0.0) <= RIVAL_RELATION
            ]
        return rivals

    def guarantees_of(self, protected: str) -> list[GuaranteeState]:
        return [g for g in self.guarantees if g.protects == protected]

    def guarantee(self, guarantor: str, protects: str) -> GuaranteeState | None:
        return next(
            (g for g in self.guarantees if g.guarantor == guarantor and g.protects == protects),
            None,
        )

    def deterrence(self, attacker: str, target: str) -> float:
        total = sum(
            g.strength for g in self.guarantees if g.protects == target and g.guarantor != attacker
        )
        threat_added = self.threat_added
        for state in self.model.spec.states:
            name = state.name
            if name not in (attacker, target):
                total += state.threatens.get(attacker, 0.0)
                if threat_added:  # adding 0.0 to a float changes no bit: skip the look-up
                    total += threat_added.get((name, attacker), 0.0)
        return min(1.0, total)

    def add_tension(self, watcher: str, toward: str, amount: float, why: str) -> None:
        if amount <= 0 or watcher == toward:
            return
        key = (watcher, toward)
        before = self.tension.get(key, 0.0)
        after = min(1.0, before + amount)
        self.tension[key] = after
        self.peak_tension[key] = max(self.peak_tension.get(key, 0.0), after)
        if after > before:  # a level is passed only on the way up
            for level in (0.25, 0.5, 0.75):
                if before < level <= after:
                    self.model.log_event(
                        "tension",
                        watcher,
                        f"{watcher}'s tension toward {toward} passed {level:.2f} ({why})",
                        toward=toward,
                        tension=after,
                    )
        self._respond(watcher, toward, why)

    # ------------------------------------------------------------------ third parties

    def _respond(self, watcher: str, toward: str, why: str) -> None:
        """Start every response of ``watcher`` toward ``toward`` whose level is reached."""
        model = self.model
        responses = model.states_by_name[watcher].spec.responses
        if not responses:
            return
        tension = self.tension.get((watcher, toward), 0.0)
        for j, r in enumerate(responses):
            if r.toward != toward or (watcher, j) in self.responding or tension < r.level:
                continue
            self.responding.add((watcher, j))
            what = r.note or r.action
            if r.threat > 0:
                key = (watcher, toward)
                self.threat_added[key] = self.threat_added.get(key, 0.0) + r.threat
            if r.action == "deny_transit":
                for good in list(r.goods) if r.goods else [None]:
                    model.transit_overrides[(watcher, toward, good)] = False
                model.network_changed()
            deters = f"; deters {', '.join(r.deters)}" if r.deters else ""
            threat = f"; threat {r.threat:.2f} toward {toward}" if r.threat > 0 else ""
            goods = f" ({', '.join(r.goods)})" if r.action == "deny_transit" and r.goods else ""
            model.log_event(
                "response",
                watcher,
                f"{watcher} responds to {toward} with {r.action}{goods}: {what} (tension "
                f"{tension:.2f} ≥ {r.level:.2f}, {why}){threat}{deters}",
                toward=toward,
                action=r.action,
                tension=tension,
                level=r.level,
            )

    def responses_changed(self, watcher: str) -> None:
        """An event changed a state's responses or tensions: start any whose level is met."""
        spec = self.model.spec.state(watcher)
        for other, level in spec.initial_tension.items():
            key = (watcher, other)
            if self.tension.get(key, 0.0) < level:
                self.tension[key] = level
                self.peak_tension[key] = max(self.peak_tension.get(key, 0.0), level)
        for toward in {r.toward for r in spec.responses}:
            self._respond(watcher, toward, "its stance changed")

    def deterred(self, event_name: str | None) -> str | None:
        """The state whose exercises deter the scripted event named ``event_name``, if any
        (while its tension stays at or above the response's level)."""
        if not event_name:
            return None
        for watcher, j in sorted(self.responding):
            r = self.model.spec.state(watcher).responses[j]
            if (
                r.action == "exercise"
                and event_name in r.deters
                and self.tension.get((watcher, r.toward), 0.0) >= r.level
            ):
                return watcher
        return None

    def on_border_change(self, winner: str, what: str) -> None:
        """A conquest or a corridor changes borders: states that oppose it grow tense."""
        for state in self.model.spec.states:
            if state.name != winner and state.opposes_border_change > 0:
                self.add_tension(state.name, winner, state.opposes_border_change, what)

    def step(self) -> None:
        model = self.model
        params = model.spec.parameters
        keep = 1.0 - params.tension_decay_per_day
        tension = self.tension
        for key, value in tension.items():  # values only: the dict keeps its size
            tension[key] = value * keep
        for g in self.guarantees:
            self._guarantee_day(g)
        procurement = model.procurement
        delivered = model.logistics.delivered_today_t.tolist()
        for (supplier, buyer), fi in procurement.flow_index.items():
            kt = delivered[fi] / 1000.0
            if kt <= 0:
                continue
            amount = params.tension_per_kt_rival_arms * kt
            why = f"arms from {supplier} reach {buyer}"
            for watcher in self._rivals_of(supplier):
                if watcher != buyer:
                    self.add_tension(watcher, supplier, amount, why)
                    self.add_tension(watcher, buyer, amount, why)

    def unmet_share(self, protected: str) -> float:
        """Today's unmet share of a population's need: 1 − (arrived + local) / need, per good,
        weighted like the stress index (0 for a state with no needs)."""
        state = self.model.state(protected)
        if not state.sustained:
            return 0.0
        weights = self.model.spec.parameters.shortage_weights
        scale = state.population / state.initial_population if state.initial_population else 1.0
        total = weight_sum = 0.0
        for good, base in state.need_t_per_day.items():
            need = base * scale
            w = weights.get(good, 0.0)
            if need <= 0 or w <= 0:
                continue
            supplied = state.received_t.get(good, 0.0) + state.production_t_per_day[good]
            total += w * max(0.0, 1.0 - supplied / need)
            weight_sum += w
        return total / weight_sum if weight_sum > 0 else 0.0

    def _guarantee_day(self, g: GuaranteeState) -> None:
        """Erosion by unmet need; the guarantor's protest, escorts and withdrawal by rule."""
        model = self.model
        params = model.spec.parameters
        if not g.present or model.state(g.protects).fallen:
            return
        blocked = [
            name
            for name in g.links
            if name in model.links_by_name and model.link(name).status != "open"
        ]
        g.unmet_share = self.unmet_share(g.protects)
        g.credibility *= 1.0 - params.credibility_decay_per_day * g.unmet_share
        if blocked and not g.failing_logged:
            g.failing_logged = True
            self._recover(g, 0.1)
            model.log_event(
                "guarantee",
                g.guarantor,
                f"{g.guarantor} protests: its guarantee of {', '.join(blocked)} is failing (the "
                f"link is {model.link(blocked[0]).status}); credibility erodes with the unmet "
                f"share of {g.protects}'s need ({params.credibility_decay_per_day:.2%} a day at "
                f"a total shortfall)",
                credibility=g.credibility,
            )
        day = model.day_index
        if (
            blocked
            and g.escort_fraction > 0
            and g.commitment >= params.escort_min_commitment
            and not g.engaged_elsewhere
        ):
            for name in blocked:
                if name not in g.escort_until:
                    model.log_event(
                        "guarantee",
                        g.guarantor,
                        f"{g.guarantor} escorts convoys through {name} at "
                        f"{g.escort_fraction:.0%} of capacity (commitment {g.commitment:.2f} ≥ "
                        f"{params.escort_min_commitment:.2f})",
                        link=name,
                        fraction=g.escort_fraction,
                    )
                g.escort_until[name] = (day + 1, g.escort_fraction)
        if 0 < g.credibility < g.withdraw_below_credibility:
            g.personnel = 0.0
            model.log_event(
                "guarantee",
                g.guarantor,
                f"{g.guarantor} withdraws from {g.protects}: credibility {g.credibility:.2f} "
                f"below {g.withdraw_below_credibility:.2f}",
            )

    def apply_escorts(self) -> None:
        """Start of the day: escorted links carry at least the escort's share of capacity;
        a guarantor that escorts regains credibility."""
        model = self.model
        day = model.day_index
        wanted: dict[str, float] = {}
        for g in self.guarantees:
            if not g.escort_until:
                continue
            escorting = False
            for name, (last, fraction) in list(g.escort_until.items()):
                if day > last or not g.present:
                    del g.escort_until[name]
                    continue
                wanted[name] = max(wanted.get(name, 0.0), fraction)
                escorting = True
            if escorting:
                self._recover(g, 1.0)
        if not wanted and not self._escorts_set:
            return  # no escort yesterday or today: every link's escort is already 0
        for name, link in model.links_by_name.items():  # a dict: quicker than the AgentSet
            fraction = wanted.get(name, 0.0)
            if fraction != link.escort:
                link.set_escort(fraction)
        self._escorts_set = bool(wanted)

    def _recover(self, g: GuaranteeState, days: float) -> None:
        rate = self.model.spec.parameters.credibility_recovery_per_day * days
        g.credibility += min(1.0, rate) * (1.0 - g.credibility)

    def escort(
        self, guarantor: str, link: str, fraction: float, days: int
    ) -> GuaranteeState | None:
        """An escort by event: the guarantee covering ``link`` (or any of the guarantor's)."""
        mine = [g for g in self.guarantees if g.guarantor == guarantor]
        g = next((x for x in mine if link in x.links), mine[0] if mine else None)
        if g is not None:
            g.escort_until[link] = (self.model.day_index + days - 1, fraction)
        return g

    def protest(self, guarantor: str, protects: str) -> GuaranteeState | None:
        g = self.guarantee(guarantor, protects)
        if g is not None:
            self._recover(g, 0.1)
        return g

    def reinforce(self, guarantor: str, protects: str, personnel: float) -> GuaranteeState | None:
        g = self.guarantee(guarantor, protects)
        if g is not None:
            before = g.personnel
            g.personnel += personnel
            self._recover(g, 10.0 * personnel / max(g.personnel, 1.0))
            if before <= 0:
                g.failing_logged = False
        return g

    def withdraw(self, guarantor: str, protects: str) -> GuaranteeState | None:
        g = self.guarantee(guarantor, protects)
        if g is not None:
            g.personnel = 0.0
        return g

    def on_fall(self, fallen: str) -> None:
        drop = self.model.spec.parameters.credibility_drop_on_fall
        for g in self.guarantees_of(fallen):
            before = g.credibility
            g.credibility *= 1.0 - drop
            self.model.log_event(
                "guarantee",
                g.guarantor,
                f"{g.guarantor}'s guarantee failed: {fallen} fell; credibility "
                f"{before:.2f} → {g.credibility:.2f}",
                credibility=g.credibility,
            )
