"""A run's report for a class: one self-contained HTML file (plots and map inline as SVG, no
script, nothing fetched) and the same in Markdown.

It says what was run (scenario, variants, seed, sources), the key outcomes, the key events with
where each comes from (the record and its source, the scenario's assumptions, the class's
interventions, or the model and its reason), and readable plots: arms by supplier and by route,
stocks, humanitarian stress, tonnes carried by link (one panel per link, each on its own scale,
so small flows show), and a map of the supply lines at the end of the run.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from corridors.analysis.run import RunResult
from corridors.model.eventlog import EventLog
from corridors.scenarios import ScenarioError, load_scenario

ORIGIN_WORDS = {
    "record": "record",
    "scenario": "scenario assumption",
    "intervention": "intervention",
    "model": "model",
}
STATUS_COLOURS = {0: "#2e7d32", 1: "#ef6c00", 2: "#c62828"}
STATUS_WORDS = {0: "open", 1: "throttled", 2: "closed"}
ROUTINE_KINDS = frozenset({"arms_purchase", "arms_delivered", "purchase", "delivery"})

OUTCOMES = (
    ("first_shortage_date", "{state}: first shortage", "date"),
    ("shortage_days", "{state}: days in shortage", "days"),
    ("peak_stress", "{state}: peak humanitarian stress (0–1)", "share"),
    ("final_stress", "{state}: humanitarian stress at the end (0–1)", "share"),
)
WAR_OUTCOMES = (
    ("offensive_date", "Offensive began", "date"),
    ("days_of_fighting", "Days of fighting", "days"),
    ("capitulation_date", "Capitulation", "date"),
    ("ceasefire_date", "Ceasefire", "date"),
    ("displaced", "People displaced", "people"),
    ("arms_delivered_t", "Arms delivered (t)", "t"),
    ("energy_delivered", "Energy delivered (t)", "t"),
    ("delivered_t", "Goods delivered by all flows (t)", "t"),
)


class ReportError(Exception):
    """A run folder that cannot be reported on (the message says what is missing)."""


# ---------------------------------------------------------------------------- loading


def load_run(run_dir: str | Path) -> RunResult:
    """A run written by ``corridors run`` (or the app), read back from its folder."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder (give the folder `corridors run` wrote)")
    need = ("summary.json", "series.parquet", "events.jsonl", "scenario.yaml")
    gone = [name for name in need if not (folder / name).is_file()]
    if gone:
        raise ReportError(
            f"{folder}: not a run folder, {', '.join(gone)} missing "
            "(make one with: corridors run SCENARIO --out FOLDER)"
        )
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        series = pd.read_parquet(folder / "series.parquet")
        flows_path = folder / "flows.parquet"
        flows = pd.read_parquet(flows_path) if flows_path.is_file() else pd.DataFrame()
        records = [
            json.loads(line)
            for line in (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError) as exc:
        raise ReportError(f"{folder}: cannot read the run's files ({exc})") from None
    try:
        scenario = load_scenario(folder / "scenario.yaml")
    except ScenarioError as exc:
        raise ReportError(f"{folder / 'scenario.yaml'}: {exc}") from None
    events = pd.DataFrame(
        records,
        columns=["step", "date", "kind", "subject", "message", "data", "origin"],
    )
    if not events.empty:
        events["date"] = pd.to_datetime(events["date"]).dt.date
        events["origin"] = events["origin"].fillna("model")
    series["date"] = pd.to_datetime(series["date"]).dt.date
    return RunResult(summary, series, flows, events, pd.DataFrame(), scenario)


# ---------------------------------------------------------------------------- content


def _fmt(value: Any, kind: str) -> str | None:
    """A value as a reader wants it, or ``None`` when there is nothing to say."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if kind == "date":
        return str(value) if value else None
    if kind == "share":
        return f"{float(value):.2f}"
    if kind in ("days",):
        return f"{int(value):,}"
    if isinstance(value, int | float):
        return f"{float(value):,.0f}"
    return str(value)


def key_outcomes(result: RunResult) -> list[tuple[str, str]]:
    """(what, value) rows: each dependent population's shortage and stress, then the war,
    arms and energy outcomes the run records. Nothing undefined is shown."""
    summary = result.summary
    rows: list[tuple[str, str]] = []
    for state in result.scenario.states:
        for key, label, kind in OUTCOMES:
            full = f"{state.code}.{key}"
            if full not in summary:
                continue
            shown = _fmt(summary[full], kind)
            if key == "first_shortage_date" and shown is None:
                shown = "none"
            if shown is not None:
                rows.append((label.format(state=state.name), shown))
    for key, label, kind in WAR_OUTCOMES:
        shown = _fmt(summary.get(key), kind)
        if shown is not None and shown not in ("0",):
            rows.append((label, shown))
    return rows


def origin_label(row: Any) -> str:
    """Where a logged line comes from: "record (SOURCE)", "scenario assumption",
    "intervention", or "model"."""
    origin = getattr(row, "origin", None) or "model"
    data = row.data if isinstance(getattr(row, "data", None), dict) else {}
    if origin == "record":
        source = data.get("record_source") or ""
        return f"record ({source})" if source else "record"
    return ORIGIN_WORDS.get(origin, str(origin))


def key_events(result: RunResult, limit: int = 60) -> pd.DataFrame:
    """The key events in date order, without kinds logged over and over."""
    events = result.events
    if events.empty:
        return events
    key = events[events.kind.isin(EventLog.KEY_KINDS) & ~events.kind.isin(ROUTINE_KINDS)]
    counts = key.kind.value_counts()
    frequent = {k for k, n in counts.items() if n > 12 and k not in ("event", "intervention")}
    key = key[~key.kind.isin(frequent)]
    return key.head(limit)


def _run_line(result: RunResult) -> str:
    s = result.summary
    variants = s.get("variants") or ""
    parts = [f"scenario {s.get('scenario', '')}"]
    if variants:
        parts.append(f"variants: {variants.replace(',', ', ')}")
    parts.append(f"seed {s.get('seed')}")
    parts.append(f"{s.get('start')} to {s.get('end')} ({s.get('days')} days)")
    return " · ".join(parts)


# ---------------------------------------------------------------------------- plots


def _svg(fig: Figure) -> str:
    """The figure as inline SVG, its text kept as text (smaller, selectable)."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _time_axis(ax, start: dt.date, end: dt.date) -> None:
    ax.set_xlim(pd.Timestamp(start), pd.Timestamp(end))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def _event_lines(ax, result: RunResult) -> None:
    events = result.events
    if events.empty:
        return
    for kind, colour, style in (("event", "#9e9e9e", ":"), ("intervention", "#c62828", "--")):
        for date in sorted(set(events.loc[events.kind == kind, "date"])):
            ax.axvline(pd.Timestamp(date), color=colour, lw=0.8, ls=style)


def _period(result: RunResult) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(str(result.summary.get("start")))
    end = dt.date.fromisoformat(str(result.summary.get("end")))
    return start, max(end, start + dt.timedelta(days=1))


def _lines_figure(
    result: RunResult, title: str, ylabel: str, lines: dict[str, pd.Series], ylim=None
) -> Figure:
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    for label, values in lines.items():
        ax.plot(pd.to_datetime(values.index), values.to_numpy(), label=label, lw=1.8)
    _event_lines(ax, result)
    _time_axis(ax, *_period(result))
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_ylabel(ylabel, fontsize=9)
    if lines:
        # the legend beside the plot, never over the data
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _sustained(result: RunResult) -> list[str]:
    """States whose population's needs the model tracks (they have stress outcomes)."""
    return [s.name for s in result.scenario.states if f"{s.code}.peak_stress" in result.summary]


def stocks_figure(result: RunResult) -> Figure | None:
    series = result.series
    names = _sustained(result)
    data = series[
        series.entity.isin(names) & series.variable.str.match(r"^(food|fuel|medicine)_t$")
    ]
    if data.empty:
        return None
    lines = {
        f"{entity}: {var[:-2]}": g.set_index("date").value
        for (entity, var), g in data.groupby(["entity", "variable"])
    }
    return _lines_figure(result, f"Stocks in {', '.join(names)}", "tonnes", lines, (0, None))


def stress_figure(result: RunResult) -> Figure | None:
    series = result.series
    data = series[series.entity.isin(_sustained(result)) & (series.variable == "stress")]
    if data.empty:
        return None
    lines = {str(e): g.set_index("date").value for e, g in data.groupby("entity")}
    return _lines_figure(
        result, "Humanitarian stress (0 = none, 1 = catastrophe)", "stress", lines, (0, 1.02)
    )


def flows_figure(result: RunResult) -> Figure | None:
    """Tonnes carried per day by each link that carried anything, one panel per link, each
    on its own scale (a 10 t/day air bridge is as readable as a 100,000 t/day pipeline)."""
    series = result.series
    data = series[series.variable == "carried_t"]
    links = [lk.name for lk in result.scenario.links]
    used = [name for name in links if data.loc[data.entity == name, "value"].sum() > 0]
    if not used:
        return None
    cols = 3
    rows = math.ceil(len(used) / cols)
    fig = Figure(figsize=(9, 1.9 * rows + 0.5))
    start, end = _period(result)
    for i, name in enumerate(used):
        ax = fig.add_subplot(rows, cols, i + 1)
        g = data[data.entity == name]
        ax.fill_between(pd.to_datetime(g.date), g.value.to_numpy(), color="#1565c0", alpha=0.35)
        ax.plot(pd.to_datetime(g.date), g.value.to_numpy(), color="#1565c0", lw=1.2)
        _event_lines(ax, result)
        _time_axis(ax, start, end)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=4))
        ax.set_ylim(bottom=0)
        ax.set_title(f"{name} (t/day)", fontsize=9, loc="left")
    fig.suptitle("Tonnes carried by link, each on its own scale", x=0.01, ha="left", fontsize=11)
    fig.tight_layout()
    return fig


