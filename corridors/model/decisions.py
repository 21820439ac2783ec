"""Decisions: when a claimant launches an offensive; rules swappable by name (``claims[].rule``).

Each day a claimant compares its perceived force ratio ``r`` and the deterrence ``d`` it faces
with its claim's numbers. Perception is the true value times a misperception factor drawn once
per run and claim (lognormal, mean 1, sd ``parameters.decision_noise_sd``, from the model's
seeded rng): a leadership that over- or under-rates its odds does so consistently.

- ``hazard`` — war as a daily risk that rises smoothly with advantage. With the advantage

      a = ln(r / threshold) + stress_weight × target stress (+ window_bonus while a guarantor
          of the target is engaged elsewhere: a window of opportunity),

  the probability of attacking today is

      h = hazard_max_per_day × σ(hazard_steepness × a)
          × (deterrence_floor + (1 − deterrence_floor) × σ(deterrence_steepness × (resolve − d)))

  with σ the logistic function. ``deterrence_floor`` is the residual risk no deterrence removes
  (a resolved claimant may still gamble or miscalculate; 0 by default). It is the probability of
  attacking that day, drawn as a non-homogeneous Poisson process: each claim draws once per run,
  from the model's seeded rng, a resistance E ~ Exp(1) and attacks on the first day its
  cumulative hazard Σ −ln(1 − h) reaches E (the same distribution as a daily coin with
  probability h, and a counterfactual that lowers the hazard on every day can only delay the
  attack: common random numbers couple exactly). The threshold
  rule is the limiting case hazard_max_per_day = 1, both steepnesses → ∞, no stress weight and
  no window bonus: h becomes 1 when r > threshold and d < resolve, else 0.
- ``threshold`` — attack when r > threshold and d < resolve (superiority-ratio rule, as in
  Bremer & Mihalka and Cederman's GeoSim).
- ``bargaining`` — war as a costly lottery (Fearon 1995; Powell 2006). The claimant wins with
  p = r / (1 + r); fighting is worth p − war_cost − d to it, which is its reservation value:
  the bargaining range is every split that gives it at least that. The target's offer starts at
  ``initial_offer`` (default: the claimant's reservation value) and closes
  ``offer_adjust_per_day`` of the gap to the claimant's reservation value each day, but never
  beyond ``credible_offer``, the most it can credibly commit to.
  The claimant projects its ratio ``horizon_days`` ahead from the trend over the last
  ``horizon_days`` (log-linear). It attacks when war beats the offer and waiting would not make
  war better (power shifting in its favour makes it wait for the fait accompli); when power is
  shifting against it, peace is only worth what it could still get later (its future
  reservation value), so war now can be rational even while the offer is in range: the
  commitment problem.

The event log records the numbers behind every offensive.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

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


@dataclass
class Situation:
    """What a claimant sees on the day it decides."""

    ratio: float
    deterrence: float
    target_stress: float = 0.0
    window: bool = False
    """A guarantor of the target is engaged elsewhere."""
    projected_ratio: float | None = None
    """Bargaining: the ratio projected ``horizon_days`` ahead (None: no trend yet)."""
    offer: float = 0.0
    """Bargaining: the target's offer today."""
    draw: float = math.inf
    """Hazard: the claim's resistance E ~ Exp(1) drawn once per run."""
    cumulative: float = 0.0
    """Hazard: the cumulative hazard before today."""


def _logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _scaled(slope: float, x: float) -> float:
    """σ(slope × x), with an infinite slope giving the step function (σ(0) = ½ kept)."""
    if math.isinf(slope):
        return 1.0 if x > 0 else 0.0
    return _logistic(slope * x) if x != 0 or slope != 0 else 0.5


def win_probability(ratio: float) -> float:
    return ratio / (1.0 + ratio) if math.isfinite(ratio) else 1.0


def advantage(claim: Claim, s: Situation) -> float:
    """ln(r / threshold) + stress_weight × target stress (+ window bonus)."""
    if s.ratio <= 0:
        return -math.inf
    base = math.log(s.ratio / claim.threshold) if math.isfinite(s.ratio) else math.inf
    return base + claim.stress_weight * s.target_stress + (claim.window_bonus if s.window else 0.0)


