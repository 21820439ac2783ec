"""Charts of a run, drawn with matplotlib, and chosen from whatever series the model records.

The stock, stress and flow charts are always there; every other series in ``series_frame``
(state, link or model variables: force ratio, readiness, arms delivered, tension, credibility…)
can be added by name, so new mechanisms need no change here. Every chart spans the whole
scenario period and marks today, scripted events (grey) and interventions (red).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import ipywidgets as widgets
import matplotlib.dates as mdates
import pandas as pd
import solara
from matplotlib.figure import Figure

from corridors.app.session import View

SHOWN_STATE_VARIABLES = frozenset({"stress"})
SHOWN_LINK_VARIABLES = frozenset({"carried_t"})
DEFAULT_PATTERNS = (
    "force_ratio",
    "readiness",
    "credib",
    "tension",
    "arms_(received|delivered)",
    "energy",
)
"""Series shown by default among the extra charts, when the model records them."""


@dataclass(frozen=True)
class SeriesOption:
    key: str
    """``state:VAR``, ``link:VAR``, ``model:VAR`` or ``model:PREFIX*``."""
    label: str


def _dates(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["date"])


def _entities(view: View) -> tuple[set[str], set[str]]:
    return {s["name"] for s in view.states}, {lk["name"] for lk in view.links}


def series_options(view: View) -> list[SeriesOption]:
    """Every series the run records that the fixed charts do not show, by entity type."""
    states, links = _entities(view)
    series = view.series
    if series.empty:
        return []
    stock_vars = {f"{g}_t" for goods in view.stock_goods.values() for g in goods}
    pairs = series[["entity", "variable"]].drop_duplicates()
    options: list[SeriesOption] = []
    state_vars = sorted(set(pairs.loc[pairs.entity.isin(states), "variable"]))
    for var in state_vars:
        if var in SHOWN_STATE_VARIABLES or var in stock_vars:
            continue
        options.append(SeriesOption(f"state:{var}", f"states · {var}"))
    link_vars = sorted(set(pairs.loc[pairs.entity.isin(links), "variable"]))
    for var in link_vars:
        if var not in SHOWN_LINK_VARIABLES:
            options.append(SeriesOption(f"link:{var}", f"links · {var}"))
    model_vars = sorted(set(pairs.loc[pairs.entity == "model", "variable"]))
    groups: dict[str, list[str]] = {}
    for var in model_vars:
        m = re.match(r"^(.+?)[.:/]", var)
        if m:
            groups.setdefault(m.group(1), []).append(var)
    for prefix, members in sorted(groups.items()):
        options.append(SeriesOption(f"model:{prefix}*", f"model · {prefix} ({len(members)})"))
    grouped = {v for members in groups.values() if len(members) == 1 for v in members}
    for var in model_vars:
        if var not in grouped:
            options.append(SeriesOption(f"model:{var}", f"model · {var}"))
    return options


def default_options(options: Iterable[SeriesOption], limit: int = 3) -> list[str]:
    """The extra charts shown at first: the war, arms and diplomacy series when the model
    records them (groups first), else the first state series."""
    keys = [o.key for o in options]
    chosen: list[str] = []
    for pattern in DEFAULT_PATTERNS:
        matches = [k for k in keys if re.search(pattern, k, re.I) and k not in chosen]
        matches.sort(key=lambda k: (not k.endswith("*"), not k.startswith("model:")))
        if matches:
            chosen.append(matches[0])
    if not chosen:
        chosen = [k for k in keys if k.startswith("state:")][:1]
    return chosen[:limit]


def option_lines(view: View, key: str) -> dict[str, pd.Series]:
    """Lines (label → values indexed by date) of one series option."""
    kind, _, var = key.partition(":")
    states, links = _entities(view)
    series = view.series
    if kind == "model":
        if var.endswith("*"):
            prefix = var[:-1]
            data = series[(series.entity == "model") & series.variable.str.startswith(prefix)]
            label_of = lambda row_var: row_var[len(prefix) :].lstrip(".:/") or row_var  # noqa: E731
        else:
            data = series[(series.entity == "model") & (series.variable == var)]
            label_of = lambda row_var: row_var  # noqa: E731
        return {
            label_of(v): pd.Series(g.value.to_numpy(), index=_dates(g))
            for v, g in data.groupby("variable", sort=True)
        }
    names = states if kind == "state" else links
    data = series[series.entity.isin(names) & (series.variable == var)]
    lines = {}
    for entity, g in data.groupby("entity", sort=True):
        values = g.value
        if values.isna().all():
            continue
        lines[str(entity)] = pd.Series(values.to_numpy(), index=_dates(g))
    # many flat lines say nothing: keep the ones that move, or the first few
    moving = {k: v for k, v in lines.items() if v.nunique(dropna=True) > 1}
    return moving or dict(list(lines.items())[:6])


def _marks(ax, view: View) -> None:
    events = view.events
    if not events.empty:
        scripted = sorted(set(events.loc[events.kind == "event", "date"]))
        for date in scripted:
            ax.axvline(pd.Timestamp(date), color="#9e9e9e", lw=0.8, ls=":")
        for date in sorted(set(events.loc[events.kind == "intervention", "date"])):
            ax.axvline(pd.Timestamp(date), color="#c62828", lw=1.2, ls="--")
    ax.axvline(pd.Timestamp(view.date), color="#1565c0", lw=1.0, alpha=0.6)


def _month_step(view: View) -> int:
    months = max(view.n_days / 30.4, 1.0)
    return max(1, round(months / 6))


def time_figure(
    view: View,
    title: str,
    lines: dict[str, pd.Series],
    ylabel: str = "",
    symlog: bool = False,
    ylim: tuple[float, float] | None = None,
    top: int = 8,
    legend: str = "upper right",
) -> Figure:
    fig = Figure(figsize=(5.6, 2.5), dpi=80)
    fig.subplots_adjust(left=0.12, right=0.95, top=0.88, bottom=0.13)
    ax = fig.add_subplot()
    ranked = sorted(lines.items(), key=lambda kv: -float(kv[1].abs().sum()))[:top]
    for label, values in ranked:
        ax.plot(values.index, values.to_numpy(), label=label, lw=1.6)
    ax.set_xlim(pd.Timestamp(view.start), pd.Timestamp(view.end))
    if symlog:
        ax.set_yscale("symlog", linthresh=10)
        ax.set_ylim(bottom=0)
    if ylim:
        ax.set_ylim(*ylim)
    _marks(ax, view)
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonthday=1, interval=_month_step(view)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %y"))
    ax.grid(alpha=0.25)
    if ranked:
        ax.legend(fontsize=7, ncol=2 if len(ranked) > 3 else 1, loc=legend, framealpha=0.7)
    else:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
    return fig


def stock_lines(view: View) -> dict[str, pd.Series]:
    series = view.series
    lines = {}
    several = len(view.stock_goods) > 1
    codes = {s["name"]: s["code"] for s in view.states}
    for state, goods in view.stock_goods.items():
        sub = series[series.entity == state]
        for good in goods:
            g = sub[sub.variable == f"{good}_t"]
            label = f"{codes.get(state, state)} {good}" if several else good
            lines[label] = pd.Series(g.value.to_numpy(), index=_dates(g))
    return lines


def stress_lines(view: View) -> dict[str, pd.Series]:
    series = view.series
    data = series[series.entity.isin(view.sustained) & (series.variable == "stress")]
    return {
        str(e): pd.Series(g.value.to_numpy(), index=_dates(g)) for e, g in data.groupby("entity")
    }


def flow_lines(view: View) -> dict[str, pd.Series]:
    _, links = _entities(view)
    series = view.series
    data = series[series.entity.isin(links) & (series.variable == "carried_t")]
    return {
        str(e): pd.Series(g.value.to_numpy(), index=_dates(g)) for e, g in data.groupby("entity")
    }


def chart_specs(view: View, extra: Iterable[str]) -> list[tuple[str, str, Callable[[], Figure]]]:
    """(key, title, figure maker) of every chart to show."""
    specs: list[tuple[str, str, Callable[[], Figure]]] = [
        (
            "stocks",
            "Stocks of dependent populations (t)",
            lambda: time_figure(view, "Stocks (t)", stock_lines(view), "tonnes"),
        ),
        (
            "stress",
            "Humanitarian stress",
            lambda: time_figure(
                view,
                "Humanitarian stress (0–1)",
                stress_lines(view),
                ylim=(0, 1.02),
                legend="upper left",
            ),
        ),
        (
            "flows",
            "Tonnes carried by link",
            lambda: time_figure(
                view, "Carried by link (t/day, symlog)", flow_lines(view), symlog=True
            ),
        ),
    ]
    labels = {o.key: o.label for o in series_options(view)}
    for key in extra:
        if key not in labels:
            continue
        specs.append(
            (
                key,
                labels[key],
                lambda key=key: time_figure(view, labels[key], option_lines(view, key)),
            )
        )
    return specs


def figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@solara.component
def Chart(view: View, key: str, title: str, make: Callable[[], Figure]):
    png = solara.use_memo(lambda: figure_png(make()), [view.version, key])
    with solara.Column(gap="0px", classes=["corridors-chart", f"chart-{key}"]):
        widgets.Image.element(value=png, format="png", layout={"width": "100%", "height": "auto"})


@solara.component
def Charts(view: View):
    options = series_options(view)
    extra = solara.use_reactive(default_options(options))
    keys = {o.key for o in options}
    with solara.Column(gap="6px", classes=["corridors-charts"]):
        for key, title, make in chart_specs(view, [k for k in extra.value if k in keys]):
            Chart(view, key, title, make)
        solara.SelectMultiple(
            "More series",
            values=[k for k in extra.value if k in keys],
            all_values=[o.key for o in options],
            on_value=extra.set,
            dense=True,
            classes=["corridors-more-series"],
        )
