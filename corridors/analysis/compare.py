"""Paired counterfactuals: a scenario and its variant run on the same seeds (common random
numbers), and the difference in each outcome with a bootstrap confidence interval.

Pairing removes the noise the two arms share (daily capacity draws, decisions), so a difference
shows with far fewer seeds than two independent samples would need. The interval resamples the
seeds (percentile bootstrap, seeded, so it is reproducible).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridors.analysis.executors import ExecutorInfo, open_executor
from corridors.analysis.sweep import RunContext, derive_seed, run_chunk
from corridors.analysis.sweepstats import fail, safe_name
from corridors.scenarios import Scenario, load_scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ARMS = ("base", "variant")


@dataclass
class Comparison:
    """Paired runs of a base scenario and a variant, and the differences (variant − base)."""

    scenario: str
    variants: list[str]
    seeds: list[int]
    runs: pd.DataFrame
    """One row per (arm, seed): ``arm``, ``pair``, ``seed`` and the outcomes."""
    table: pd.DataFrame
    """One row per outcome: base and variant means, mean difference and its interval."""
    conf: float
    errors: list[str] = field(default_factory=list)
    """Pairs dropped because a run raised (seed and error)."""

    @property
    def label(self) -> str:
        return f"{self.scenario}+{'+'.join(self.variants)}"

    def changed(self) -> pd.DataFrame:
        """Outcomes whose paired difference is not zero for every seed, largest relative
        change first."""
        changed = self.table[~self.table["all_zero"]]
        scale = np.fmax(changed["base_mean"].abs(), changed["variant_mean"].abs())
        relative = (changed["mean_diff"].abs() / scale.where(scale > 0)).fillna(0.0)
        order = relative.sort_values(ascending=False, kind="stable").index
        return changed.loc[order]

    def figure(self, outcomes: Sequence[str] | None = None, limit: int = 12) -> Figure:
        """Mean difference with its interval, one panel per outcome (each on its own scale)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = self.table.set_index("outcome")
        if outcomes:
            names = list(outcomes)
        else:
            war = [w for w in WAR_ROWS if w in rows.index and np.isfinite(rows.loc[w, "mean_diff"])]
            rest = [n for n in self.changed()["outcome"] if n not in WAR_ROWS]
            names = (war + rest)[:limit]
        names = [n for n in names if np.isfinite(rows.loc[n, "mean_diff"])] or list(rows.index[:1])
        fig, axes = plt.subplots(
            len(names), 1, figsize=(7.5, 1.2 + 0.95 * len(names)), squeeze=False
        )
        for ax, name in zip(axes[:, 0], names, strict=True):
            row = rows.loc[name]
            colour = "#c44e52" if row["excludes_zero"] else "#4c72b0"
            mean = float(row["mean_diff"])
            low = float(row["ci_low"]) if np.isfinite(row["ci_low"]) else mean
            high = float(row["ci_high"]) if np.isfinite(row["ci_high"]) else mean
            # a percentile interval need not contain the sample mean (skewed, few seeds):
            # matplotlib refuses negative error lengths, so clip them and show the interval
            ax.errorbar(
                [mean],
                [0],
                xerr=[[max(0.0, mean - low)], [max(0.0, high - mean)]],
                fmt="o",
                color=colour,
                capsize=4,
            )
            ax.hlines(0, min(low, mean), max(high, mean), color=colour, lw=1)
            if name in ("median offensive day", "median delay (days)") and row.get("note"):
                ax.set_title(str(row["note"]), fontsize=7, loc="right")
            ax.set_title(name, fontsize=8, loc="left")
            ax.axvline(0, color="grey", lw=0.8, ls="--")
            ax.set_yticks([])
            ax.tick_params(axis="x", labelsize=8)
            span = max(abs(low), abs(high), abs(mean)) or 1.0
            ax.set_xlim(-1.15 * span, 1.15 * span)
        fig.suptitle(
            f"{self.label} − {self.scenario}\nmean paired difference (variant − base), "
            f"{self.conf:.0%} bootstrap interval, {len(self.seeds)} seeds",
            fontsize=9,
        )
        fig.tight_layout()
        return fig

    def write(self, out: str | Path, plots: bool = True) -> dict[str, Path]:
        """``compare.csv`` (the table), ``pairs.csv`` (every run) and ``compare.png``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"table": out / "compare.csv", "pairs": out / "pairs.csv"}
        self.table.to_csv(paths["table"], index=False)
        self.runs.to_csv(paths["pairs"], index=False)
        if plots:
            import matplotlib.pyplot as plt

            fig = self.figure()
            paths["plot"] = out / "compare.png"
            fig.savefig(paths["plot"], dpi=110)
            plt.close(fig)
        return paths


def bootstrap_ci(
    diffs: np.ndarray, conf: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences (columns resampled
    together when ``diffs`` is 2-D: pairs × outcomes)."""
    rng = np.random.default_rng(seed)
    n = diffs.shape[0]
    idx = rng.integers(0, n, size=(resamples, n))
    means = diffs[idx].mean(axis=1)
    alpha = (1 - conf) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha], axis=0)
    return low, high


