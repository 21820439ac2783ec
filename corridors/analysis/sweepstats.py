"""Outcome statistics of a sweep: summaries by parameter, probabilities of conditions
(``NKR.shortage_days>=100``, ``NKR.first_shortage_date<=2023-03-01``) with Wilson intervals, and
heatmaps of an outcome over two parameters.

Only successful runs count; a run whose outcome is missing (an event that never happened: its
date is empty) does not meet a condition, except ``NAME==null``.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.scenarios import Problem, ScenarioError
from corridors.scenarios.loader import suggest
from corridors.scenarios.yamlsafe import Where, YamlError, parse_scalar

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_CONDITION = re.compile(r"^\s*(?P<name>.+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>.*?)\s*$")
NOT_ANALYSED = frozenset({"run_id", "point", "replicate", "seed", "status", "elapsed_s"})


class AnalysisError(ScenarioError):
    """An analysis request does not fit the sweep (unknown outcome, bad condition, ...)."""


def fail(option: str, message: str) -> AnalysisError:
    return AnalysisError([Problem(Where(option), "", message)])


def check_column(frame: pd.DataFrame, name: str, option: str, kind: str = "column") -> None:
    """Raise a one-line error naming the closest column when ``name`` is not in ``frame``."""
    if name not in frame.columns:
        known = [c for c in frame.columns if c not in NOT_ANALYSED]
        raise fail(
            option,
            f"unknown {kind} '{name}'"
            + (
                suggest(name, known)
                or f" (available: {', '.join(known[:12])}"
                + (", ..." if len(known) > 12 else "")
                + ")"
            ),
        )


def ok_runs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "ok"] if "status" in frame.columns else frame


# ---------------------------------------------------------------------------- values


def is_date_column(values: pd.Series) -> bool:
    """Text (or date) values that all read as ISO dates, missing ones aside."""
    present = values.dropna()
    if present.empty or pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    if all(isinstance(v, dt.date) for v in present):
        return True
    parsed = pd.to_datetime(present.astype(str), format="ISO8601", errors="coerce")
    return bool(parsed.notna().all())


def as_dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("object").where(values.notna()), errors="coerce")


def numeric(values: pd.Series, name: str, option: str) -> pd.Series:
    """Values as floats; refuse text and dates with a clear message."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    present = values.dropna()
    converted = pd.to_numeric(present, errors="coerce")
    if converted.notna().all():
        return pd.to_numeric(values, errors="coerce").astype(float)
    hint = (
        f'; for a date, ask for a probability instead (--where "{name}<=2023-06-01")'
        if is_date_column(values)
        else ""
    )
    raise fail(option, f"outcome '{name}' is not numeric{hint}")


# ---------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Condition:
    """``NAME OP VALUE``; ``mask(frame)`` says which runs meet it."""

    name: str
    op: str
    value: Any
    text: str

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        values = frame[self.name]
        compare = OPERATORS[self.op]
        if self.value is None:
            return values.isna() if self.op == "==" else values.notna()
        if isinstance(self.value, dt.date):
            dates = as_dates(values)
            return compare(dates, pd.Timestamp(self.value)).fillna(False).astype(bool)
        if isinstance(self.value, bool | str):
            result = compare(values.astype("object"), self.value)
            return result.where(values.notna(), False).astype(bool)
        nums = pd.to_numeric(values, errors="coerce")
        return compare(nums, float(self.value)).where(nums.notna(), False).astype(bool)


def parse_condition(text: str, frame: pd.DataFrame, option: str = "--where") -> Condition:
    """Parse ``NAME OP VALUE`` (OP one of <=, >=, ==, !=, <, >); the value is read as YAML:
    a number, a date, true/false, null or text."""
    if "=>" in text or "=<" in text:
        raise fail(option, f"'{text}': write >= or <= (not => or =<)")
    match = _CONDITION.match(text)
    if not match:
        raise fail(
            option,
            f"'{text}' is not NAME OP VALUE (OP one of <= >= == != < >), "
            'e.g. "NKR.shortage_days>=100"',
        )
    name, op, raw = match["name"], match["op"], match["value"]
    check_column(frame, name, option, "outcome or parameter")
    if raw == "":
        raise fail(option, f"'{text}' has no value after '{op}'")
    try:
        value = parse_scalar(raw)
    except YamlError as exc:
        raise fail(option, f"'{raw}' is not a value: {exc.message}") from None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, list | dict):
        raise fail(option, f"'{raw}' is not a single value")
    if value is None and op not in ("==", "!="):
        raise fail(option, f"null compares with == or != only, not {op}")
    if isinstance(value, bool | str) and op not in ("==", "!="):
        raise fail(option, f"'{raw}' is text or true/false; compare it with == or !=")
    if isinstance(value, dt.date) and not is_date_column(frame[name]):
        raise fail(option, f"'{name}' holds no dates to compare with {value}")
    numeric_value = isinstance(value, int | float) and not isinstance(value, bool)
    if (
        numeric_value
        and not pd.api.types.is_numeric_dtype(frame[name])
        and frame[name].notna().any()
    ):
        raise fail(option, f"'{name}' is not numeric; compare it with == or !=")
    return Condition(name, op, value, f"{name}{op}{raw}")


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float, float]:
    """Share and Wilson score interval (95% by default)."""
    if n == 0:
        return math.nan, math.nan, math.nan
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


