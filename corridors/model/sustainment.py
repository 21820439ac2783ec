"""Sustainment: populations consume their stocks daily; shortages raise humanitarian stress.

For each good a state keeps, today's need is ``consumption_t_per_day × population /
initial population``; it is met from stock plus local production; what is left beyond the
good's ``storage_t`` is not kept. The unmet fraction is the
good's shortage. The weighted shortage ``S`` (weights from ``parameters.shortage_weights``)
moves the stress index ``s`` in [0, 1]:

    s ← s + rise · S · (1 − s) − recovery · (1 − S) · s

so stress climbs toward 1 under sustained shortage and relaxes when supply returns.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corridors.agents import StateAgent

SHORTAGE_THRESHOLD = 0.01
"""A weighted shortage above this counts as a shortage day."""


def sustain_state(state: StateAgent) -> None:
    """One day of consumption and stress for one state (called through the AgentSet)."""
    if not state.sustained:
        return
    model = state.model
    params = model.spec.parameters
    scale = state.population / state.initial_population if state.initial_population > 0 else 1.0
    weighted = 0.0
    weight_sum = 0.0
    for good, base_need in state.need_t_per_day.items():
        need = base_need * scale
        available = state.stock_t[good] + state.production_t_per_day[good]
        consumed = min(need, available)
        state.stock_t[good] = min(available - consumed, state.storage_t.get(good, math.inf))
        state.consumed_t[good] = consumed
        now = state.shortage[good] = 1.0 - consumed / need if need > 0 else 0.0
        if (now > SHORTAGE_THRESHOLD) != (good in state.in_shortage):  # may start or end
            _log_shortage_change(state, good, need)
        w = params.shortage_weights.get(good, 0.0) if need > 0 else 0.0
        weighted += w * now
        weight_sum += w
    shortage = weighted / weight_sum if weight_sum > 0 else 0.0
    state.weighted_shortage = shortage
    if shortage > SHORTAGE_THRESHOLD:
        state.shortage_days += 1
        if state.first_shortage_date is None:
            state.first_shortage_date = model.today
    previous = state.stress
    stress = previous + params.stress_rise_per_day * shortage * (1.0 - previous)
    stress -= params.stress_recovery_per_day * (1.0 - shortage) * previous
    state.stress = min(1.0, max(0.0, stress))
    state.peak_stress = max(state.peak_stress, state.stress)
    for level in params.stress_alert_levels:
        if previous < level <= state.stress:
            model.log_event(
                "stress_alert",
                state.name,
                f"{state.name}: humanitarian stress passed {level:.2f} "
                f"(now {state.stress:.2f}; weighted shortage {shortage:.0%})",
                level=level,
                stress=state.stress,
                shortage=shortage,
            )


def _log_shortage_change(state: StateAgent, good: str, need: float) -> None:
    """Log when a shortage of a good starts and when it is over. It is over only once needs
    are met *and* a day's need is back in stock, so that a stock hovering at zero under noisy
    supply does not log a start and an end every other day."""
    now = state.shortage[good]
    model = state.model
    if good not in state.in_shortage and now > SHORTAGE_THRESHOLD:
        state.in_shortage.add(good)
        received = state.received_t.get(good, 0.0)
        model.log_event(
            "shortage_start",
            state.name,
            f"{state.name}: {good} stock exhausted; today's supply "
            f"{received + state.production_t_per_day[good]:,.0f} t "
            f"(imports {received:,.0f} t + local {state.production_t_per_day[good]:,.0f} t) "
            f"vs need {need:,.0f} t: shortage {now:.0%}",
            good=good,
            shortage=now,
            need_t=need,
            received_t=received,
        )
    elif good in state.in_shortage and now <= SHORTAGE_THRESHOLD and state.stock_t[good] >= need:
        state.in_shortage.discard(good)
        model.log_event(
            "shortage_end",
            state.name,
            f"{state.name}: {good} needs met again, with a day's need back in stock",
            good=good,
        )