def _numeric_outcomes(frame: pd.DataFrame, wanted: Sequence[str] | None) -> list[str]:
    skip = {
        "arm",
        "pair",
        "seed",
        "days",
        "offensive_day",
        "capitulation_day",
        "offensive",
        "capitulation",
    }
    if wanted:
        missing = [w for w in wanted if w not in frame.columns]
        if missing:
            from corridors.analysis.sweepstats import check_column

            check_column(frame, missing[0], "--outcome", "outcome")
        bad = [w for w in wanted if not pd.api.types.is_numeric_dtype(frame[w])]
        if bad:
            raise fail("--outcome", f"outcome '{bad[0]}' is not numeric")
        return list(wanted)
    return [
        c
        for c in frame.columns
        if c not in skip
        and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]


def compare_variant(
    scenario: str | Path | Scenario,
    variants: Sequence[str],
    seeds: int = 20,
    seed: int = 0,
    days: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    outcomes: Sequence[str] | None = None,
    workers: int | None = 1,
    executor: Executor | None = None,
    conf: float = 0.95,
    resamples: int = 2000,
) -> Comparison:
    """Run ``scenario`` and ``scenario + variants`` on ``seeds`` common seeds (derived from
    ``seed``) and compare every numeric outcome (or ``outcomes``)."""
    if not variants:
        raise fail("--variant", "name the variant to compare with the base (--variant NAME)")
    if seeds < 2:
        raise fail("--seeds", f"must be at least 2 for an interval, got {seeds}")
    if not 0 < conf < 1:
        raise fail("--conf", f"must be between 0 and 1, got {conf}")
    base = load_scenario(scenario, overrides=overrides or {})
    variant = load_scenario(scenario, variants=list(variants), overrides=overrides or {})
    name = base._provenance.name if base._provenance else str(scenario)
    seed_list = [derive_seed(seed, i) for i in range(seeds)]
    contexts = {
        "base": RunContext(scenario=base, days=days),
        "variant": RunContext(scenario=variant, days=days),
    }
    frame, errors = _paired_runs(contexts, seed_list, workers, executor)
    return _compare_frame(
        frame,
        errors,
        name,
        list(variants),
        seed_list,
        seed,
        outcomes,
        conf,
        resamples,
        start=base.calendar.start,
    )


