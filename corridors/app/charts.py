"""Charts of a run, drawn in the browser by ECharts and chosen from whatever series the model
records.

The stock, stress and flow charts are always there; every other series in ``series_frame``
(state, link or model variables: force ratio, readiness, arms delivered, tension, credibility…)
can be added by name, so new mechanisms need no change here. Every chart spans the whole
scenario period and marks today, scripted events (grey) and interventions (red).

Speed: the page sends each chart its layout once, and then only the latest days' values
(``tail``); the values of whole blocks of :data:`BLOCK_DAYS` days (``base``) change once per
block. The browser updates the chart in place: a Step costs a few kilobytes, not six PNGs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import solara

from corridors.app.session import View

SHOWN_STATE_VARIABLES = frozenset({"stress"})
SHOWN_LINK_VARIABLES = frozenset({"carried_t"})
CODED_VARIABLES = frozenset({"status"})
"""Series that are codes (a link's status 0/1/2), not quantities: the map shows them."""
DEFAULT_PATTERNS = (
    "force_ratio",
    "readiness",
    "credib",
    "tension",
    "arms_(received|delivered)",
    "energy",
)
"""Series shown by default among the extra charts, when the model records them."""
BLOCK_DAYS = 32
"""Values are sent to the browser in blocks of this many days; only the latest block changes
from one day to the next."""
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#ad494a",
)
WORDS = {
    "force_ratio": ("Force ratio", "attacker ÷ defender"),
    "readiness": ("Readiness", "0–1"),
    "credibility": ("Guarantor credibility", "0–1"),
    "deterrence": ("Deterrence", "0–1"),
    "tension": ("Tension", "0–1"),
    "stress": ("Humanitarian stress", "0–1"),
    "weighted_shortage": ("Share of needs unmet", "0–1"),
    "personnel": ("Personnel", "people"),
    "population": ("Population", "people"),
    "displaced": ("People displaced", "people"),
    "power": ("Combat power", "index"),
    "quality": ("Force quality", "index"),
    "arms_t": ("Arms held", "t"),
    "arms_received_t": ("Arms received", "t"),
    "arms_budget_usd_m": ("Arms budget", "US$ million"),
    "revenue_usd_m": ("Energy revenue", "US$ million"),
    "capacity_t": ("Capacity", "t/day"),
    "carried_t": ("Tonnes carried", "t/day"),
    "shipped_today_t": ("Shipped today", "t/day"),
    "shipped_t": ("Shipped since the start", "t"),
    "delivered_t": ("Delivered since the start", "t"),
    "in_transit_t": ("In transit", "t"),
    "lost_t": ("Lost on the way", "t"),
    "energy_delivered_t": ("Energy delivered", "t"),
}


@dataclass(frozen=True)
class SeriesOption:
    key: str
    """``state:VAR``, ``link:VAR``, ``model:VAR`` or ``model:PREFIX*``."""
    label: str


@dataclass
class ChartData:
    """One chart: what it shows, in which unit, and each line's values by day (0 = start)."""

    key: str
    title: str
    unit: str
    lines: dict[str, list[float | None]]
    colours: dict[str, str]
    log: bool = False
    ymax: float | None = None
    note: str = ""
    candidates: list[str] = field(default_factory=list)


def words(var: str) -> tuple[str, str]:
    """A variable's name in words and its unit, e.g. ``arms_budget_usd_m`` → ("Arms budget",
    "US$ million")."""
    if var in WORDS:
        return WORDS[var]
    unit = ""
    base = var
    for suffix, name in (("_usd_m", "US$ million"), ("_t", "t"), ("_share", "share")):
        if base.endswith(suffix):
            base, unit = base[: -len(suffix)], name
            break
    if base.startswith("received_"):
        return f"{base[9:].replace('_', ' ').capitalize()} received", unit or "t/day"
    return base.replace("_", " ").capitalize(), unit


