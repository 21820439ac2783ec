"""Running one scenario end to end and collecting its outputs (the API the CLI and app use)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.agents import StateAgent, SupplyLink
from corridors.model import ConflictModel
from corridors.scenarios import Scenario

SERIES_COLUMNS = ["step", "date", "entity", "variable", "value"]
SERIES_DTYPES = {
    "step": "int64",
    "date": "object",
    "entity": "object",
    "variable": "object",
    "value": "float64",
}


@dataclass
class RunResult:
    """Everything a run produced.

    ``summary``: one flat dict of outcomes; ``series``: tidy (step, date, entity, variable,
    value), ``entity`` being ``model`` or a state or link name; ``flows``: tonnes per link, flow
    and day; ``events``: the event log; ``balance``: per-flow conservation accounting.
    """

    summary: dict[str, Any]
    series: pd.DataFrame
    flows: pd.DataFrame
    events: pd.DataFrame
    balance: pd.DataFrame
    scenario: Scenario
    model: ConflictModel | None = field(default=None, repr=False)

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write summary.json, series.parquet, flows.parquet, events.jsonl and scenario.yaml."""
        from corridors.analysis.export import write_run

        return write_run(self, Path(out))


def run_scenario(
    scenario: str | Path | Scenario = "lachin-2023",
    seed: int | None = 0,
    days: int | None = None,
    variants: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    record_flows: bool = True,
    keep_model: bool = False,
    record_series: bool = True,
) -> RunResult:
    """Run a scenario to its end (or ``days`` days) and return its outputs.

    A run is a pure function of (scenario, variants, overrides, seed, days).
    ``record_flows=False`` / ``record_series=False``: leave the flow table / the daily series
    empty (quicker, for callers that need only the summary).
    """
    model = ConflictModel(
        scenario,
        rng=seed,
        variants=variants,
        overrides=overrides,
        days=days,
        record_flows=record_flows,
        record_series=record_series,
    )
    while model.running:
        model.step()
    return collect_result(model, seed, keep_model=keep_model)


def collect_result(model: ConflictModel, seed: Any, keep_model: bool = False) -> RunResult:
    """Outputs of a model that has been stepped (to its end or not)."""
    return RunResult(
        summary=summarise(model, seed),
        series=series_frame(model),
        flows=model.logistics.flow_table(),
        events=model.log.to_frame(),
        balance=model.logistics.balance(),
        scenario=model.spec,
        model=model if keep_model else None,
    )


def series_frame(model: ConflictModel) -> pd.DataFrame:
    """The DataCollector's model and agent series in one tidy frame."""
    if not model.record_series:  # nothing was collected
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in SERIES_DTYPES.items()})
    dc = model.datacollector
    start = pd.Timestamp(model.start_date)
    parts = []
    mv = dc.get_model_vars_dataframe()
    if not mv.empty:
        mv = mv.reset_index(drop=True)
        mv.index.name = "step"
        long = mv.reset_index().melt(id_vars="step", var_name="variable", value_name="value")
        long["entity"] = "model"
        parts.append(long)
    names = {a.unique_id: a.name for a in model.agents}
    for agent_type in (StateAgent, SupplyLink):
        av = dc.get_agenttype_vars_dataframe(agent_type)
        if av.empty:
            continue
        av = av.reset_index()
        av["entity"] = av["AgentID"].map(names)
        long = (
            av.drop(columns=["AgentID"])
            .rename(columns={"Step": "step"})
            .melt(id_vars=["step", "entity"], var_name="variable", value_name="value")
        )
        parts.append(long.dropna(subset=["value"]))
    frame = pd.concat(parts, ignore_index=True)
    frame["value"] = frame["value"].astype(float)
    frame["step"] = frame["step"].astype(np.int64)
    # step k holds the state at the end of day k, and day k is dated start + k − 1 as in the
    # event log and flows.parquet; step 0, the state before the first day, is dated the day before
    frame["date"] = (start + pd.to_timedelta(frame["step"] - 1, unit="D")).dt.date
    return frame[SERIES_COLUMNS]


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def summarise(model: ConflictModel, seed: Any) -> dict[str, Any]:
    """A flat one-row summary of outcomes; keys are stable so sweeps can tabulate them."""
    prov = model.spec._provenance
    logi = model.logistics
    summary: dict[str, Any] = {
        "scenario": prov.name if prov else model.spec.meta.title,
        "variants": ",".join(prov.variants) if prov else "",
        "seed": seed if isinstance(seed, int | None) else str(seed),
        "start": model.start_date.isoformat(),
        "end": model.date.isoformat(),
        "days": model.steps,
        "shipped_t": float(logi.shipped_t.sum()),
        "delivered_t": float(logi.delivered_t.sum()),
        "in_transit_t": float(logi.in_transit_t.sum()),
        "lost_t": float(logi.lost_t.sum()),
        "conservation_residual_t": float(
            np.abs(logi.balance()["residual_t"].to_numpy()).max(initial=0.0)
        ),
    }
    for state in model.sustained_states:
        key = state.code
        summary[f"{key}.shortage_days"] = state.shortage_days
        summary[f"{key}.first_shortage_date"] = _iso(state.first_shortage_date)
        summary[f"{key}.peak_stress"] = round(state.peak_stress, 6)
        summary[f"{key}.final_stress"] = round(state.stress, 6)
        for good, tonnes in state.stock_t.items():
            summary[f"{key}.{good}_t.final"] = tonnes
    sustained = list(model.sustained_states)
    summary["shortage_days"] = max((s.shortage_days for s in sustained), default=0)
    summary["peak_stress"] = round(max((s.peak_stress for s in sustained), default=0.0), 6)
    summary.update(_war_summary(model))
    n_spec_flows = len(model.spec.flows)
    in_transit = logi.in_transit_t
    for fi, name in enumerate(logi.flow_names[:n_spec_flows]):
        summary[f"flow.{name}.shipped_t"] = float(logi.shipped_t[fi])
        summary[f"flow.{name}.delivered_t"] = float(logi.delivered_t[fi])
        summary[f"flow.{name}.in_transit_t"] = float(in_transit[fi])
        summary[f"flow.{name}.lost_t"] = float(logi.lost_t[fi])
        summary[f"flow.{name}.unmet_t"] = float(logi.unmet_t[fi])
    for link in model.links:
        summary[f"link.{link.name}.carried_t"] = link.carried_total_t
    summary["events_logged"] = len(model.log)
    return summary


