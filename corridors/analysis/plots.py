"""PNG plots of a run: stocks, humanitarian stress, tonnes carried by link."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

if TYPE_CHECKING:
    from corridors.analysis.run import RunResult

STOCK_VARIABLES = ("food_t", "fuel_t", "medicine_t")


def _event_marks(ax: plt.Axes, result: RunResult) -> None:
    """Vertical lines at scripted events and interventions."""
    events = result.events
    if events.empty:
        return
    for date in sorted(set(events.loc[events.kind.isin(["event", "intervention"]), "date"])):
        ax.axvline(pd.Timestamp(date), color="grey", lw=0.6, ls=":")


def _finish(fig: plt.Figure, ax: plt.Axes, path: Path) -> Path:
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def plot_stocks(result: RunResult, path: Path) -> Path:
    series = result.series
    data = series[series.variable.isin(STOCK_VARIABLES)]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for (entity, variable), group in data.groupby(["entity", "variable"]):
        ax.plot(pd.to_datetime(group.date), group.value, label=f"{entity}: {variable[:-2]}")
    _event_marks(ax, result)
    ax.set_title(f"Stocks — {result.scenario.meta.title}")
    ax.set_ylabel("tonnes")
    if not data.empty:
        ax.legend(fontsize=8)
    return _finish(fig, ax, path)


def plot_stress(result: RunResult, path: Path) -> Path:
    series = result.series
    sustained = set(series.loc[series.variable.isin(STOCK_VARIABLES), "entity"])
    data = series[(series.variable == "stress") & series.entity.isin(sustained)]
    fig, ax = plt.subplots(figsize=(9, 4))
    for entity, group in data.groupby("entity"):
        ax.plot(pd.to_datetime(group.date), group.value, label=entity)
    _event_marks(ax, result)
    ax.set_ylim(0, 1)
    ax.set_ylabel("humanitarian stress (0–1)")
    ax.set_title("Humanitarian stress")
    if not data.empty:
        ax.legend(fontsize=8)
    return _finish(fig, ax, path)


def plot_flows_by_link(result: RunResult, path: Path, top: int = 8) -> Path:
    flows = result.flows
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if not flows.empty:
        table = flows.pivot_table(index="date", columns="link", values="tonnes", aggfunc="sum")
        dates = pd.date_range(result.scenario.calendar.start, periods=result.summary["days"])
        table.index = pd.to_datetime(table.index)
        table = table.reindex(dates, fill_value=0.0).fillna(0.0)
        order = table.sum().sort_values(ascending=False).index[:top]
        for link in order:
            ax.plot(table.index, table[link], label=link)
        ax.set_yscale("symlog", linthresh=10)
        ax.legend(fontsize=8, ncol=2)
    _event_marks(ax, result)
    ax.set_ylabel("tonnes per day (symlog)")
    ax.set_title("Tonnes carried by link")
    return _finish(fig, ax, path)


def plot_balance(result: RunResult, path: Path) -> Path:
    """What the claimant weighs: force ratio against its threshold, deterrence against its
    resolve, and the guarantor's credibility."""
    series = result.series
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    claims = {(s.name, c.target): c for s in result.scenario.states for c in s.claims}
    for (attacker, target), claim in claims.items():
        label = f"{attacker}->{target}"
        ratio = series[series.variable == f"force_ratio.{label}"]
        top.plot(pd.to_datetime(ratio.date), ratio.value, label=f"force ratio {label}")
        if claim.rule == "threshold":
            top.axhline(
                claim.threshold,
                ls="--",
                color="grey",
                lw=0.8,
                label=f"threshold {claim.threshold:g}",
            )
        deterrence = series[series.variable == f"deterrence.{label}"]
        bottom.plot(pd.to_datetime(deterrence.date), deterrence.value, label=f"deterrence {label}")
        bottom.axhline(
            claim.resolve, ls="--", color="grey", lw=0.8, label=f"resolve {claim.resolve:g}"
        )
    for variable in sorted(v for v in series.variable.unique() if v.startswith("credibility.")):
        data = series[series.variable == variable]
        bottom.plot(pd.to_datetime(data.date), data.value, ls=":", label=variable)
    _event_marks(top, result)
    _event_marks(bottom, result)
    top.set_title("Military balance and deterrence")
    top.set_ylabel("force ratio")
    bottom.set_ylabel("0–1")
    for ax in (top, bottom):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return _finish(fig, bottom, path)


def write_plots(result: RunResult, out: Path) -> dict[str, Path]:
    return {
        "plot_stocks": plot_stocks(result, out / "stocks.png"),
        "plot_stress": plot_stress(result, out / "stress.png"),
        "plot_flows": plot_flows_by_link(result, out / "flows_by_link.png"),
        "plot_balance": plot_balance(result, out / "balance.png"),
    }
