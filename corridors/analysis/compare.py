"""Paired counterfactuals: a scenario and its variant run on the same seeds (common random
numbers), and the difference in each outcome with a bootstrap confidence interval.

Pairing removes the noise the two arms share (daily capacity draws, decisions), so a difference
shows with far fewer seeds than two independent samples would need. The interval resamples the
seeds (percentile bootstrap, seeded, so it is reproducible).
"""

from __future__ import annotations

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
        names = list(outcomes) if outcomes else list(self.changed()["outcome"])[:limit]
        names = names or list(rows.index[:1])
        fig, axes = plt.subplots(
            len(names), 1, figsize=(7.5, 1.0 + 0.75 * len(names)), squeeze=False
        )
        for ax, name in zip(axes[:, 0], names, strict=True):
            row = rows.loc[name]
            colour = "#c44e52" if row["excludes_zero"] else "#4c72b0"
            ax.errorbar(
                [row["mean_diff"]],
                [0],
                xerr=[[row["mean_diff"] - row["ci_low"]], [row["ci_high"] - row["mean_diff"]]],
                fmt="o",
                color=colour,
                capsize=4,
            )
            ax.axvline(0, color="grey", lw=0.8, ls="--")
            ax.set_yticks([0], [name])
            ax.tick_params(axis="x", labelsize=8)
            span = max(abs(row["ci_low"]), abs(row["ci_high"]), abs(row["mean_diff"])) or 1.0
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
    skip = {"arm", "pair", "seed", "days"}
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
    tasks = [(i, s, {}) for i, s in enumerate(seed_list)]
    contexts = {
        "base": RunContext(scenario=base, days=days),
        "variant": RunContext(scenario=variant, days=days),
    }

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
    keep = complete[complete == len(ARMS)].index
    frame = frame[frame["pair"].isin(keep)].sort_values(["arm", "pair"]).reset_index(drop=True)
    if len(keep) < 2:
        raise fail("compare", f"fewer than 2 seeds ran in both arms: {'; '.join(errors[:3])}")
    names = _numeric_outcomes(frame, outcomes)
    wide = {arm: frame[frame["arm"] == arm].set_index("pair")[names].astype(float) for arm in ARMS}
    diffs = (wide["variant"] - wide["base"]).to_numpy()
    scale = np.fmax(np.abs(wide["variant"].to_numpy()), np.abs(wide["base"].to_numpy()))
    diffs[np.abs(diffs) <= 1e-9 * np.fmax(scale, 1.0)] = 0.0  # rounding, not an effect
    low, high = bootstrap_ci(diffs, conf=conf, resamples=resamples, seed=seed)
    mean_diff = diffs.mean(axis=0)
    table = pd.DataFrame(
        {
            "outcome": names,
            "base_mean": wide["base"].mean().to_numpy(),
            "variant_mean": wide["variant"].mean().to_numpy(),
            "mean_diff": mean_diff,
            "ci_low": low,
            "ci_high": high,
            "pairs": len(keep),
        }
    )
    table["excludes_zero"] = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    table["all_zero"] = np.all(diffs == 0, axis=0)
    only = {arm: wide[arm].isna().all().to_numpy() for arm in ARMS}
    table["note"] = np.where(
        only["variant"], "not in the variant", np.where(only["base"], "not in the base", "")
    )
    return Comparison(
        scenario=name,
        variants=list(variants),
        seeds=[seed_list[p] for p in keep],
        runs=frame,
        table=table,
        conf=conf,
        errors=errors,
    )


def default_out(comparison: Comparison) -> Path:
    return Path("out") / "compare" / safe_name(comparison.label)