def attack_hazard(claim: Claim, s: Situation) -> float:
    """Probability of attacking today under the hazard rule."""
    a = advantage(claim, s)
    strength = (
        0.0 if a == -math.inf else 1.0 if a == math.inf else _scaled(claim.hazard_steepness, a)
    )
    floor = claim.deterrence_floor
    free = floor + (1.0 - floor) * _scaled(claim.deterrence_steepness, claim.resolve - s.deterrence)
    return claim.hazard_max_per_day * strength * free


def cumulative_hazard(h: float) -> float:
    """One day's contribution to the cumulative hazard: −ln(1 − h)."""
    return math.inf if h >= 1.0 else -math.log1p(-h)


def hazard_rule(claim: Claim, s: Situation) -> Decision:
    h = attack_hazard(claim, s)
    total = s.cumulative + cumulative_hazard(h)
    numbers = {
        "force_ratio": s.ratio,
        "threshold": claim.threshold,
        "deterrence": s.deterrence,
        "resolve": claim.resolve,
        "target_stress": s.target_stress,
        "advantage": advantage(claim, s),
        "hazard": h,
        "cumulative_hazard": total,
        "resistance": s.draw,
    }
    window = " (window of opportunity: a guarantor engaged elsewhere)" if s.window else ""
    reason = (
        f"daily hazard {h:.1%} from force ratio {s.ratio:.2f} vs threshold "
        f"{claim.threshold:.2f}, target stress {s.target_stress:.2f}, deterrence "
        f"{s.deterrence:.2f} vs resolve {claim.resolve:.2f}{window}; cumulative hazard "
        f"{total:.2f} reached the run's draw {s.draw:.2f}"
    )
    return Decision(total >= s.draw, reason, numbers)


def threshold_rule(claim: Claim, s: Situation) -> Decision:
    ratio, deterrence = s.ratio, s.deterrence
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


def reservation_value(claim: Claim, ratio: float, deterrence: float) -> float:
    """What war is worth to the claimant: p − war cost − deterrence."""
    return win_probability(ratio) - claim.war_cost - deterrence


def bargaining_rule(claim: Claim, s: Situation) -> Decision:
    p = win_probability(s.ratio)
    value = reservation_value(claim, s.ratio, s.deterrence)
    offer = min(s.offer, claim.credible_offer)
    projected = s.projected_ratio if s.projected_ratio is not None else s.ratio
    p_later = win_probability(projected)
    value_later = reservation_value(claim, projected, s.deterrence)
    if p_later < p:
        # power shifting against the claimant: peace is worth only what it could get later
        peace = min(offer, max(0.0, value_later))
        better = value > peace
        why = f"power shifts against it (p {p:.2f} → {p_later:.2f} in {claim.horizon_days} days)"
    else:
        peace = offer
        better = value > peace and value >= value_later
        why = (
            f"waiting would raise p to {p_later:.2f}"
            if value < value_later
            else f"no gain from waiting (p {p_later:.2f} in {claim.horizon_days} days)"
        )
    numbers = {
        "force_ratio": s.ratio,
        "win_probability": p,
        "projected_win_probability": p_later,
        "war_cost": claim.war_cost,
        "deterrence": s.deterrence,
        "expected_value": value,
        "offer": offer,
        "credible_offer": claim.credible_offer,
    }
    reason = (
        f"win probability {p:.2f} − war cost {claim.war_cost:.2f} − deterrence "
        f"{s.deterrence:.2f} = {value:.2f} {'>' if value > peace else '≤'} peace worth "
        f"{peace:.2f} (offer {offer:.2f}, credible at most {claim.credible_offer:.2f}); {why}"
    )
    return Decision(better, reason, numbers)


RULES: dict[str, Callable[[Any, Situation], Decision]] = {
    "threshold": threshold_rule,
    "bargaining": bargaining_rule,
    "hazard": hazard_rule,
}
"""Decision rules by the name used in scenario files."""


@dataclass
class ClaimState:
    """A claim during the run: misperception, random stream, offer and ratio history."""

    attacker: StateAgent
    claim: Claim
    index: int
    bias: tuple[float, float]
    rng: np.random.Generator
    offer: float = 0.0
    history: deque[float] = field(default_factory=deque)
    resistance: float = math.inf
    """Hazard rule: E ~ Exp(1), drawn once per run."""
    cumulative: float = 0.0
    """Hazard rule: cumulative hazard so far."""