def _war_summary(model: ConflictModel) -> dict[str, Any]:
    """Offensive, fighting, flight, arms, energy, tension and credibility outcomes."""
    out: dict[str, Any] = {}
    war = model.combat.wars[0] if model.combat.wars else None
    out["offensive_date"] = _iso(war.start_date) if war else None
    out["capitulation_date"] = _iso(war.end_date) if war and war.outcome == "capitulation" else None
    out["ceasefire_date"] = _iso(war.end_date) if war and war.outcome == "ceasefire" else None
    out["days_of_fighting"] = war.days if war else 0
    out["days_to_capitulation"] = (
        (war.end_date - war.start_date).days
        if war and war.outcome == "capitulation" and war.end_date
        else None
    )
    out["attacker_losses"] = round(war.attacker_losses, 3) if war else 0.0
    out["defender_losses"] = round(war.defender_losses, 3) if war else 0.0
    out["attacker_killed"] = round(war.attacker_killed, 3) if war else 0.0
    out["defender_killed"] = round(war.defender_killed, 3) if war else 0.0
    displaced = model.consequences.displaced()
    out["arrived"] = round(model.consequences.arrived(), 3)
    fallen_population = sum(
        model.state(f.origin).initial_population for f in model.consequences.flights
    )
    out["displaced"] = round(displaced, 3)
    out["displaced_share"] = round(displaced / fallen_population, 6) if fallen_population else 0.0
    by_supplier = model.procurement.delivered_by_supplier()
    out["arms_delivered_t"] = round(sum(by_supplier.values()), 6)
    for supplier, tonnes in sorted(by_supplier.items()):
        out[f"arms_delivered_by_supplier.{supplier}"] = round(tonnes, 6)
    for buyer in sorted({b for _, b in model.procurement.flow_index}):
        received = model.procurement.delivered_to(buyer)
        total = sum(received.values())
        for supplier, tonnes in sorted(received.items()):
            out[f"arms_share.{buyer}.{supplier}"] = round(tonnes / total, 6) if total else 0.0
    for route, tonnes in sorted(model.procurement.delivered_by_route().items()):
        out[f"arms_delivered_by_route.{route}"] = round(tonnes, 6)
    economy = model.economy
    out["energy_delivered"] = round(economy.energy_delivered_total_t, 3)
    for importer, tonnes in sorted(economy.energy_delivered_t.items()):
        out[f"energy_delivered.{importer}"] = round(tonnes, 3)
    for state in economy.states:
        out[f"energy_revenue_usd_m.{state.name}"] = round(state.energy_revenue_usd_m, 6)
        out[f"defence_spending_usd_m.{state.name}"] = round(
            economy.defence_spent_usd_m.get(state.name, 0.0), 6
        )
    for (watcher, toward), peak in sorted(model.diplomacy.peak_tension.items()):
        out[f"peak_tension.{watcher}->{toward}"] = round(peak, 6)
    for g in model.diplomacy.guarantees:
        out[f"guarantor_credibility.{g.key}"] = round(g.credibility, 6)
    return out


def summary_json(summary: Mapping[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=False, default=str)