def colour_of(name: str, candidates: list[str]) -> str:
    """A series' colour: its place among every series the chart could show (fixed for a
    scenario), so a colour never changes during a run."""
    if name in candidates:
        return PALETTE[candidates.index(name) % len(PALETTE)]
    return PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]


def _entities(view: View) -> tuple[list[str], list[str]]:
    return [s["name"] for s in view.states], [lk["name"] for lk in view.links]


def _group_of(var: str) -> str | None:
    m = re.match(r"^(.+?)[.:/]", var)
    return m.group(1) if m else None


def _pairs(view: View) -> list[tuple[str, str]]:
    return list(view.lines)


def series_options(view: View) -> list[SeriesOption]:
    """Every series the run records that the fixed charts do not show, by entity type."""
    states, links = _entities(view)
    pairs = _pairs(view)
    if not pairs:
        return []
    stock_vars = {f"{g}_t" for goods in view.stock_goods.values() for g in goods}
    state_set, link_set = set(states), set(links)
    options: list[SeriesOption] = []
    for var in sorted({v for e, v in pairs if e in state_set}):
        if var in SHOWN_STATE_VARIABLES or var in stock_vars or var in CODED_VARIABLES:
            continue
        name, unit = words(var)
        options.append(SeriesOption(f"state:{var}", f"{name} by state" + _unit(unit)))
    for var in sorted({v for e, v in pairs if e in link_set}):
        if var in SHOWN_LINK_VARIABLES or var in CODED_VARIABLES:
            continue
        name, unit = words(var)
        options.append(SeriesOption(f"link:{var}", f"{name} by link" + _unit(unit)))
    model_vars = sorted({v for e, v in pairs if e == "model"})
    groups: dict[str, list[str]] = {}
    for var in model_vars:
        prefix = _group_of(var)
        if prefix:
            groups.setdefault(prefix, []).append(var)
    for prefix in sorted(groups):
        name, unit = words(prefix)
        options.append(SeriesOption(f"model:{prefix}*", f"{name} between states" + _unit(unit)))
    for var in model_vars:
        if _group_of(var) is None:
            name, unit = words(var)
            options.append(SeriesOption(f"model:{var}", f"{name}, whole scenario" + _unit(unit)))
    return options


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


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


def _line(view: View, entity: str, var: str) -> list[float | None]:
    """Values of one series from day 0 to today (a copy)."""
    n = view.day + 1
    values = view.lines.get((entity, var), [])[:n]
    return values + [None] * (n - len(values))


def option_lines(view: View, key: str) -> dict[str, list[float | None]]:
    """Lines (label → values by day) of one series option."""
    kind, _, var = key.partition(":")
    states, links = _entities(view)
    if kind == "model":
        if var.endswith("*"):
            prefix = var[:-1]
            found = sorted(v for e, v in _pairs(view) if e == "model" and v.startswith(prefix))
            return {_pair(v[len(prefix) :]): _line(view, "model", v) for v in found}
        return {words(var)[0]: _line(view, "model", var)}
    names = states if kind == "state" else links
    lines = {name: _line(view, name, var) for name in names if (name, var) in view.lines}
    lines = {k: v for k, v in lines.items() if any(x is not None for x in v)}
    # many flat lines say nothing: keep the ones that move, or the first few
    moving = {k: v for k, v in lines.items() if len({x for x in v if x is not None}) > 1}
    return moving or dict(list(lines.items())[:6])


def _pair(text: str) -> str:
    return text.lstrip(".:/").replace("->", " → ") or text


def _candidates(view: View, key: str) -> list[str]:
    kind, _, var = key.partition(":")
    states, links = _entities(view)
    if kind == "state":
        return states
    if kind == "link":
        return links
    if var.endswith("*"):
        prefix = var[:-1]
        found = sorted(v for e, v in _pairs(view) if e == "model" and v.startswith(prefix))
        return [_pair(v[len(prefix) :]) for v in found]
    return [words(var)[0]]


