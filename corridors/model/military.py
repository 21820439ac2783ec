"""Military balance: combat power = personnel × quality × readiness.

    quality   = min(max_quality, quality₀ + quality_per_kt_arms × arms received (kt))
    readiness = (1 − readiness_erosion × humanitarian stress) × min(1, arms stock / arms_required_t)

Imported arms (drones, ISR, munitions) raise quality and fill the arms stock; a blockade erodes
the besieged side's readiness through the shortages behind its stress. The force ratio a claimant
sees is its power over the target's power times the target's terrain multiplier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corridors.agents import StateAgent


def update_forces(state: StateAgent) -> None:
    """Today's quality and readiness (called through the AgentSet)."""
    military = state.spec.military
    if military is None:
        return
    state.quality = min(
        military.max_quality,
        military.quality + military.quality_per_kt_arms * state.arms_received_t / 1000.0,
    )
    supply = max(0.0, 1.0 - military.readiness_erosion * state.stress)
    if military.arms_required_t > 0:
        arms = min(1.0, state.stock("arms") / military.arms_required_t)
    else:
        arms = 1.0
    state.readiness = supply * arms


def force_ratio(attacker: StateAgent, defender: StateAgent) -> float:
    """Attacker's combat power over the defender's, terrain included."""
    military = defender.spec.military
    terrain = military.terrain if military else 1.0
    defence = defender.power * terrain
    if defence <= 0:
        return float("inf") if attacker.power > 0 else 0.0
    return attacker.power / defence