def _prefixed(summary: dict[str, Any], prefix: str) -> dict[str, float]:
    return {
        k[len(prefix) :]: float(v)
        for k, v in summary.items()
        if k.startswith(prefix) and isinstance(v, int | float) and v
    }


def arms_figure(result: RunResult) -> Figure | None:
    by_supplier = _prefixed(result.summary, "arms_delivered_by_supplier.")
    by_route = _prefixed(result.summary, "arms_delivered_by_route.")
    if not by_supplier and not by_route:
        return None
    fig = Figure(figsize=(9, 2.6))
    for i, (title, data) in enumerate(
        (("Arms delivered by supplier (t)", by_supplier), ("by route (t)", by_route))
    ):
        ax = fig.add_subplot(1, 2, i + 1)
        items = sorted(data.items(), key=lambda kv: kv[1])
        ax.barh([k for k, _ in items], [v for _, v in items], color="#6d4c41")
        for y, (_, v) in enumerate(items):
            ax.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
        ax.set_title(title, loc="left", fontsize=11)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.25)
    fig.tight_layout()
    return fig


def map_figure(result: RunResult, countries: Sequence[Any] = ()) -> Figure:
    """The supply lines at the end of the run: each link coloured by its last status and as
    wide as the tonnes it carried; states by name; country borders when installed."""
    spec = result.scenario
    pos = {s.name: (s.lon, s.lat) for s in spec.states}
    lons = [p[0] for p in pos.values()]
    lats = [p[1] for p in pos.values()]
    pad_x = max(1.0, (max(lons) - min(lons)) * 0.12)
    pad_y = max(1.0, (max(lats) - min(lats)) * 0.12)
    west, east = min(lons) - pad_x, max(lons) + pad_x
    south, north = min(lats) - pad_y, max(lats) + pad_y
    fig = Figure(figsize=(8, 5.2))
    ax = fig.add_subplot()
    ax.set_facecolor("#d7e6f2")
    tol = (east - west) / 600  # about a pixel at the size the figure is drawn
    for country in countries:
        x0, y0, x1, y1 = country.bbox
        if x1 < west or x0 > east or y1 < south or y0 > north:
            continue
        for polygon in country.polygons:
            ring = _clamped(polygon[0], west - 1, south - 1, east + 1, north + 1, tol)
            if len(ring) < 3:
                continue
            ax.fill(
                [p[0] for p in ring],
                [p[1] for p in ring],
                facecolor="#f3f0e6",
                edgecolor="#a59f94",
                lw=0.6,
            )
    series = result.series
    last = series[(series.variable == "status")]
    last_status = (
        last.sort_values("step").groupby("entity").value.last().to_dict() if not last.empty else {}
    )
    carried = {
        lk.name: float(result.summary.get(f"link.{lk.name}.carried_t", 0) or 0) for lk in spec.links
    }
    most = max(carried.values(), default=0) or 1
    for lk in spec.links:
        if lk.a not in pos or lk.b not in pos:
            continue
        (x0, y0), (x1, y1) = pos[lk.a], pos[lk.b]
        code = int(last_status.get(lk.name, 0))
        width = 1.2 + 6 * math.log10(1 + carried[lk.name]) / math.log10(1 + most)
        ax.plot(
            [x0, x1],
            [y0, y1],
            color=STATUS_COLOURS.get(code, "#455a64"),
            lw=width,
            ls=":" if lk.mode == "air" else "-",
            solid_capstyle="round",
        )
    for s in spec.states:
        x, y = pos[s.name]
        ax.plot([x], [y], "o", color="#37474f", ms=7, mec="white")
        ax.annotate(
            s.name,
            (x, y),
            xytext=(6, 4),
            textcoords="offset points",
            fontsize=10,
            fontweight="bold",
            path_effects=_halo(),
        )
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1 / math.cos(math.radians((south + north) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])
    handles = [
        matplotlib.lines.Line2D([], [], color=c, lw=4, label=STATUS_WORDS[k])
        for k, c in STATUS_COLOURS.items()
    ]
    ax.legend(
        handles=handles,
        title="status at the end; width: tonnes carried",
        fontsize=8,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )
    ax.set_title(f"Supply lines at the end of the run ({result.summary.get('end')})", loc="left")
    fig.tight_layout()
    return fig