def stock_lines(view: View) -> dict[str, list[float | None]]:
    lines = {}
    several = len(view.stock_goods) > 1
    for state, goods in view.stock_goods.items():
        for good in goods:
            label = f"{state}: {good}" if several else good
            lines[label] = _line(view, state, f"{good}_t")
    return lines


def stress_lines(view: View) -> dict[str, list[float | None]]:
    return {state: _line(view, state, "stress") for state in view.sustained}


def flow_lines(view: View) -> dict[str, list[float | None]]:
    """Tonnes carried by each link that has carried anything so far (0 shown as no point, on
    a log scale that keeps small flows visible next to big ones)."""
    _, links = _entities(view)
    lines = {}
    for link in links:
        values = _line(view, link, "carried_t")
        if any(values):
            lines[link] = [v if v else None for v in values]
    return lines


def chart_data(
    view: View, extra: Iterable[str], options: list[SeriesOption] | None = None
) -> list[ChartData]:
    """Every chart to show, with its lines (``options``: :func:`series_options`, if known)."""
    states, links = _entities(view)
    stocks = stock_lines(view)
    where = ", ".join(view.sustained) or "dependent populations"
    charts = [
        ChartData(
            "stocks",
            f"Stocks in {where} (t)",
            "t",
            stocks,
            {k: colour_of(k, list(stocks)) for k in stocks},
        ),
        ChartData(
            "stress",
            f"Humanitarian stress in {where} (0 = none, 1 = catastrophe)",
            "0–1",
            stress_lines(view),
            {k: colour_of(k, states) for k in view.sustained},
            ymax=1.0,
        ),
        ChartData(
            "flows",
            "Tonnes carried by link (t/day, log scale)",
            "t/day",
            flow_lines(view),
            {k: colour_of(k, links) for k in links},
            log=True,
        ),
    ]
    labels = {o.key: o.label for o in (series_options(view) if options is None else options)}
    for key in extra:
        if key not in labels:
            continue
        candidates = _candidates(view, key)
        lines = option_lines(view, key)
        charts.append(
            ChartData(
                key,
                labels[key],
                "",
                lines,
                {k: colour_of(k, candidates) for k in lines},
            )
        )
    return charts