def _paired_runs(
    contexts: Mapping[str, RunContext],
    seed_list: list[int],
    workers: int | None,
    executor: Executor | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Every arm on every seed; the rows of pairs that ran in every arm, and the errors."""
    tasks = [(i, s, {}) for i, s in enumerate(seed_list)]

    def run(pool: Executor, info: ExecutorInfo) -> dict[str, Any]:
        size = max(1, -(-len(tasks) // max(info.workers, 1)))
        futures = {
            (arm, start): pool.submit(run_chunk, ctx, tasks[start : start + size])
            for arm, ctx in contexts.items()
            for start in range(0, len(tasks), size)
        }
        return {key: f.result() for key, f in futures.items()}

    if executor is not None:
        results = run(executor, ExecutorInfo("executor", workers or 1))
    else:
        with open_executor(workers) as (pool, info):
            results = run(pool, info)

    rows, errors = [], []
    for (arm, _), result in sorted(results.items()):
        for outcome in result.outcomes:
            pair = int(outcome.pop("run_id"))
            rows.append({"arm": arm, "pair": pair, "seed": seed_list[pair], **outcome})
        for err in result.errors:
            errors.append(f"{arm} seed {err['seed']}: {err['error']}: {err['message']}")
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise fail("compare", "every run failed: " + (errors[0] if errors else "no runs"))
    complete = frame.groupby("pair")["arm"].nunique()
    keep = complete[complete == len(contexts)].index
    frame = frame[frame["pair"].isin(keep)].sort_values(["arm", "pair"]).reset_index(drop=True)
    if len(keep) < 2:
        raise fail("compare", f"fewer than 2 seeds ran in every arm: {'; '.join(errors[:3])}")
    return frame, errors


def _compare_frame(
    frame: pd.DataFrame,
    errors: list[str],
    name: str,
    variants: list[str],
    seed_list: list[int],
    seed: int,
    outcomes: Sequence[str] | None,
    conf: float,
    resamples: int,
    start: dt.date,
) -> Comparison:
    """The comparison of the ``base`` and ``variant`` arms of ``frame``."""
    frame = _with_war_columns(frame, start)
    keep = sorted(frame["pair"].unique())
    names = _dedupe(frame, _numeric_outcomes(frame, outcomes))
    wide = {arm: frame[frame["arm"] == arm].set_index("pair")[names].astype(float) for arm in ARMS}
    diffs = (wide["variant"] - wide["base"]).to_numpy()
    scale = np.fmax(np.abs(wide["variant"].to_numpy()), np.abs(wide["base"].to_numpy()))
    diffs[np.abs(diffs) <= 1e-9 * np.fmax(scale, 1.0)] = 0.0  # rounding, not an effect
    # Outcomes missing in some pairs (a date that did not happen) are compared on the pairs
    # that have them in both arms; a column that is all NaN gives NaN, never a crash.
    low, high = _nan_bootstrap(diffs, conf, resamples, seed)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_diff = np.nanmean(diffs, axis=0)
    table = pd.DataFrame(
        {
            "outcome": names,
            "base_mean": wide["base"].mean().to_numpy(),
            "variant_mean": wide["variant"].mean().to_numpy(),
            "mean_diff": mean_diff,
            "ci_low": low,
            "ci_high": high,
            "pairs": np.sum(~np.isnan(diffs), axis=0),
        }
    )
    table["excludes_zero"] = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    present = ~np.isnan(diffs)
    table["all_zero"] = present.any(axis=0) & np.all((diffs == 0) | ~present, axis=0)
    only = {arm: wide[arm].isna().all().to_numpy() for arm in ARMS}
    table["note"] = np.where(
        only["variant"], "not in the variant", np.where(only["base"], "not in the base", "")
    )
    war = war_distributions(frame, conf=conf, resamples=resamples, seed=seed)
    if len(war):
        table = pd.concat([war, table], ignore_index=True)
    table["all_zero"] = table["all_zero"].astype(bool)
    table["excludes_zero"] = table["excludes_zero"].astype(bool)
    return Comparison(
        scenario=name,
        variants=list(variants),
        seeds=[seed_list[p] for p in keep],
        runs=frame,
        table=table,
        conf=conf,
        errors=errors,
    )


# --------------------------------------------------------------------------- war as distributions

WAR_ROWS = ("P(offensive)", "P(capitulation)", "median offensive day", "median delay (days)")
"""Rows at the top of the table: the war's outcomes as distributions over seeds."""
BALANCED = (0.25, 0.75)
"""A probability in this range is finely balanced: single runs disagree; read distributions."""


def _dedupe(frame: pd.DataFrame, names: list[str]) -> list[str]:
    """Drop an outcome identical in every run to one listed before it (e.g. ``shortage_days``,
    the largest of the states', and ``NKR.shortage_days`` when only one state is besieged)."""
    kept: list[str] = []
    for name in names:
        column = frame[name]
        if any(frame[k].equals(column) for k in kept):
            continue
        kept.append(name)
    return kept


def _day(dates: pd.Series, start: dt.date) -> pd.Series:
    """Days from the scenario's start to an ISO date (NaN when it did not happen)."""
    parsed = pd.to_datetime(dates, errors="coerce")
    return (parsed - pd.Timestamp(start)).dt.days.astype(float)


def _with_war_columns(frame: pd.DataFrame, start: dt.date) -> pd.DataFrame:
    """Numeric war outcomes: happened (0/1) and day index of the offensive and capitulation."""
    frame = frame.copy()
    for event in ("offensive", "capitulation"):
        column = f"{event}_date"
        if column in frame:
            frame[f"{event}_day"] = _day(frame[column], start)
            frame[event] = frame[column].notna().astype(float)
    frame.attrs["start"] = start
    return frame


def _censored_median(days: np.ndarray, horizon: float) -> float:
    """Median day with runs where it did not happen counted as after the horizon; NaN when
    the median itself is after the horizon (it happened in fewer than half the runs)."""
    filled = np.where(np.isnan(days), np.inf, days)
    value = float(np.median(filled)) if len(filled) else np.nan
    return value if value <= horizon else np.nan


def war_distributions(
    frame: pd.DataFrame, conf: float = 0.95, resamples: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """P(offensive), P(capitulation) within the calendar, the median offensive day (runs
    without one censored at the end of the calendar) and the median paired delay, for the
    ``base`` and ``variant`` arms, with percentile bootstrap intervals (pairs resampled)."""
    if "offensive_day" not in frame:
        return pd.DataFrame(columns=["outcome"])
    wide = {arm: frame[frame["arm"] == arm].set_index("pair").sort_index() for arm in ARMS}
    horizon = float(wide["base"]["days"].max())
    start = pd.Timestamp(frame.attrs.get("start", "1970-01-01"))
    n = len(wide["base"])
    rng = np.random.default_rng(seed)
    idx = np.vstack([np.arange(n), rng.integers(0, n, size=(resamples, n))])

    def delay(b: np.ndarray, v: np.ndarray) -> float:
        b = np.where(np.isnan(b), horizon, b)
        v = np.where(np.isnan(v), horizon, v)
        return float(np.median(v - b))

    stats: dict[str, Any] = {
        "P(offensive)": lambda d, i: float(np.mean(d["offensive"][i])),
        "P(capitulation)": lambda d, i: float(np.mean(d["capitulation"][i])),
        "median offensive day": lambda d, i: _censored_median(d["offensive_day"][i], horizon),
    }
    arrays = {
        arm: {
            c: wide[arm][c].to_numpy(dtype=float)
            for c in ("offensive", "capitulation", "offensive_day")
        }
        for arm in ARMS
    }
    alpha = (1 - conf) / 2
    rows = []
    for label, stat in stats.items():
        values = {
            arm: np.array([stat(arrays[arm], i) for i in idx]) for arm in ARMS
        }  # first entry: the sample itself
        diff = values["variant"] - values["base"]
        row: dict[str, Any] = {"outcome": label}
        for arm in ARMS:
            row[f"{arm}_mean"] = values[arm][0]
            row[f"{arm}_ci_low"], row[f"{arm}_ci_high"] = _quantiles(values[arm][1:], alpha)
        row["mean_diff"] = diff[0]
        row["ci_low"], row["ci_high"] = _quantiles(diff[1:], alpha)
        rows.append(row)
    delays = np.array(
        [
            delay(arrays["base"]["offensive_day"][i], arrays["variant"]["offensive_day"][i])
            for i in idx
        ]
    )
    rows.append(
        {
            "outcome": "median delay (days)",
            "base_mean": 0.0,
            "variant_mean": delays[0],
            "mean_diff": delays[0],
            "ci_low": _quantiles(delays[1:], alpha)[0],
            "ci_high": _quantiles(delays[1:], alpha)[1],
        }
    )
    table = pd.DataFrame(rows)
    table["pairs"] = n
    table["excludes_zero"] = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    table["all_zero"] = (
        table["mean_diff"].eq(0)
        & table["ci_low"].fillna(0).eq(0)
        & (table["ci_high"].fillna(0).eq(0))
    )
    notes = []
    for row in rows:
        label = row["outcome"]
        note = ""
        if label == "median offensive day":
            b, v = row["base_mean"], row["variant_mean"]
            fmt = lambda x: (  # noqa: E731
                (start + pd.Timedelta(days=x)).date().isoformat()
                if np.isfinite(x)
                else "none in the calendar"
            )
            note = f"base {fmt(b)}, variant {fmt(v)}"
        elif label.startswith("P("):
            shaky = [arm for arm in ARMS if BALANCED[0] <= row[f"{arm}_mean"] <= BALANCED[1]]
            if shaky:
                note = "finely balanced in " + " and ".join(shaky)
        elif label == "median delay (days)":
            censored = max(int(np.isnan(arrays[arm]["offensive_day"]).sum()) for arm in ARMS)
            note = f"runs without an offensive count as day {horizon:.0f} (the calendar's end)"
            if censored:
                note += f": censored in up to {censored} of {n} runs, a lower bound"
        notes.append(note)
    table["note"] = notes
    return table


def _quantiles(values: np.ndarray, alpha: float) -> tuple[float, float]:
    finite = values[~np.isnan(values)]
    if len(finite) == 0:
        return np.nan, np.nan
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return float(low), float(high)


def _nan_bootstrap(
    diffs: np.ndarray, conf: float, resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``bootstrap_ci`` per column on the pairs where the column is not NaN."""
    low = np.full(diffs.shape[1], np.nan)
    high = np.full(diffs.shape[1], np.nan)
    complete = ~np.isnan(diffs).any(axis=0)
    if complete.any():
        lo, hi = bootstrap_ci(diffs[:, complete], conf=conf, resamples=resamples, seed=seed)
        low[complete], high[complete] = lo, hi
    for j in np.flatnonzero(~complete):
        column = diffs[:, j][~np.isnan(diffs[:, j])]
        if len(column) >= 2:
            lo, hi = bootstrap_ci(column[:, None], conf=conf, resamples=resamples, seed=seed)
            low[j], high[j] = lo[0], hi[0]
    return low, high


# --------------------------------------------------------------------------- ranking levers


def rank_levers(
    scenario: str | Path | Scenario,
    variants: Sequence[str],
    seeds: int = 50,
    seed: int = 0,
    days: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    workers: int | None = 1,
    executor: Executor | None = None,
    conf: float = 0.95,
    resamples: int = 2000,
) -> tuple[pd.DataFrame, list[Comparison]]:
    """Each variant (a lever; "a+b" stacks two) against the same base runs: which link of the
    chain matters most. A table with one row per lever (ΔP(offensive), ΔP(capitulation),
    median delay, with intervals), most effective first, and each lever's comparison."""
    if not variants:
        raise fail("--variant", "name the variants to rank (--variant A --variant B ...)")
    if seeds < 2:
        raise fail("--seeds", f"must be at least 2 for an interval, got {seeds}")
    seed_list = [derive_seed(seed, i) for i in range(seeds)]
    base = load_scenario(scenario, overrides=overrides or {})
    name = base._provenance.name if base._provenance else str(scenario)
    contexts = {"base": RunContext(scenario=base, days=days)}
    levers = {v: [part for part in v.split("+") if part] for v in dict.fromkeys(variants)}
    for label, parts in levers.items():
        spec = load_scenario(scenario, variants=parts, overrides=overrides or {})
        contexts[label] = RunContext(scenario=spec, days=days)
    frame, errors = _paired_runs(contexts, seed_list, workers, executor)
    comparisons, rows = [], []
    base_rows = frame[frame["arm"] == "base"]
    for label, parts in levers.items():
        arm = frame[frame["arm"] == label].assign(arm="variant")
        comparison = _compare_frame(
            pd.concat([base_rows, arm], ignore_index=True),
            errors,
            name,
            parts,
            seed_list,
            seed,
            None,
            conf,
            resamples,
            start=base.calendar.start,
        )
        comparisons.append(comparison)
        war = comparison.table.set_index("outcome")
        row: dict[str, Any] = {"lever": label}
        for stat, short in (
            ("P(offensive)", "p_offensive"),
            ("P(capitulation)", "p_capitulation"),
            ("median delay (days)", "median_delay_days"),
        ):
            if stat not in war.index:
                continue
            row[f"{short}_base"] = war.loc[stat, "base_mean"]
            row[f"{short}_variant"] = war.loc[stat, "variant_mean"]
            row[f"{short}_diff"] = war.loc[stat, "mean_diff"]
            row[f"{short}_ci_low"] = war.loc[stat, "ci_low"]
            row[f"{short}_ci_high"] = war.loc[stat, "ci_high"]
        if "median offensive day" in war.index:
            row["median_offensive"] = war.loc["median offensive day", "note"]
        row["finely_balanced"] = "; ".join(
            str(war.loc[s, "note"])
            for s in ("P(offensive)", "P(capitulation)")
            if s in war.index and str(war.loc[s, "note"])
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    if "p_offensive_diff" in table:
        table = table.assign(
            _p=table["p_offensive_diff"].abs(), _d=table["median_delay_days_diff"].abs()
        ).sort_values(["_p", "_d"], ascending=False, kind="stable")
        table = table.drop(columns=["_p", "_d"]).reset_index(drop=True)
    return table, comparisons


def default_out(comparison: Comparison) -> Path:
    return Path("out") / "compare" / safe_name(comparison.label)
