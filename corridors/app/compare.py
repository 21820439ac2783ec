"""Compare two scenarios or variants on the same seeds, with paired difference plots."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import pandas as pd
import solara
from matplotlib.figure import Figure

from corridors.analysis.run import run_scenario
from corridors.app import limits
from corridors.app.catalog import Catalog
from corridors.app.charts import figure_png
from corridors.app.errors import guarded
from corridors.app.limits import parse_seeds
from corridors.scenarios import Scenario, load_scenario

BASELINE = "(none)"


@dataclass(frozen=True)
class Side:
    scenario: str
    variants: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.scenario + ("+" + "+".join(self.variants) if self.variants else "")


@dataclass
class Comparison:
    a: Side
    b: Side
    seeds: list[int]
    series: pd.DataFrame
    """Columns: seed, side (A/B), date, key (``entity · variable``), value."""
    summaries: pd.DataFrame
    """One row per (side, seed) of numeric summary outcomes."""

    def keys(self) -> list[str]:
        both = self.series.groupby("key")["side"].nunique()
        return sorted(both[both == 2].index)

    def paired(self, key: str) -> pd.DataFrame:
        """Per date: mean of A, mean of B, and the paired difference B − A (mean, min, max)."""
        data = self.series[self.series.key == key]
        wide = data.pivot_table(index=["date", "seed"], columns="side", values="value")
        wide = wide.reindex(columns=["A", "B"])
        wide["diff"] = wide["B"] - wide["A"]
        grouped = wide.groupby(level="date")
        out = pd.DataFrame(
            {
                "A": grouped["A"].mean(),
                "B": grouped["B"].mean(),
                "diff": grouped["diff"].mean(),
                "diff_min": grouped["diff"].min(),
                "diff_max": grouped["diff"].max(),
            }
        )
        out.index = pd.to_datetime(out.index)
        return out

    def outcome_table(self, limit: int = 30) -> pd.DataFrame:
        s = self.summaries
        numeric = [
            c
            for c in s.columns
            if c not in ("side", "seed", "days") and pd.api.types.is_numeric_dtype(s[c])
        ]
        a = s[s.side == "A"].set_index("seed")[numeric]
        b = s[s.side == "B"].set_index("seed")[numeric]
        diff = (b - a).mean()
        table = pd.DataFrame({"A": a.mean(), "B": b.mean(), "B − A": diff})
        table = table[(table["A"] != 0) | (table["B"] != 0)]
        order = (table["B − A"].abs() / (table[["A", "B"]].abs().max(axis=1) + 1e-9)).sort_values(
            ascending=False
        )
        return table.loc[order.index].head(limit)


def _key_frame(series: pd.DataFrame) -> pd.DataFrame:
    data = series[series.entity != "model"]
    frame = pd.DataFrame(
        {
            "date": data["date"].to_numpy(),
            "key": (data["entity"] + " · " + data["variable"]).to_numpy(),
            "value": data["value"].to_numpy(),
        }
    )
    model = series[series.entity == "model"]
    frame_m = pd.DataFrame(
        {
            "date": model["date"].to_numpy(),
            "key": ("model · " + model["variable"]).to_numpy(),
            "value": model["value"].to_numpy(),
        }
    )
    return pd.concat([frame, frame_m], ignore_index=True)


def compare_runs(
    a: Side,
    b: Side,
    seeds: list[int],
    days: int | None = None,
    load: Callable[..., Scenario] = load_scenario,
) -> Comparison:
    """Run both sides on every seed (``run_scenario``) and collect series and outcomes.
    ``load`` turns a side into a scenario: the app passes its session's
    :meth:`Catalog.load <corridors.app.catalog.Catalog.load>`, so only ids it allows run."""
    if not 1 <= len(seeds) <= limits.MAX_SEEDS:
        raise limits.LimitError(f"seeds: between 1 and {limits.MAX_SEEDS} seeds")
    specs = [load(side.scenario, variants=side.variants) for side in (a, b)]
    series_parts, summary_rows = [], []
    for side_name, spec in zip(("A", "B"), specs, strict=True):
        for seed in seeds:
            result = run_scenario(spec, seed=seed, days=days, record_flows=False)
            frame = _key_frame(result.series)
            frame["seed"] = seed
            frame["side"] = side_name
            series_parts.append(frame)
            row: dict[str, Any] = {"side": side_name, "seed": seed}
            row.update(
                {
                    k: float(v)
                    for k, v in result.summary.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                }
            )
            summary_rows.append(row)
    return Comparison(
        a, b, seeds, pd.concat(series_parts, ignore_index=True), pd.DataFrame(summary_rows)
    )


def default_key(comparison: Comparison) -> str | None:
    keys = comparison.keys()
    for pattern in ("· stress", "· food_t", "· delivered_t"):
        for key in keys:
            if key.endswith(pattern):
                data = comparison.series[comparison.series.key == key]
                if data.value.abs().sum() > 0:
                    return key
    return keys[0] if keys else None


def difference_figure(comparison: Comparison, key: str) -> Figure:
    paired = comparison.paired(key)
    fig = Figure(figsize=(7.5, 4.2), dpi=80, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(paired.index, paired["A"], label=f"A: {comparison.a.label}", lw=1.6)
    top.plot(paired.index, paired["B"], label=f"B: {comparison.b.label}", lw=1.6)
    top.set_title(f"{key} (mean of {len(comparison.seeds)} seeds)", fontsize=11, loc="left")
    top.legend(fontsize=8)
    top.grid(alpha=0.25)
    bottom.fill_between(
        paired.index,
        paired["diff_min"].to_numpy(),
        paired["diff_max"].to_numpy(),
        alpha=0.25,
        label="range over seeds",
    )
    bottom.plot(paired.index, paired["diff"], color="#c62828", lw=1.6, label="B − A (paired)")
    bottom.axhline(0, color="#616161", lw=0.8)
    bottom.set_title("Difference B − A, same seeds", fontsize=10, loc="left")
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.25)
    for ax in (top, bottom):
        ax.tick_params(labelsize=8)
    return fig


def outcome_html(comparison: Comparison) -> str:
    table = comparison.outcome_table()
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td style='text-align:right'>{r['A']:,.2f}</td>"
        f"<td style='text-align:right'>{r['B']:,.2f}</td>"
        f"<td style='text-align:right;font-weight:500'>{r['B − A']:+,.2f}</td></tr>"
        for k, r in table.iterrows()
    )
    return (
        '<table class="corridors-compare-table" style="font-size:12px;border-collapse:collapse">'
        "<thead><tr><th style='text-align:left'>outcome (mean over seeds)</th><th>A</th>"
        f"<th>B</th><th>B − A</th></tr></thead><tbody>{rows}</tbody></table>"
    )


@solara.component
def SideChooser(label: str, side: solara.Reactive[Side], catalog: Catalog):
    variants = catalog.variant_ids(side.value.scenario)
    with solara.Column(gap="2px", classes=[f"corridors-compare-{label.lower()}"]):
        solara.Select(
            f"{label}: scenario",
            values=catalog.scenario_ids(),
            value=side.value.scenario,
            on_value=lambda name: side.set(Side(name)),
            dense=True,
        )
        solara.Select(
            f"{label}: variant",
            values=[BASELINE, *variants],
            value=side.value.variants[0] if side.value.variants else BASELINE,
            on_value=lambda v: side.set(Side(side.value.scenario, () if v == BASELINE else (v,))),
            dense=True,
            classes=[f"corridors-compare-{label.lower()}-variant"],
        )


@solara.component
def Compare(catalog: Catalog, scenario: str):
    """Two sides chosen from this session's catalog, run on the same seeds. The choices are
    checked again when the comparison runs (a browser can send any value)."""
    first_variant = catalog.variant_ids(scenario)[:1]
    a = solara.use_reactive(Side(scenario))
    b = solara.use_reactive(Side(scenario, tuple(first_variant)))
    seeds_text = solara.use_reactive("5")
    result = solara.use_reactive(None)
    key = solara.use_reactive(None)
    error = solara.use_reactive("")

    @guarded(error.set)
    def run() -> None:
        seeds = parse_seeds(seeds_text.value)
        with limits.heavy_work():
            comparison = compare_runs(a.value, b.value, seeds, load=catalog.load)
        error.set("")
        result.set(comparison)
        key.set(default_key(comparison))

    comparison: Comparison | None = result.value
    keys = comparison.keys() if comparison is not None else []
    current = key.value if key.value in keys else (default_key(comparison) if keys else None)
    png = solara.use_memo(
        lambda: figure_png(difference_figure(comparison, current)) if current else None,
        [id(comparison), current],
    )

    with solara.Column(gap="6px", classes=["corridors-compare"]):
        with solara.Row(gap="16px", style={"flex-wrap": "wrap", "align-items": "flex-end"}):
            SideChooser("A", a, catalog)
            SideChooser("B", b, catalog)
            solara.InputText(
                "Seeds (count, 1-5 or 1,2,7)",
                value=seeds_text,
                continuous_update=True,
                classes=["corridors-compare-seeds"],
            )
            solara.Button(
                "Run comparison", on_click=run, color="primary", classes=["corridors-compare-run"]
            )
        if error.value:
            solara.Error(error.value, dense=True, classes=["corridors-compare-error"])
        if comparison is not None:
            solara.Select(
                "Series",
                values=keys,
                value=current,
                on_value=key.set,
                dense=True,
                classes=["corridors-compare-series"],
            )
            if png:
                widgets.Image.element(value=png, format="png", layout={"max_width": "100%"})
            solara.HTML(tag="div", unsafe_innerHTML=outcome_html(comparison))
        else:
            solara.Text(
                "Choose two scenarios or variants and run them on the same seeds.",
                style={"color": "#616161"},
            )