def echart_option(view: View, chart: ChartData) -> dict[str, Any]:
    """The chart's layout for ECharts: title, axes over the whole period, legend below the
    plot (never over the data), one line per series with its fixed colour."""
    # the value after day N is drawn at day N's date (day 1 = the start date; day 0, the
    # state before the start, on the eve), as the header and the timeline number days
    dates = [(view.start + dt.timedelta(days=i - 1)).isoformat() for i in range(view.n_days + 1)]
    y_axis: dict[str, Any] = {
        "type": "log" if chart.log else "value",
        "name": chart.unit,
        "nameTextStyle": {"align": "left"},
        "splitLine": {"lineStyle": {"opacity": 0.3}},
        "scale": not chart.log and chart.ymax is None,
    }
    if chart.log:
        y_axis["min"] = 1
    if chart.ymax is not None:
        y_axis.update(min=0, max=chart.ymax)
    return {
        "animation": False,
        "title": {"text": chart.title, "left": 4, "top": 2, "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"type": "scroll", "bottom": 0, "left": 4, "right": 4, "itemHeight": 8},
        "grid": {"left": 56, "right": 16, "top": 44, "bottom": 62},
        "xAxis": {
            "type": "category",
            "data": dates,
            "boundaryGap": False,
            "axisLabel": {"hideOverlap": True},
        },
        "yAxis": y_axis,
        "series": [
            {
                "name": name,
                "type": "line",
                "showSymbol": False,
                "connectNulls": False,
                "color": chart.colours.get(name, PALETTE[0]),
                "lineStyle": {"width": 2},
            }
            for name in chart.lines
        ],
    }


def marks(view: View, logged: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Today (blue), scripted events (grey) and interventions (red) as vertical lines
    (``logged``: :func:`event_marks`, if known)."""
    data = list(event_marks(view) if logged is None else logged)
    data.append(
        {"xAxis": view.day_date.isoformat(), "lineStyle": {"color": "#1565c0", "type": "solid"}}
    )
    return {"symbol": "none", "silent": True, "label": {"show": False}, "data": data}


def event_marks(view: View) -> list[dict[str, Any]]:
    """Scripted events (grey) and interventions (red) as vertical lines: they change when
    the log does, not with each day."""
    data: list[dict[str, Any]] = []
    events = view.events
    if not events.empty:
        for kind, colour, dash in (
            ("event", "#9e9e9e", "dotted"),
            ("intervention", "#c62828", "dashed"),
        ):
            for date in sorted(set(events.loc[events.kind == kind, "date"])):
                data.append(
                    {"xAxis": date.isoformat(), "lineStyle": {"color": colour, "type": dash}}
                )
    return data


def split(
    values: list[list[float | None]],
) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """(base, tail): whole blocks of days, and the days since the last whole block."""
    n = max((len(v) for v in values), default=0)
    cut = max(0, (n - 1) // BLOCK_DAYS * BLOCK_DAYS)
    return [v[:cut] for v in values], [v[cut:] for v in values]


def script_paths() -> tuple[str, str]:
    """(ECharts, RequireJS) paths under Solara's ``/_solara/cdn/``, from the asset cache."""
    from corridors.app.assets import echarts_package, requirejs_package

    return f"{echarts_package().spec}/dist/echarts.min.js", f"{requirejs_package().spec}/require.js"


@solara.component_vue(str(Path(__file__).with_name("echart.vue")))
def EChart(
    option: str,
    base: str,
    tail: str,
    marks: str,
    height: int,
    script: str,
    requirejs: str,
):
    """A line chart drawn in the browser (echart.vue). Every value is JSON text: the page's
    renderer walks lists and dicts in props looking for elements, and thousands of numbers
    made a Step cost ~10 ms per chart; a string it passes over, and compares in one go."""


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


@solara.component
def Chart(view: View, chart: ChartData, today_marks: str):
    option = solara.use_memo(
        lambda: _json(echart_option(view, chart)),
        [view.scenario, view.n_days, chart.title, tuple(chart.lines), chart.log],
    )
    base, tail = split(list(chart.lines.values()))
    script, requirejs = solara.use_memo(script_paths, [])
    with solara.Column(gap="0px", classes=["corridors-chart", f"chart-{chart.key}"]):
        EChart(
            option=option,
            base=_json(base),
            tail=_json(tail),
            marks=today_marks,
            height=250,
            script=script,
            requirejs=requirejs,
        )
        if not chart.lines:
            solara.Text("no data yet", style={"font-size": "12px", "color": "#757575"})


@solara.component
def Charts(view: View):
    # the series on offer change when the model records a new one, not with each day
    options = solara.use_memo(
        lambda: series_options(view), [view.scenario, id(view.lines), len(view.lines)]
    )
    first = solara.use_memo(lambda: default_options(options), [])
    extra = solara.use_reactive(first)
    keys = {o.key for o in options}
    with solara.Column(gap="6px", classes=["corridors-charts"]):
        logged = solara.use_memo(
            lambda: event_marks(view), [view.scenario, id(view.events), len(view.events)]
        )
        today_marks = solara.use_memo(
            lambda: _json(marks(view, logged)),
            [view.scenario, id(view.events), len(view.events), view.day],
        )
        for chart in chart_data(view, [k for k in extra.value if k in keys], options):
            Chart(view, chart, today_marks)
        label_of = {o.key: o.label for o in options}
        key_of = {o.label: o.key for o in options}
        solara.SelectMultiple(
            "More charts",
            values=[label_of[k] for k in extra.value if k in keys],
            all_values=[o.label for o in options],
            on_value=lambda labels: extra.set([key_of[x] for x in labels if x in key_of]),
            dense=True,
            classes=["corridors-more-series"],
        )


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG (the compare and sweep tabs' static plots)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
