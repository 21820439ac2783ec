"""Decisions: when a claimant launches an offensive; rules swappable by name (``claims[].rule``).

Each day a claimant compares its perceived force ratio ``r`` and the deterrence ``d`` it faces
with its claim's numbers. Perception is the true value times a misperception factor drawn once
per run and claim (lognormal, mean 1, sd ``parameters.decision_noise_sd``, from the model's
seeded rng): a leadership that over- or under-rates its odds does so consistently, rather than
re-rolling its judgement every morning (daily re-draws would make the first lucky draw, not the
balance, decide the date):

- ``threshold`` — attack when r > threshold and d < resolve (superiority-ratio rule, as in
  Bremer & Mihalka and Cederman's GeoSim).
- ``bargaining`` — war as a costly lottery (Fearon 1995): win probability p = r / (1 + r);
  attack when the expected value of fighting, p − war_cost − d, exceeds what the target can
  credibly offer. A blockade that lowers the target's power raises p over time: the
  fait-accompli incentive.

The event log records the numbers behind every offensive.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corridors.model.military import force_ratio

if TYPE_CHECKING:
    from corridors.agents import StateAgent
    from corridors.model.conflict_model import ConflictModel
    from corridors.scenarios.schema import Claim


@dataclass
class Decision:
    attack: bool
    reason: str
    numbers: dict[str, float] = field(default_factory=dict)


def threshold_rule(claim: Claim, ratio: float, deterrence: float) -> Decision:
    numbers = {
        "force_ratio": ratio,
        "threshold": claim.threshold,
        "deterrence": deterrence,
        "resolve": claim.resolve,
    }
    strong = ratio > claim.threshold
    free = deterrence < claim.resolve
    reason = (
        f"force ratio {ratio:.2f} {'>' if strong else '≤'} threshold {claim.threshold:.2f}; "
        f"deterrence {deterrence:.2f} {'<' if free else '≥'} resolve {claim.resolve:.2f}"
    )
    return Decision(strong and free, reason, numbers)


def bargaining_rule(claim: Claim, ratio: float, deterrence: float) -> Decision:
    p = ratio / (1.0 + ratio) if math.isfinite(ratio) else 1.0
    value = p - claim.war_cost - deterrence
    numbers = {
        "force_ratio": ratio,
        "win_probability": p,
        "war_cost": claim.war_cost,
        "deterrence": deterrence,
        "expected_value": value,
        "credible_offer": claim.credible_offer,
    }
    better = value > claim.credible_offer
    reason = (
        f"win probability {p:.2f} − war cost {claim.war_cost:.2f} − deterrence "
        f"{deterrence:.2f} = {value:.2f} {'>' if better else '≤'} credible offer "
        f"{claim.credible_offer:.2f}"
    )
    return Decision(better, reason, numbers)


RULES: dict[str, Callable[[Any, float, float], Decision]] = {
    "threshold": threshold_rule,
    "bargaining": bargaining_rule,
}
"""Decision rules by the name used in scenario files."""


class Decisions:
    """Evaluates every claim each day and starts wars."""

    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        self.claims: list[tuple[StateAgent, Claim]] = [
            (model.state(s.name), claim) for s in model.spec.states for claim in s.claims
        ]
        self.force_ratio: dict[tuple[str, str], float] = {}
        self.deterrence: dict[tuple[str, str], float] = {}
        sd = model.spec.parameters.decision_noise_sd
        self.misperception: list[tuple[float, float]] = [
            tuple(model.rng.lognormal(-0.5 * sd * sd, sd, 2)) if sd > 0 else (1.0, 1.0)
            for _ in self.claims
        ]
        """Per claim: factors on the force ratio and the deterrence as the claimant sees them."""
        self._update_balance()

    def _update_balance(self) -> None:
        model = self.model
        for attacker, claim in self.claims:
            target = model.state(claim.target)
            key = (attacker.name, target.name)
            self.force_ratio[key] = force_ratio(attacker, target)
            self.deterrence[key] = model.diplomacy.deterrence(attacker.name, target.name)

    def step(self) -> None:
        model = self.model
        self._update_balance()
        for (attacker, claim), bias in zip(self.claims, self.misperception, strict=True):
            target = model.state(claim.target)
            if target.fallen or attacker.fallen or model.combat.engaged(attacker.name, target.name):
                continue
            if model.combat.concluded(attacker.name, target.name):
                continue
            if claim.earliest is not None and model.today < claim.earliest:
                continue
            key = (attacker.name, target.name)
            if key in model.held_offensives:  # a player decides (order_offensive events)
                continue
            ratio = self.force_ratio[key] * bias[0]
            deterrence = min(1.0, self.deterrence[key] * bias[1])
            decision = RULES[claim.rule](claim, ratio, deterrence)
            if decision.attack:
                model.log_event(
                    "offensive",
                    attacker.name,
                    f"{attacker.name} launches an offensive on {target.name} "
                    f"({claim.rule} rule): {decision.reason}",
                    target=target.name,
                    rule=str(claim.rule),
                    **decision.numbers,
                )
                model.combat.start(attacker, target, claim)
