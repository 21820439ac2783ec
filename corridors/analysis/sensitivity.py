"""Global sensitivity analysis of a sweep through SALib: Sobol indices (first order and total,
with bootstrap confidence intervals) of a Sobol design, Morris elementary effects (mu*, sigma)
of a Morris design.

Replicates of a design point are averaged first, so the indices describe the parameters' effect
on the expected outcome; every design point needs at least one successful run.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.analysis.storage import Sweep
from corridors.analysis.sweepstats import fail, numeric, ok_runs


def _check_design(sweep: Sweep, kind: str) -> dict[str, Any]:
    design = sweep.manifest["design"]
    if design["type"] != kind:
        raise fail(
            str(sweep.root),
            f"{kind} analysis needs a {kind} design; this sweep's design is {design['type']} "
            f"(use design: {{type: {kind}, samples: N}} in the spec)",
        )
    return design


def default_outcomes(sweep: Sweep) -> list[str]:
    """Numeric outcomes that vary across the sweep."""
    frame = ok_runs(sweep.frame)
    names = []
    for name in sweep.outcome_names:
        values = frame[name]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            continue
        if values.nunique(dropna=True) > 1:
            names.append(name)
    return names


def point_means(sweep: Sweep, outcome: str, points: int) -> np.ndarray:
    """The outcome averaged over each design point's successful replicates, in point order."""
    frame = ok_runs(sweep.frame)
    if outcome not in frame.columns:
        from corridors.analysis.sweepstats import check_column

        check_column(sweep.frame, outcome, "--outcome", "outcome")
    values = numeric(frame[outcome], outcome, "--outcome")
    means = values.groupby(frame["point"]).mean().reindex(range(points))
    missing = int(means.isna().sum())
    if missing:
        raise fail(
            "--outcome",
            f"'{outcome}' is missing for {missing} of {points} design points (runs that "
            "failed or were not run); finish the sweep (--resume) or see its errors table",
        )
    return means.to_numpy(dtype=float)


def _problem(design: dict[str, Any]) -> dict[str, Any]:
    prob = design["problem"]
    return {"num_vars": prob["num_vars"], "names": prob["names"], "bounds": prob["bounds"]}


def sobol_indices(
    sweep: Sweep,
    outcomes: Sequence[str] | None = None,
    conf_level: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices with confidence half-widths, one row per
    outcome and parameter."""
    from SALib.analyze import sobol

    design = _check_design(sweep, "sobol")
    problem = _problem(design)
    rows = []
    for name in outcomes or default_outcomes(sweep):
        y = point_means(sweep, name, int(design["points"]))
        constant = bool(np.ptp(y) == 0)
        if constant:
            si = {
                k: np.full(problem["num_vars"], np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")
            }
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                si = sobol.analyze(
                    problem,
                    y,
                    calc_second_order=bool(design.get("second_order")),
                    num_resamples=resamples,
                    conf_level=conf_level,
                    seed=seed,
                )
        for i, param in enumerate(problem["names"]):
            rows.append(
                {
                    "outcome": name,
                    "parameter": param,
                    "S1": float(si["S1"][i]),
                    "S1_conf": float(si["S1_conf"][i]),
                    "ST": float(si["ST"][i]),
                    "ST_conf": float(si["ST_conf"][i]),
                    "note": "outcome constant" if constant else "",
                }
            )
    return pd.DataFrame(rows)


def morris_indices(
    sweep: Sweep,
    outcomes: Sequence[str] | None = None,
    conf_level: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Morris screening: mu, mu* (mean absolute elementary effect, per unit of the parameter's
    range) with its confidence half-width, and sigma, one row per outcome and parameter."""
    from SALib.analyze import morris

    design = _check_design(sweep, "morris")
    problem = _problem(design)
    x = sweep.design.sort_values("point")[problem["names"]].to_numpy(dtype=float)
    rows = []
    for name in outcomes or default_outcomes(sweep):
        y = point_means(sweep, name, int(design["points"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            si = morris.analyze(
                problem,
                x,
                y,
                num_resamples=resamples,
                conf_level=conf_level,
                num_levels=int(design.get("levels") or 4),
                seed=seed,
            )
        for i, param in enumerate(problem["names"]):
            rows.append(
                {
                    "outcome": name,
                    "parameter": param,
                    "mu": float(si["mu"][i]),
                    "mu_star": float(si["mu_star"][i]),
                    "mu_star_conf": float(si["mu_star_conf"][i]),
                    "sigma": float(si["sigma"][i]),
                }
            )
    return pd.DataFrame(rows)


def plot_indices(table: pd.DataFrame, kind: str, path: Path) -> Path:
    """One panel per outcome: S1 and ST bars with confidence whiskers (Sobol), or mu* bars with
    whiskers and sigma markers (Morris)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(table["outcome"]))
    params = list(dict.fromkeys(table["parameter"]))
    fig, axes = plt.subplots(
        len(outcomes),
        1,
        figsize=(9, 0.6 + (0.45 * len(params) + 0.8) * len(outcomes)),
        squeeze=False,
    )
    y = np.arange(len(params))
    for ax, name in zip(axes[:, 0], outcomes, strict=True):
        part = table[table["outcome"] == name].set_index("parameter").reindex(params)
        if kind == "sobol":
            ax.barh(
                y - 0.2,
                part["S1"],
                0.4,
                xerr=part["S1_conf"],
                label="S1 (first order)",
                capsize=3,
                color="#4c72b0",
            )
            ax.barh(
                y + 0.2,
                part["ST"],
                0.4,
                xerr=part["ST_conf"],
                label="ST (total)",
                capsize=3,
                color="#dd8452",
            )
            ax.set_xlabel("Sobol index")
            ax.axvline(0, color="grey", lw=0.8)
        else:
            ax.barh(
                y,
                part["mu_star"],
                0.5,
                xerr=part["mu_star_conf"],
                label="mu*",
                capsize=3,
                color="#4c72b0",
            )
            ax.plot(part["sigma"], y, "D", color="#c44e52", label="sigma")
            ax.set_xlabel("elementary effect (outcome units per parameter range)")
        ax.set_yticks(y, params)
        ax.invert_yaxis()
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