def _clamped(ring, west, south, east, north, tol=0.0) -> list[tuple[float, float]]:
    """A ring with the points outside the box moved onto its edge (the part in view is
    unchanged, and the file does not carry the rest of a large country) and points closer than
    ``tol`` to the last one dropped."""
    out: list[tuple[float, float]] = []
    for x, y in ring:
        point = (min(max(x, west), east), min(max(y, south), north))
        if not out or abs(out[-1][0] - point[0]) + abs(out[-1][1] - point[1]) > tol:
            out.append(point)
    return out


def _halo():
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=3, foreground="white")]


def figures(result: RunResult, countries: Sequence[Any] = ()) -> list[tuple[str, Figure]]:
    out = [
        ("Map", map_figure(result, countries)),
        ("Arms", arms_figure(result)),
        ("Stocks", stocks_figure(result)),
        ("Humanitarian stress", stress_figure(result)),
        ("Flows by link", flows_figure(result)),
    ]
    return [(title, fig) for title, fig in out if fig is not None]


# ---------------------------------------------------------------------------- writing

CSS = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 24px auto; padding: 0 16px;
       color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { margin-top: 28px; border-bottom: 1px solid #ddd; }
.run { color: #555; } table { border-collapse: collapse; width: 100%; font-size: 14px; }
td, th { border-bottom: 1px solid #e5e5e5; padding: 4px 6px; text-align: left;
         vertical-align: top; }
.origin { white-space: nowrap; font-size: 12px; color: #37474f; }
.origin-intervention { color: #c62828; } .origin-record { color: #1565c0; }
figure { margin: 12px 0; } figure svg { max-width: 100%; height: auto; }
@media print { h2 { page-break-after: avoid; } figure { page-break-inside: avoid; } }
"""


def _li(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in items) + "</ul>"


def report_html(result: RunResult, countries: Sequence[Any] = ()) -> str:
    meta = result.scenario.meta
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(meta.title)} — run report</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(meta.title)}</h1><p class='run'>{esc(_run_line(result))}</p>",
    ]
    if meta.description:
        parts.append(f"<p>{esc(meta.description)}</p>")
    if meta.briefing:
        parts.append(f"<h2>Briefing</h2><p>{esc(meta.briefing)}</p>")
    parts.append("<h2>Key outcomes</h2><table class='outcomes'>")
    parts += [f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in key_outcomes(result)]
    parts.append("</table>")
    parts.append(
        "<h2>Key events</h2><p>Each line says where it comes from: the <b>record</b> (with its "
        "source), an assumption of the <b>scenario</b>, an <b>intervention</b> made during the "
        "run, or the <b>model</b> (with the reason it gives).</p>"
        "<table class='events'><tr><th>date</th><th>day</th><th>what happened, and why</th>"
        "<th>from</th></tr>"
    )
    for row in key_events(result).itertuples():
        origin = getattr(row, "origin", "model") or "model"
        parts.append(
            f"<tr class='ev ev-{esc(row.kind)}'><td style='white-space:nowrap'>{row.date}</td>"
            f"<td>{row.step}</td><td>{esc(row.message)}</td>"
            f"<td class='origin origin-{esc(origin)}'>{esc(origin_label(row))}</td></tr>"
        )
    parts.append("</table>")
    for title, fig in figures(result, countries):
        slug = title.lower().replace(" ", "-")
        parts.append(f"<h2>{esc(title)}</h2><figure class='plot plot-{slug}'>{_svg(fig)}</figure>")
    lesson = meta.lesson
    if lesson and lesson.leaves_out:
        parts.append("<h2>What the model leaves out</h2>" + _li(lesson.leaves_out))
    if meta.sources:
        parts.append("<h2>Sources</h2><ul class='sources'>")
        for s in meta.sources:
            year = f" ({s.year})" if s.year else ""
            url = f" — {esc(s.url)}" if s.url else ""
            parts.append(f"<li>{esc(s.title)}{esc(year)}{url}</li>")
        parts.append("</ul>")
    parts.append(
        "<p class='run' style='margin-top:32px;font-size:12px'>Made by Corridors, a simulation: "
        "a model's outcomes are what its assumptions imply, not a forecast.</p></body></html>"
    )
    return "".join(parts)


def report_markdown(result: RunResult) -> str:
    meta = result.scenario.meta
    lines = [f"# {meta.title}", "", _run_line(result), ""]
    if meta.description:
        lines += [" ".join(meta.description.split()), ""]
    if meta.briefing:
        lines += ["## Briefing", "", meta.briefing.strip(), ""]
    lines += ["## Key outcomes", "", "| outcome | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in key_outcomes(result)]
    lines += ["", "## Key events", "", "| date | day | what happened, and why | from |"]
    lines.append("|---|---|---|---|")
    for row in key_events(result).itertuples():
        message = str(row.message).replace("|", "\\|")
        lines.append(f"| {row.date} | {row.step} | {message} | {origin_label(row)} |")
    if meta.sources:
        lines += ["", "## Sources", ""]
        lines += [f"- {s.title}" + (f" ({s.year})" if s.year else "") for s in meta.sources]
    lines += ["", "Plots and the map are in the HTML report.", ""]
    return "\n".join(lines)


def write_report(
    result: RunResult, html_path: str | Path, countries: Sequence[Any] = ()
) -> list[Path]:
    """Write the HTML report and its Markdown twin (same name, ``.md``); returns both paths."""
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(report_html(result, countries), encoding="utf-8")
    md_path = html_path.with_suffix(".md")
    md_path.write_text(report_markdown(result), encoding="utf-8")
    return [html_path, md_path]
