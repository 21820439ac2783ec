"""Calibration scorecard: how often the model lands near a scenario's historical targets.

Each target has a *role*: ``fit`` (parameters were tuned to it: a pass shows they can be),
``check`` (nothing was tuned to it: a pass is evidence) or ``construction`` (an input sets it
directly: reported, never counted). The scenario runs on N seeds; per target the scorecard gives
the *coverage* — the share of seeds within tolerance — beside the median and the 90% band
(5th–95th percentile), and the target passes when the coverage reaches its ``coverage``
(default 0.8). A dated event that does not happen in a seed is a miss in that seed.

Metrics (what one run yields):

- a summary key (``days_of_fighting``, ``arms_share.Azerbaijan.Israel``); a key ending in
  ``_date`` is compared in days with the target's ``date``;
- ``series:VARIABLE`` (a model series) or ``series:ENTITY:VARIABLE`` (``+`` adds variables),
  read at the end of ``date``, summed over the days of a ``window`` (start … end, both
  included), or — with ``reaches: X`` — the first day by whose end it reaches X (a date metric);
- ``per: series:…``: the metric divided by another series read the same way (a share over the
  same day or window);
- ``event:KIND`` or ``event:KIND:SUBJECT``: the first day the event log has such an entry;
- ``points:``: a trajectory, the metric read on several dates; each point is scored as its own
  target (``name@date``);
- ``relative_to: {metric: capitulation_date, date: 2023-09-20}`` (series metrics): every date is
  shifted by how far the run's outcome falls from the record's, so a pace after an event the
  model decides is read as days after that event. Such a target asks how things go *given* the
  event, so it is scored over the seeds in which it can be read: a seed without the event, or
  whose shifted date falls after the run's last day, is *not read* (the event's own target
  scores whether and when it happens; counting it again here would score the same miss twice).
  The coverage is the share of the seeds read, and a target read in fewer than half of the
  seeds misses: the event is too rare for the reading to stand for the model.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing as mp
from collections.abc import Callable, Sequence
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

NOT_READ = -math.inf
"""A ``relative_to`` reading this run cannot give: its event did not happen, or the shifted
date falls after the run's last day. Not scored (see the module's docstring)."""

MIN_READ_SHARE = 0.5
"""A ``relative_to`` target read in fewer than this share of the seeds misses."""

ROLES = ("check", "fit", "construction")


@dataclass(frozen=True)
class RunOutputs:
    """What a metric may read from one run."""

    summary: dict[str, Any]
    series: pd.DataFrame
    events: pd.DataFrame


def scored_targets(scenario: Scenario) -> list[Target]:
    """The targets as scored: a trajectory becomes one target per point (``name@date``)."""
    out: list[Target] = []
    for target in scenario.targets:
        if not target.points:
            out.append(target)
            continue
        for point in target.points:
            out.append(
                target.model_copy(
                    update={
                        "name": f"{target.name}@{point.date.isoformat()}",
                        "date": point.date,
                        "value": point.value,
                        "tolerance": target.tolerance
                        if point.tolerance is None
                        else point.tolerance,
                        "source": point.source or target.source,
                        "points": [],
                    }
                )
            )
    return out


def _series_parts(metric: str) -> tuple[str, list[str]] | None:
    parts = metric.split(":")
    if parts[0] != "series" or len(parts) not in (2, 3) or not parts[-1]:
        return None
    return (parts[1] if len(parts) == 3 else "model"), parts[-1].split("+")


def check_targets(scenario: Scenario) -> None:
    """Refuse targets the scorecard cannot evaluate, before running anything."""
    problems = []
    names = [t.name for t in scenario.targets]
    for i, target in enumerate(scenario.targets):
        where = f"targets[{i}] ({target.name})"

        def bad(message: str, where: str = where) -> None:
            problems.append(Problem(None, where, message))

        if names.count(target.name) > 1:
            bad("two targets share this name: rename one")
        series = target.metric.startswith("series:")
        if series and _series_parts(target.metric) is None:
            bad("write series:VARIABLE or series:ENTITY:VARIABLE (add variables with +)")
        if target.metric.startswith("event:") and len(target.metric.split(":")) not in (2, 3):
            bad("write event:KIND or event:KIND:SUBJECT")
        if target.per is not None and (not series or _series_parts(target.per) is None):
            bad("'per' divides one series by another: write per: series:[ENTITY:]VARIABLE")
        if target.reaches is not None and not series:
            bad("'reaches' finds the first day a series reaches a value: use a series metric")
        if target.window is not None and not series:
            bad("a 'window' sums a series over days: use a series metric")
        if target.relative_to is not None and (not series or target.reaches is not None):
            bad(
                "'relative_to' shifts the days a series is read on: use a series metric "
                "without 'reaches'"
            )
        dated = target.points or target.date is not None
        if target.is_date_metric() and not dated:
            bad(f"'{target.metric}' is a date: give the record's 'date'")
        if series and not (dated or target.window is not None):
            bad("a series metric needs a 'date' to read, a 'window' to sum or 'points'")
        if not target.points and not target.is_date_metric() and target.value is None:
            bad("give the record's 'value'")
        for p in target.points:
            if target.window is not None or target.reaches is not None:
                bad("a trajectory reads a series on its points' dates: drop window/reaches")
                break
            if not series:
                bad("a trajectory ('points') reads a series: use a series metric")
                break
            del p
    if problems:
        raise ScenarioError(problems)


def _shift(target: Target, summary: dict[str, Any]) -> dt.timedelta | None:
    """How far the run's ``relative_to`` outcome falls from the record's (None: it did not
    happen); zero without ``relative_to``."""
    if target.relative_to is None:
        return dt.timedelta(0)
    value = summary.get(target.relative_to.metric)
    if value is None:
        return None
    return dt.date.fromisoformat(str(value)) - target.relative_to.date


def _read_series(
    spec: str, target: Target, series: pd.DataFrame, shift: dt.timedelta = dt.timedelta(0)
) -> float | tuple[Any, ...]:
    parsed = _series_parts(spec)
    assert parsed is not None
    entity, variables = parsed
    rows = series[(series.entity == entity) & series.variable.isin(variables)]
    if rows.empty:
        return math.nan
    # a series row holds the state at the end of its date (as the event log dates what a day
    # did); step 0, the state before the first day, is not a day the model simulated
    by_day = rows[rows.step > 0].groupby("date", sort=True).value.sum()
    if by_day.empty:
        return math.nan
    if target.window is not None:
        start, end = target.window.start + shift, target.window.end + shift
        if target.relative_to is not None and end > by_day.index[-1]:
            return NOT_READ  # the shifted window runs past the run's end: not a whole reading
        days = by_day[(by_day.index >= start) & (by_day.index <= end)]
        return float(days.sum()) if not days.empty else math.nan
    if target.reaches is not None:
        return ("reaches", by_day)
    assert target.date is not None
    day = target.date + shift
    if day > by_day.index[-1]:
        # the run ended before the date: for a reading relative to an event the model dates,
        # not read; for a date from the record, a miss
        return NOT_READ if target.relative_to is not None else math.nan
    before = by_day[by_day.index <= day]
    return float(before.iloc[-1]) if not before.empty else math.nan


def measure(target: Target, run: RunOutputs) -> float:
    """This run's value of the target's metric (days from ``date`` for a date metric; NEVER
    when the dated thing did not happen; NaN when the run does not have the metric)."""
    metric = target.metric
    if metric.startswith("series:"):
        shift = _shift(target, run.summary)
        if shift is None:
            return NOT_READ  # the outcome the reading is relative to did not happen
        value = _read_series(metric, target, run.series, shift)
        if isinstance(value, tuple):  # first day the series reaches target.reaches
            by_day = value[1]
            assert target.date is not None and target.reaches is not None
            hit = by_day[by_day >= target.reaches - 1e-9]
            if hit.empty:
                return NEVER
            return float((hit.index[0] - target.date).days)
        if target.per is not None and not math.isnan(value):
            denominator = _read_series(target.per, target, run.series, shift)
            assert not isinstance(denominator, tuple)
            return value / denominator if denominator else math.nan
        return value
    if metric.startswith("event:"):
        assert target.date is not None
        parts = metric.split(":")
        events = run.events
        if events.empty:
            return NEVER
        hit = events[events.kind == parts[1]]
        if len(parts) == 3:
            hit = hit[hit.subject == parts[2]]
        if hit.empty:
            return NEVER
        return float((min(hit.date) - target.date).days)
    value = run.summary.get(metric)
    if metric.endswith("_date"):
        assert target.date is not None
        if value is None:
            return NEVER if metric in run.summary else math.nan
        return float((dt.date.fromisoformat(str(value)) - target.date).days)
    if value is None:
        return math.nan
    return float(value)


def measure_all(scenario: Scenario, run: RunOutputs) -> dict[str, float]:
    return {t.name: measure(t, run) for t in scored_targets(scenario)}


def _run_one(args: tuple[Scenario, int]) -> tuple[int, dict[str, float]]:
    from corridors.analysis.run import run_scenario

    scenario, seed = args
    result = run_scenario(scenario, seed=seed, record_flows=False)
    return seed, measure_all(scenario, RunOutputs(result.summary, result.series, result.events))


def run_seeds(
    scenario: Scenario,
    seeds: Sequence[int],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Each scored target's metric on each seed: one row per seed, one column per target."""
    jobs = [(scenario, seed) for seed in seeds]
    workers = workers if workers is not None else min(len(jobs), 2)
    rows: list[tuple[int, dict[str, float]]] = []
    if workers <= 1:
        for job in jobs:
            rows.append(_run_one(job))
            if progress:
                progress(len(rows), len(jobs))
    else:
        # fork is unsafe once native or Python threads run (Arrow, BLAS, an app): forkserver,
        # which loads the model once, where the platform has it
        methods = mp.get_all_start_methods()
        context = mp.get_context("forkserver" if "forkserver" in methods else None)
        if "forkserver" in methods:
            context.set_forkserver_preload(["corridors.analysis.run"])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            chunk = max(1, len(jobs) // (4 * workers))
            for row in pool.map(_run_one, jobs, chunksize=chunk):
                rows.append(row)
                if progress:
                    progress(len(rows), len(jobs))
    columns = [t.name for t in scored_targets(scenario)]
    frame = pd.DataFrame([values for _, values in rows], index=[s for s, _ in rows])
    frame = frame.reindex(columns=columns)
    frame.index.name = "seed"
    return frame.sort_index()


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"


def _fmt(target: Target, value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if target.is_date_metric():
        if value == NEVER:
            return "never"
        assert target.date is not None
        return (target.date + dt.timedelta(days=round(value))).isoformat()
    return _num(value)


def within(target: Target, values: np.ndarray) -> np.ndarray:
    """Which seeds fall within the target's tolerance (a missing, never-dated or unread value:
    no)."""
    expected = target.expected()
    slack = 1e-9 * max(1.0, abs(expected))  # 1.0 − 0.94 is 0.0600000001
    with np.errstate(invalid="ignore"):
        ok = np.abs(values - expected) <= target.tolerance + slack
    return ok & np.isfinite(values)


def scorecard(scenario: Scenario, values: pd.DataFrame) -> pd.DataFrame:
    """Per scored target: role, coverage (share of the seeds read that fall within tolerance),
    median, 90% band, misses (seeds read outside tolerance, of which ``never`` did not happen),
    seeds read (all but ``relative_to`` readings a run cannot give) and pass/miss."""
    rows = []
    for target in scored_targets(scenario):
        data = (
            values[target.name].to_numpy(dtype=float)
            if target.name in values
            else np.full(len(values), math.nan)
        )
        seeds = int(data.size)
        read = data != NOT_READ
        data = data[read]
        hits = within(target, data)
        n_read = int(data.size)
        coverage = float(hits.mean()) if n_read else 0.0
        never = int(np.sum(data == NEVER))
        present = data[~np.isnan(data)]
        if present.size:
            median, low, high = (
                float(np.quantile(present, q, method="inverted_cdf")) for q in (0.5, 0.05, 0.95)
            )
        else:
            median = low = high = math.nan
        if target.is_date_metric():
            assert target.date is not None
            expected = target.date + dt.timedelta(days=round(target.expected()))
            record = expected.isoformat()
            tolerance = f"± {target.tolerance:g} days"
        else:
            record = _num(target.expected())
            tolerance = f"± {_num(target.tolerance)}"
        ok = n_read > 0 and n_read >= MIN_READ_SHARE * seeds and coverage >= target.coverage - 1e-12
        if target.window is not None:
            when = f"{target.window.start} … {target.window.end}"
        else:
            when = target.date.isoformat() if target.date else ""
        if target.relative_to is not None:
            anchor = target.relative_to
            offset = ((target.window.start if target.window else target.date) - anchor.date).days
            when += f" ({anchor.metric.removesuffix('_date')} {offset:+d} d)"
        rows.append(
            {
                "target": target.name,
                "role": target.role,
                "metric": target.metric + (f" / {target.per}" if target.per else ""),
                "date": when,
                "record": record,
                "tolerance": tolerance,
                "coverage": round(coverage, 4),
                "needed": target.coverage,
                "model_median": _fmt(target, median),
                "model_5%": _fmt(target, low),
                "model_95%": _fmt(target, high),
                "runs": seeds,
                "read": n_read,
                "misses": int(n_read - hits.sum()),
                "never": never,
                "result": "pass" if ok else "miss",
                "fitted": ", ".join(target.fitted),
                "set_by": ", ".join(target.set_by),
                "source": target.source,
                "note": target.note,
            }
        )
    return pd.DataFrame(rows)


def checks_pass(card: pd.DataFrame) -> bool:
    """True when every ``check`` target passes (fit and construction targets do not count)."""
    checks = card[card.role == "check"]
    return bool((checks.result == "pass").all())


def calibrate(
    scenario: str | Path | Scenario,
    seeds: int = 50,
    variants: Sequence[str] = (),
    workers: int | None = None,
    overrides: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Scenario, pd.DataFrame, pd.DataFrame]:
    """Run ``seeds`` seeds (0 … seeds−1) and score the scenario's targets.

    Returns the scenario, the per-seed values and the scorecard.
    """
    sc = load_scenario(scenario, variants=variants, overrides=overrides)
    if not sc.targets:
        raise ScenarioError([Problem(None, "targets", "the scenario has no targets to score")])
    check_targets(sc)
    values = run_seeds(sc, range(seeds), workers=workers, progress=progress)
    return sc, values, scorecard(sc, values)


_ROLE_HEADINGS = {
    "check": (
        "Checks (nothing was fitted to these)",
        "These are the evidence: no parameter was tuned to them.",
    ),
    "fit": (
        "Fitted targets (in sample)",
        "Parameters were tuned to these; a pass shows only that the tuned values can reproduce "
        "them, not that the model explains them.",
    ),
    "construction": (
        "By construction (not counted)",
        "An input sets these directly; they test the bookkeeping, not the model.",
    ),
}


def scorecard_markdown(scenario: Scenario, card: pd.DataFrame, command: str, seeds: int) -> str:
    checks = card[card.role == "check"]
    passed = int((checks.result == "pass").sum())
    lines = [
        f"# Calibration: {scenario.meta.title}",
        "",
        f"Made with `{command}` ({seeds} seeds). A target passes when at least its *needed* "
        "share of seeds falls within its tolerance (*coverage*); a dated event that does not "
        "happen in a seed is a miss there. A reading relative to an event the model dates "
        "(days after the fall, say) is scored over the seeds *read*: those in which the event "
        "happened early enough for the reading to fall within the run; it misses if fewer than "
        "half the seeds are read. The median and the 5–95% band describe the seeds read.",
        "",
        f"**Checks: {passed} of {len(checks)} pass.** "
        + (
            "Every check passes."
            if len(checks) and passed == len(checks)
            else "No check target: nothing here is evidence."
            if not len(checks)
            else "Some checks miss."
        ),
        "",
    ]
    fitted = _fitted_provenance(scenario)
    if fitted:
        lines += [fitted, ""]
    for role in ROLES:
        part = card[card.role == role]
        if part.empty:
            continue
        heading, text = _ROLE_HEADINGS[role]
        extra = {"fit": " fitted |", "construction": " set by |"}.get(role, "")
        lines += [
            f"## {heading}",
            "",
            text,
            "",
            "| target | metric | date | record | tolerance | coverage (needed) | seeds read "
            f"| misses (never) | model median | 90% band | result |{extra} source |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
            + (" --- |" if extra else "")
            + " --- |",
        ]
        for row in part.to_dict("records"):
            cells = [
                row["target"],
                f"`{row['metric']}`",
                row["date"],
                row["record"],
                row["tolerance"],
                f"{row['coverage']:.0%} ({row['needed']:.0%})",
                f"{row['read']} of {row['runs']}",
                f"{row['misses']} ({row['never']})",
                row["model_median"],
                f"{row['model_5%']} – {row['model_95%']}",
                f"**{row['result']}**",
            ]
            if role == "fit":
                cells.append(f"`{row['fitted']}`")
            if role == "construction":
                cells.append(f"`{row['set_by']}`")
            cells.append(row["source"])
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
        lines.append("")
        notes = {r["target"].split("@")[0]: r["note"] for r in part.to_dict("records")}
        notes = {name: note for name, note in notes.items() if isinstance(note, str) and note}
        if notes:
            lines += [f"- *{name}*: {note}" for name, note in notes.items()]
            lines.append("")
    return "\n".join(lines)


def _fitted_provenance(scenario: Scenario) -> str:
    prov = getattr(scenario, "_provenance", None)
    overlay = getattr(prov, "fitted", None) if prov else None
    if not overlay:
        return ""
    from corridors.analysis.fit import describe_overlay

    return describe_overlay(Path(overlay))


def write_scorecard(
    scenario: Scenario, card: pd.DataFrame, out: Path, command: str, seeds: int, name: str
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / f"{name}.md", "csv": out / f"{name}.csv"}
    paths["markdown"].write_text(scorecard_markdown(scenario, card, command, seeds), "utf-8")
    card.to_csv(paths["csv"], index=False)
    return paths
