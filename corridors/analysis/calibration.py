"""Calibration scorecard: how close the model comes to a scenario's historical targets.

Each target names a metric, the value from the record (or, for a ``*_date`` metric, the date) and
a tolerance. The scenario is run on N seeds; the scorecard gives the model's median and 90% band
(5th–95th percentile) per target, and *pass* when the median is within the tolerance.

Metrics:

- a summary key (``days_of_fighting``, ``arms_share.Azerbaijan.Israel``);
- a summary key ending in ``_date``: compared with the target's ``date``, in days; a run in
  which the date never comes counts as later than any date;
- ``series:VARIABLE`` (a model series) or ``series:ENTITY:VARIABLE``, read on the target's date
  (several variables may be added with ``+``: ``series:Nagorno-Karabakh:received_food_t+
  received_medicine_t``).
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing as mp
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.scenarios import Problem, Scenario, ScenarioError, load_scenario
from corridors.scenarios.schema import Target

NEVER = math.inf
"""Days late of an event that did not happen within the run."""


@dataclass(frozen=True)
class MetricValue:
    """One run's value of one target's metric (days from the target date for date metrics)."""

    target: str
    value: float


def _is_date_metric(target: Target) -> bool:
    return target.metric.endswith("_date")


def check_targets(scenario: Scenario) -> None:
    """Refuse targets the scorecard cannot evaluate, before running anything."""
    problems = []
    for i, target in enumerate(scenario.targets):
        where = f"targets[{i}] ({target.name})"
        if _is_date_metric(target) and target.date is None:
            problems.append(Problem(None, where, f"'{target.metric}' is a date: give 'date'"))
        if target.metric.startswith("series:"):
            parts = target.metric.split(":")
            if len(parts) not in (2, 3) or not parts[-1]:
                problems.append(
                    Problem(None, where, "write series:VARIABLE or series:ENTITY:VARIABLE")
                )
            if target.date is None:
                problems.append(Problem(None, where, "a series metric needs a 'date' to read"))
    if problems:
        raise ScenarioError(problems)


def measure(target: Target, summary: dict[str, Any], series: pd.DataFrame) -> float:
    """This run's value of the target's metric (NaN when the run does not have it)."""
    metric = target.metric
    if metric.startswith("series:"):
        parts = metric.split(":")
        entity = parts[1] if len(parts) == 3 else "model"
        variables = parts[-1].split("+")
        rows = series[(series.entity == entity) & series.variable.isin(variables)]
        if rows.empty:
            return math.nan
        assert target.date is not None
        day = rows[rows.date <= target.date]
        if day.empty:
            return math.nan
        last = day[day.date == day.date.max()]
        return float(last.value.sum())
    value = summary.get(metric)
    if _is_date_metric(target):
        assert target.date is not None
        if value is None:
            return NEVER if metric in summary else math.nan
        return float((dt.date.fromisoformat(str(value)) - target.date).days)
    if value is None:
        return math.nan
    return float(value)


def _run_one(args: tuple[Scenario, int]) -> tuple[int, dict[str, float]]:
    from corridors.analysis.run import run_scenario

    scenario, seed = args
    result = run_scenario(scenario, seed=seed, record_flows=False)
    return seed, {t.name: measure(t, result.summary, result.series) for t in scenario.targets}


def run_seeds(scenario: Scenario, seeds: Sequence[int], workers: int | None = None) -> pd.DataFrame:
    """Each target's metric on each seed: one row per seed, one column per target."""
    jobs = [(scenario, seed) for seed in seeds]
    workers = workers if workers is not None else min(len(jobs), 2)
    if workers <= 1:
        rows = [_run_one(job) for job in jobs]
    else:
        # fork is unsafe once native or Python threads run (Arrow, BLAS, an app): forkserver,
        # which loads the model once, where the platform has it
        methods = mp.get_all_start_methods()
        context = mp.get_context("forkserver" if "forkserver" in methods else None)
        if "forkserver" in methods:
            context.set_forkserver_preload(["corridors.analysis.run"])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            rows = list(pool.map(_run_one, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    frame = pd.DataFrame([values for _, values in rows], index=[s for s, _ in rows])
    frame.index.name = "seed"
    return frame.sort_index()


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"


def _fmt(target: Target, value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if _is_date_metric(target):
        if value == NEVER:
            return "never"
        assert target.date is not None
        return (target.date + dt.timedelta(days=round(value))).isoformat()
    return _num(value)


def scorecard(scenario: Scenario, values: pd.DataFrame) -> pd.DataFrame:
    """Median, 90% band and pass/miss per target."""
    rows = []
    for target in scenario.targets:
        data = values[target.name].to_numpy(dtype=float) if target.name in values else np.array([])
        data = data[~np.isnan(data)]
        if data.size:
            median = float(np.quantile(data, 0.5, method="inverted_cdf"))
            low = float(np.quantile(data, 0.05, method="inverted_cdf"))
            high = float(np.quantile(data, 0.95, method="inverted_cdf"))
        else:
            median = low = high = math.nan
        if _is_date_metric(target):
            expected = target.date.isoformat() if target.date else ""
            ok = not math.isnan(median) and abs(median) <= target.tolerance
            tolerance = f"± {target.tolerance:g} days"
        else:
            expected = _num(target.value)
            slack = 1e-9 * max(1.0, abs(target.value))  # 1.0 − 0.94 is 0.0600000001
            ok = not math.isnan(median) and abs(median - target.value) <= target.tolerance + slack
            tolerance = f"± {_num(target.tolerance)}"
        rows.append(
            {
                "target": target.name,
                "metric": target.metric,
                "date": target.date.isoformat() if target.date else "",
                "record": expected,
                "tolerance": tolerance,
                "model_median": _fmt(target, median),
                "model_5%": _fmt(target, low),
                "model_95%": _fmt(target, high),
                "runs": int(data.size),
                "result": "pass" if ok else "miss",
                "source": target.source,
            }
        )
    return pd.DataFrame(rows)


def calibrate(
    scenario: str | Path | Scenario,
    seeds: int = 50,
    variants: Sequence[str] = (),
    workers: int | None = None,
) -> tuple[Scenario, pd.DataFrame, pd.DataFrame]:
    """Run ``seeds`` seeds (0 … seeds−1) and score the scenario's targets.

    Returns the scenario, the per-seed values and the scorecard.
    """
    sc = load_scenario(scenario, variants=variants)
    if not sc.targets:
        raise ScenarioError([Problem(None, "targets", "the scenario has no targets to score")])
    check_targets(sc)
    values = run_seeds(sc, range(seeds), workers=workers)
    return sc, values, scorecard(sc, values)


def scorecard_markdown(scenario: Scenario, card: pd.DataFrame, command: str, seeds: int) -> str:
    passed = int((card.result == "pass").sum())
    lines = [
        f"# Calibration: {scenario.meta.title}",
        "",
        f"Made with `{command}` ({seeds} seeds; median and 5–95% band of the runs; a target "
        "passes when the median is within its tolerance).",
        "",
        f"**{passed} of {len(card)} targets pass.**",
        "",
        "| target | metric | date | record | tolerance | model median | 90% band | result "
        "| source |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in card.itertuples(index=False):
        band = f"{row[6]} – {row[7]}"
        lines.append(
            f"| {row.target} | `{row.metric}` | {row.date} | {row.record} | {row.tolerance} "
            f"| {row.model_median} | {band} | **{row.result}** | {row.source} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_scorecard(
    scenario: Scenario, card: pd.DataFrame, out: Path, command: str, seeds: int, name: str
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / f"{name}.md", "csv": out / f"{name}.csv"}
    paths["markdown"].write_text(scorecard_markdown(scenario, card, command, seeds), "utf-8")
    card.to_csv(paths["csv"], index=False)
    return paths