class Decisions:
    """Evaluates every claim each day and starts wars."""

    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        sd = model.spec.parameters.decision_noise_sd
        pairs = [
            (model.state(s.name), j, s) for s in model.spec.states for j in range(len(s.claims))
        ]
        self.claims: list[ClaimState] = []
        for attacker, j, state_spec in pairs:
            bias = tuple(model.rng.lognormal(-0.5 * sd * sd, sd, 2)) if sd > 0 else (1.0, 1.0)
            claim = state_spec.claims[j]
            stream = np.random.default_rng(int(model.rng.integers(2**63)))
            self.claims.append(
                ClaimState(
                    attacker,
                    claim,
                    j,
                    (float(bias[0]), float(bias[1])),
                    stream,
                    offer=-1.0 if claim.initial_offer is None else claim.initial_offer,
                    resistance=float(stream.exponential()),
                )
            )
        self.force_ratio: dict[tuple[str, str], float] = {}
        self.deterrence: dict[tuple[str, str], float] = {}
        self.hazard: dict[tuple[str, str], float] = {}
        """Today's attack probability of each hazard-rule claim (for series and reports)."""
        self._update_balance()

    @property
    def misperception(self) -> list[tuple[float, float]]:
        return [c.bias for c in self.claims]

    def _claim(self, cs: ClaimState) -> Claim:
        """The claim as the scenario says today (an event may have changed it)."""
        return cs.attacker.spec.claims[cs.index]

    def _update_balance(self) -> None:
        model = self.model
        for cs in self.claims:
            target = model.state(self._claim(cs).target)
            key = (cs.attacker.name, target.name)
            self.force_ratio[key] = force_ratio(cs.attacker, target)
            self.deterrence[key] = model.diplomacy.deterrence(cs.attacker.name, target.name)

    def situation(self, cs: ClaimState) -> Situation:
        claim = self._claim(cs)
        model = self.model
        target = model.state(claim.target)
        key = (cs.attacker.name, target.name)
        ratio = self.force_ratio[key] * cs.bias[0]
        deterrence = min(1.0, self.deterrence[key] * cs.bias[1])
        window = any(
            g.engaged_elsewhere and g.present
            for g in model.diplomacy.guarantees
            if g.protects == target.name
        )
        return Situation(ratio, deterrence, target.stress, window)

    def step(self) -> None:
        model = self.model
        self._update_balance()
        for cs in self.claims:
            claim = self._claim(cs)
            attacker = cs.attacker
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
            s = self.situation(cs)
            s.draw, s.cumulative = cs.resistance, cs.cumulative
            self._bargain(cs, claim, s)
            if claim.rule == "hazard":
                h = attack_hazard(claim, s)
                self.hazard[(attacker.name, target.name)] = h
                cs.cumulative += cumulative_hazard(h)
                if cs.cumulative < s.draw:
                    continue  # no attack today (the rule's reasons are written for the log)
            decision = RULES[claim.rule](claim, s)
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

    def _bargain(self, cs: ClaimState, claim: Claim, s: Situation) -> None:
        """Projected ratio from the trend over ``horizon_days``; the offer moves toward the
        claimant's reservation value, capped at what the target can credibly concede."""
        horizon = claim.horizon_days
        cs.history.append(s.ratio)
        while len(cs.history) > horizon + 1:
            cs.history.popleft()
        first = cs.history[0]
        if len(cs.history) > 1 and first > 0 and math.isfinite(first) and math.isfinite(s.ratio):
            lag = len(cs.history) - 1
            growth = math.log(max(s.ratio, 1e-9) / first) / lag
            s.projected_ratio = s.ratio * math.exp(max(-5.0, min(5.0, growth * horizon)))
        target_value = max(0.0, reservation_value(claim, s.ratio, s.deterrence))
        if cs.offer < 0:  # no initial offer given: the target starts at the claimant's value
            cs.offer = target_value
        else:
            cs.offer += claim.offer_adjust_per_day * (target_value - cs.offer)
        cs.offer = min(cs.offer, claim.credible_offer)
        s.offer = cs.offer
