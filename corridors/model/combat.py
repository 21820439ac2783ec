"""Combat: Lanchester attrition until capitulation or a guarantor's ceasefire.

Per day, with a = attacker quality × readiness and d = defender quality × terrain × (1 − w + w ×
readiness) (w = ``parameters.defender_fire_readiness_weight``, 1 by default: part of a dug-in
defence's fire — positions, mines, stocked ammunition — need not fade with its supply), and
κ = ``parameters.attrition_per_day``:

- square law (default): ΔA = −κ·d·D, ΔD = −κ·a·A
- linear law:           ΔA = −κ·d·D·A/A₀, ΔD = −κ·a·A·D/D₀
- Helmbold law:         ΔA = −κ·d·D^W·A^(1−W), ΔD = −κ·a·A^W·D^(1−W) (Helmbold 1964;
  W = ``parameters.weiss_exponent``). The square law (W = 1) gives losses in the ratio of the
  effective forces, so a small, starved defence kills almost no attackers; historical campaign
  data fit the square law poorly (Bracken 1995 and Fricker 1998 on the Ardennes, Lucas & Turkes
  2004 on Kursk). At W = ½ the loss exchange ratio ΔA/ΔD = d/a is the ratio of effectiveness
  per soldier, independent of the numbers: attackers of fortified positions lose about as many
  as the defenders, as in 2020 and 2023.

From the second day on, before fighting, each day in this order:

1. a guarantor of the defender whose troops are present and whose commitment × credibility
   reaches ``parameters.ceasefire_threshold`` imposes a ceasefire after ``ceasefire_after_days``,
   and a guarantor steps in at once when the defender's personnel falls below its
   ``ceasefire_below_share`` (it will not let the protected side collapse);
2. otherwise the defender capitulates when its Lanchester strength share

       (personnel / personnel at the start of the war) × readiness

   falls below ``break_point`` (combat losses and supply together: a starved defence with
   readiness 0.45 breaks after light losses, a supplied one only after losing half its men), or
   its readiness alone below ``supply_break_point``.

Losses are casualties (killed, wounded, captured); ``parameters.killed_share_of_losses`` of them
are reported as killed, to compare with the record's death tolls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corridors.agents import StateAgent
    from corridors.model.conflict_model import ConflictModel
    from corridors.scenarios.schema import Claim


@dataclass
class War:
    attacker: str
    defender: str
    claim: Claim
    start_date: dt.date
    attacker_start: float
    defender_start: float
    days: int = 0
    end_date: dt.date | None = None
    outcome: str | None = None
    """``capitulation`` or ``ceasefire`` once it has ended."""
    attacker_losses: float = 0.0
    defender_losses: float = 0.0
    """Casualties (killed, wounded, captured)."""
    killed_share: float = 0.25

    @property
    def attacker_killed(self) -> float:
        return self.attacker_losses * self.killed_share

    @property
    def defender_killed(self) -> float:
        return self.defender_losses * self.killed_share

    @property
    def active(self) -> bool:
        return self.outcome is None


class Combat:
    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        self.wars: list[War] = []

    def engaged(self, a: str, b: str) -> bool:
        return any(w.active and {w.attacker, w.defender} == {a, b} for w in self.wars)

    def concluded(self, a: str, b: str) -> bool:
        return any(not w.active and {w.attacker, w.defender} == {a, b} for w in self.wars)

    def start(self, attacker: StateAgent, defender: StateAgent, claim: Claim) -> War:
        war = War(
            attacker.name,
            defender.name,
            claim,
            self.model.today,
            attacker.personnel,
            defender.personnel,
            killed_share=self.model.spec.parameters.killed_share_of_losses,
        )
        attacker.at_war_with, defender.at_war_with = defender.name, attacker.name
        self.wars.append(war)
        self.model.consequences.on_war_start(war)
        return war

    def step(self) -> None:
        for war in [w for w in self.wars if w.active]:
            if war.days >= 1 and self._ends(war):
                continue
            self._fight(war)

    def strength_share(self, war: War) -> float:
        """The defender's Lanchester strength relative to the start of the war: personnel
        share × readiness."""
        defender = self.model.state(war.defender)
        share = defender.personnel / war.defender_start if war.defender_start > 0 else 0.0
        return share * defender.readiness

    def _ends(self, war: War) -> bool:
        return self._ceasefire(war) or self._capitulation(war)

    def _capitulation(self, war: War) -> bool:
        model = self.model
        defender = model.state(war.defender)
        military = defender.spec.military
        assert military is not None
        share = defender.personnel / war.defender_start if war.defender_start > 0 else 0.0
        strength = share * defender.readiness
        broken = strength < military.break_point
        if not broken and defender.readiness >= military.supply_break_point:
            return False
        why = (
            f"strength {strength:.0%} of its start (personnel {defender.personnel:,.0f} of "
            f"{war.defender_start:,.0f} × readiness {defender.readiness:.2f}, stress "
            f"{defender.stress:.2f}) < break point {military.break_point:.0%}"
            if broken
            else f"readiness {defender.readiness:.2f} < supply break point "
            f"{military.supply_break_point:.2f} (stress {defender.stress:.2f})"
        )
        self._end(war, "capitulation")
        model.log_event(
            "capitulation",
            defender.name,
            f"{defender.name} capitulates to {war.attacker} after {war.days} day(s) of "
            f"fighting: {why}",
            attacker=war.attacker,
            days=war.days,
            personnel=defender.personnel,
            readiness=defender.readiness,
            strength_share=strength,
        )
        model.consequences.on_capitulation(war)
        return True

    def _ceasefire(self, war: War) -> bool:
        model = self.model
        defender = model.state(war.defender)
        share = defender.personnel / war.defender_start if war.defender_start > 0 else 0.0
        params = model.spec.parameters
        for g in model.diplomacy.guarantees_of(defender.name):
            if not g.can_impose_ceasefire:
                continue
            if g.strength >= params.ceasefire_threshold and war.days >= (
                params.ceasefire_after_days
            ):
                why = (
                    f"commitment × credibility {g.strength:.2f} ≥ {params.ceasefire_threshold:.2f}"
                )
            elif share < g.ceasefire_below_share:
                why = (
                    f"{defender.name} is near collapse: personnel at {share:.0%} of its "
                    f"strength, below {g.ceasefire_below_share:.0%}"
                )
            else:
                continue
            self._end(war, "ceasefire")
            model.log_event(
                "ceasefire",
                g.guarantor,
                f"{g.guarantor} imposes a ceasefire between {war.attacker} and "
                f"{defender.name} after {war.days} days: {why}",
                attacker=war.attacker,
                defender=defender.name,
            )
            model.consequences.on_ceasefire(war, g)
            return True
        return False

    def _end(self, war: War, outcome: str) -> None:
        war.outcome = outcome
        war.end_date = self.model.today
        self.model.state(war.attacker).at_war_with = None
        self.model.state(war.defender).at_war_with = None

    def _fight(self, war: War) -> None:
        model = self.model
        attacker, defender = model.state(war.attacker), model.state(war.defender)
        military = defender.spec.military
        terrain = military.terrain if military else 1.0
        kappa = model.spec.parameters.attrition_per_day
        params = model.spec.parameters
        w = params.defender_fire_readiness_weight
        a_eff = attacker.quality * attacker.readiness
        d_eff = defender.quality * terrain * (1.0 - w + w * defender.readiness)
        a, d = attacker.personnel, defender.personnel
        if params.combat_law == "square":
            loss_a, loss_d = kappa * d_eff * d, kappa * a_eff * a
        elif params.combat_law == "helmbold":
            weiss = params.weiss_exponent
            loss_a = kappa * d_eff * d**weiss * a ** (1.0 - weiss)
            loss_d = kappa * a_eff * a**weiss * d ** (1.0 - weiss)
        else:
            loss_a = kappa * d_eff * d * (a / war.attacker_start if war.attacker_start else 0.0)
            loss_d = kappa * a_eff * a * (d / war.defender_start if war.defender_start else 0.0)
        loss_a, loss_d = min(loss_a, a), min(loss_d, d)
        attacker.personnel -= loss_a
        defender.personnel -= loss_d
        war.attacker_losses += loss_a
        war.defender_losses += loss_d
        war.days += 1
