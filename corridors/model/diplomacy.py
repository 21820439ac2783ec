"""Guarantors and third parties: deterrence, credibility, tension.

Deterrence a claimant faces from attacking a target (capped at 1):

    Σ over guarantees protecting the target with troops present: commitment × credibility
    + Σ over states threatening the claimant: threat

A guarantee's credibility falls by ``credibility_decay_per_day`` (a share) each day a link it
covers is blocked (closed or throttled) — a guarantee that does not hold is worth less — and by
``credibility_drop_on_fall`` when the protected state falls.

Tension (0–1, by ordered pair) rises when a rival's arms reach a neighbour
(``tension_per_kt_rival_arms`` per 1,000 t, toward both the supplier and the recipient, for a
state whose relation toward the supplier is at or below −0.5) and when a conquest or a demanded
corridor changes borders (``opposes_border_change``); it relaxes by ``tension_decay_per_day``.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    failing_logged: bool = False

    @property
    def key(self) -> str:
        return f"{self.guarantor}->{self.protects}"

    @property
    def present(self) -> bool:
        return self.personnel > 0

    @property
    def strength(self) -> float:
        """What the guarantee deters with: commitment × credibility when troops are present."""
        return self.commitment * self.credibility if self.present else 0.0


class Diplomacy:
    """Guarantees, deterrence and tension."""

    def __init__(self, model: ConflictModel) -> None:
        self.model = model
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
            )
            for s in model.spec.states
            for g in s.guarantees
        ]
        self.tension: dict[tuple[str, str], float] = {}
        self.peak_tension: dict[tuple[str, str], float] = {}
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
        self.tracked_pairs = sorted(pairs)
        """Pairs whose tension is recorded every day (others only when it arises)."""
        for pair in self.tracked_pairs:
            self.tension[pair] = 0.0
            self.peak_tension[pair] = 0.0

    def guarantees_of(self, protected: str) -> list[GuaranteeState]:
        return [g for g in self.guarantees if g.protects == protected]

    def guarantee(self, guarantor: str, protects: str) -> GuaranteeState | None:
        return next(
            (g for g in self.guarantees if g.guarantor == guarantor and g.protects == protects),
            None,
        )

    def deterrence(self, attacker: str, target: str) -> float:
        total = sum(g.strength for g in self.guarantees_of(target) if g.guarantor != attacker)
        for state in self.model.spec.states:
            if state.name not in (attacker, target):
                total += state.threatens.get(attacker, 0.0)
        return min(1.0, total)

    def add_tension(self, watcher: str, toward: str, amount: float, why: str) -> None:
        if amount <= 0 or watcher == toward:
            return
        key = (watcher, toward)
        before = self.tension.get(key, 0.0)
        after = min(1.0, before + amount)
        self.tension[key] = after
        self.peak_tension[key] = max(self.peak_tension.get(key, 0.0), after)
        for level in (0.25, 0.5, 0.75):
            if before < level <= after:
                self.model.log_event(
                    "tension",
                    watcher,
                    f"{watcher}'s tension toward {toward} passed {level:.2f} ({why})",
                    toward=toward,
                    tension=after,
                )

    def on_border_change(self, winner: str, what: str) -> None:
        """A conquest or a corridor changes borders: states that oppose it grow tense."""
        for state in self.model.spec.states:
            if state.name != winner and state.opposes_border_change > 0:
                self.add_tension(state.name, winner, state.opposes_border_change, what)

    def step(self) -> None:
        model = self.model
        params = model.spec.parameters
        keep = 1.0 - params.tension_decay_per_day
        for key in list(self.tension):
            self.tension[key] *= keep
        for g in self.guarantees:
            blocked = [
                name
                for name in g.links
                if name in model.links_by_name and model.link(name).status != "open"
            ]
            if blocked and g.present:
                g.credibility *= 1.0 - params.credibility_decay_per_day
                if not g.failing_logged:
                    g.failing_logged = True
                    model.log_event(
                        "guarantee",
                        g.guarantor,
                        f"{g.guarantor}'s guarantee of {', '.join(blocked)} is failing: the "
                        f"link is {model.link(blocked[0]).status}; its credibility starts to "
                        f"erode ({params.credibility_decay_per_day:.1%} a day)",
                        credibility=g.credibility,
                    )
        procurement = model.procurement
        delivered = model.logistics.delivered_today_t.tolist()
        for (supplier, buyer), fi in procurement.flow_index.items():
            kt = delivered[fi] / 1000.0
            if kt <= 0:
                continue
            for state in model.spec.states:
                if state.name in (supplier, buyer):
                    continue
                if state.relations.get(supplier, 0.0) <= RIVAL_RELATION:
                    amount = params.tension_per_kt_rival_arms * kt
                    why = f"arms from {supplier} reach {buyer}"
                    self.add_tension(state.name, supplier, amount, why)
                    self.add_tension(state.name, buyer, amount, why)

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
