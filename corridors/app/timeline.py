"""The timeline: the event log with its reasons, newest first, up to the current day, and the
scripted events still to come."""

from __future__ import annotations

import html

import solara

from corridors.app.session import View
from corridors.model.eventlog import EventLog

KIND_COLOURS = {
    "intervention": "#c62828",
    "event": "#1565c0",
    "shortage_start": "#ef6c00",
    "stock_exhausted": "#ef6c00",
    "stress_alert": "#ad1457",
    "no_route": "#6d4c41",
    "route_restored": "#2e7d32",
    "capacity_limited": "#8d6e63",
    "capacity_restored": "#2e7d32",
    "shortage_end": "#2e7d32",
    "offensive": "#b71c1c",
    "capitulation": "#4a148c",
    "control": "#4a148c",
    "displacement": "#5d4037",
    "guarantee": "#283593",
    "tension": "#f9a825",
    "demand": "#00695c",
}


def _badge(kind: str) -> str:
    colour = KIND_COLOURS.get(kind, "#546e7a")
    return (
        f'<span class="kind" style="background:{colour};color:#fff;border-radius:3px;'
        f'padding:0 5px;font-size:11px;white-space:nowrap">{html.escape(kind)}</span>'
    )


def timeline_html(view: View, key_only: bool = False, limit: int = 200) -> str:
    """The log as an HTML table (newest first) and the upcoming scripted events."""
    events = view.events
    if key_only and not events.empty:
        events = events[events.kind.isin(EventLog.KEY_KINDS)]
    rows = []
    today = view.date
    for entry in events.iloc[::-1].head(limit).itertuples():
        latest = entry.date >= today - _one_day()
        style = "background:#fff8e1;" if latest else ""
        rows.append(
            f'<tr class="tl-row tl-{html.escape(entry.kind)}" data-kind="{html.escape(entry.kind)}"'
            f' data-step="{entry.step}" style="{style}">'
            f'<td style="white-space:nowrap;vertical-align:top">{entry.date}</td>'
            f'<td style="text-align:right;vertical-align:top">{entry.step}</td>'
            f'<td style="vertical-align:top">{_badge(entry.kind)}</td>'
            f"<td>{html.escape(entry.message)}</td></tr>"
        )
    if not rows:
        rows.append('<tr><td colspan="4" style="color:#757575">nothing logged yet</td></tr>')
    upcoming = "".join(
        f'<li class="tl-upcoming">{ev["date"]}: {html.escape(ev["action"])} '
        f"{html.escape(ev['subject'])}"
        + (f" — {html.escape(ev['reason'])}" if ev["reason"] else "")
        + "</li>"
        for ev in view.upcoming[:5]
    )
    head = (
        f'<div class="tl-now" style="font-weight:500;margin-bottom:4px">Day {view.day} of '
        f"{view.n_days} · {view.date}</div>"
    )
    table = (
        '<table class="corridors-timeline-table" style="border-collapse:collapse;width:100%;'
        'font-size:12px"><thead><tr style="text-align:left;color:#616161">'
        "<th>date</th><th>day</th><th>kind</th><th>what happened, and why</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    coming = (
        '<div style="margin-top:6px;font-size:12px;color:#616161">Scheduled next:'
        f'<ul style="margin:2px 0 0 0">{upcoming}</ul></div>'
        if upcoming
        else ""
    )
    return head + table + coming


def _one_day():
    import datetime as dt

    return dt.timedelta(days=1)


@solara.component
def Timeline(view: View):
    key_only = solara.use_reactive(False)
    with solara.Column(gap="2px", classes=["corridors-timeline"]):
        with solara.Row(justify="space-between", style={"align-items": "center"}):
            solara.Text("Timeline", style={"font-weight": "600"})
            solara.Checkbox(label="key events only", value=key_only)
        solara.HTML(
            tag="div",
            unsafe_innerHTML=timeline_html(view, key_only.value),
            style="max-height:300px;overflow-y:auto",
            classes=["corridors-timeline-body"],
        )