# ---------------------------------------------------------------------------- grouping


def group_labels(values: pd.Series, bins: int) -> pd.Series:
    """Levels as they are; a numeric parameter with more than ``bins`` values in equal-width
    bins labelled ``[low, high)``."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > bins:
        cut = pd.cut(values, bins=bins, include_lowest=True, right=False)
        labels = cut.cat.categories
        names = [f"[{iv.left:.4g}, {iv.right:.4g})" for iv in labels]
        return cut.cat.rename_categories(names)
    return values


# ---------------------------------------------------------------------------- summary


def _stats(values: pd.Series) -> dict[str, Any]:
    present = values.dropna()
    row: dict[str, Any] = {"n": len(present), "missing": int(values.isna().sum())}
    if is_date_column(values):
        dates = as_dates(present)
        ordinals = dates.map(lambda t: t.toordinal()).astype(float)

        def q(p: float) -> str:
            return dt.date.fromordinal(round(float(np.quantile(ordinals, p)))).isoformat()

        row.update(
            mean=None,
            sd=None,
            min=dates.min().date().isoformat(),
            p05=q(0.05),
            median=q(0.5),
            p95=q(0.95),
            max=dates.max().date().isoformat(),
        )
        return row
    nums = pd.to_numeric(present, errors="coerce").dropna().astype(float)
    if nums.empty:
        return row
    row.update(
        mean=float(nums.mean()),
        sd=float(nums.std(ddof=1)) if len(nums) > 1 else 0.0,
        min=float(nums.min()),
        p05=float(nums.quantile(0.05)),
        median=float(nums.median()),
        p95=float(nums.quantile(0.95)),
        max=float(nums.max()),
    )
    return row


def outcome_summary(
    frame: pd.DataFrame, outcomes: Sequence[str], by: str | None = None, bins: int = 5
) -> pd.DataFrame:
    """Statistics of each outcome over successful runs, overall or by a parameter's levels or
    bins: n, missing, mean, sd, min, p05, median, p95, max (dates as ISO dates)."""
    frame = ok_runs(frame)
    groups = [("all", frame)] if by is None else _grouped(frame, by, bins)
    rows = []
    for label, part in groups:
        for name in outcomes:
            row = {"outcome": name, **_stats(part[name])}
            if by is not None:
                row = {by: label, **row}
            rows.append(row)
    return pd.DataFrame(rows)


def _grouped(frame: pd.DataFrame, by: str, bins: int) -> list[tuple[Any, pd.DataFrame]]:
    labels = group_labels(frame[by], bins)
    return [(label, part) for label, part in frame.groupby(labels, observed=True, sort=True)]


def probabilities(
    frame: pd.DataFrame, conditions: Sequence[Condition], by: str | None = None, bins: int = 5
) -> pd.DataFrame:
    """Share of successful runs meeting each condition, with a Wilson 95% interval."""
    frame = ok_runs(frame)
    groups = [("all", frame)] if by is None else _grouped(frame, by, bins)
    rows = []
    for label, part in groups:
        for cond in conditions:
            hits = int(cond.mask(part).sum())
            p, low, high = wilson(hits, len(part))
            row = {"condition": cond.text, "runs": len(part), "meeting": hits}
            row.update(probability=p, ci_low=low, ci_high=high)
            rows.append(row if by is None else {by: label, **row})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- heatmap


def heatmap_table(
    frame: pd.DataFrame,
    x: str,
    y: str,
    outcome: str | None = None,
    condition: Condition | None = None,
    bins: int = 6,
) -> pd.DataFrame:
    """Mean ``outcome`` (or the share of runs meeting ``condition``) over the levels or bins of
    two parameters: rows are ``y``, columns ``x``."""
    frame = ok_runs(frame)
    if condition is not None:
        value = condition.mask(frame).astype(float)
    else:
        assert outcome is not None
        value = numeric(frame[outcome], outcome, "--outcome")
    data = pd.DataFrame(
        {x: group_labels(frame[x], bins), y: group_labels(frame[y], bins), "value": value}
    )
    return data.pivot_table(index=y, columns=x, values="value", aggfunc="mean", observed=False)


def plot_heatmap(table: pd.DataFrame, path: Path, title: str, label: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(
        figsize=(1.2 + 0.9 * max(len(table.columns), 4), 1.2 + 0.6 * max(len(table), 4))
    )
    image = ax.imshow(table.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(
        range(len(table.columns)), [str(c) for c in table.columns], rotation=45, ha="right"
    )
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    ax.set_xlabel(str(table.columns.name))
    ax.set_ylabel(str(table.index.name))
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label=label)
    if table.size <= 225:
        values = table.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    f"{v:.3g}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black" if v > middle else "white",
                )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def safe_name(text: str) -> str:
    """A file-name-safe version of an outcome or parameter name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"
