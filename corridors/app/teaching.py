"""Teaching mode: the scenario's briefing, questions and things to try; a debrief of the run
built from its event log and summary (what happened, and why)."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pandas as pd
import solara

from corridors.app.session import Session, View
from corridors.model.eventlog import EventLog

LINK_ACTIONS = frozenset({"close_link", "throttle_link", "open_link"})
ROUTINE_KINDS = EventLog.KEY_KINDS | {"stock_exhausted"}
"""Kinds the debrief's "why" treats as supply-line mechanics; others (offensives,
capitulations, guarantees, tension…) are listed with the reasons they log."""


def _text_of(item: Any) -> str:
    """A question or suggestion given as text or as a mapping (``text``, ``title``…)."""
    if isinstance(item, dict):
        for key in ("text", "question", "title", "description", "try"):
            if item.get(key):
                rest = {k: v for k, v in item.items() if k != key and v not in (None, "", [])}
                extra = "; ".join(f"{k}: {v}" for k, v in rest.items())
                return f"{item[key]}" + (f" ({extra})" if extra else "")
        return "; ".join(f"{k}: {v}" for k, v in item.items())
    return str(item)


def _list(items: list[Any], cls: str) -> str:
    return (
        f'<ul class="{cls}">'
        + "".join(f"<li>{html.escape(_text_of(i))}</li>" for i in items)
        + "</ul>"
    )


def briefing_html(meta: dict[str, Any]) -> str:
    parts = [f'<h3 style="margin:0 0 6px 0">{html.escape(meta.get("title", ""))}</h3>']
    if meta.get("description"):
        parts.append(f"<p>{html.escape(meta['description'])}</p>")
    if meta.get("briefing"):
        parts.append(
            '<h4 style="margin:8px 0 2px 0">Briefing</h4>'
            f'<p class="briefing">{html.escape(meta["briefing"])}</p>'
        )
    questions = meta.get("questions") or []
    if questions:
        parts.append('<h4 style="margin:8px 0 2px 0">Questions</h4>')
        parts.append(_list(list(questions), "questions"))
    tries = meta.get("things_to_try") or []
    if tries:
        parts.append('<h4 style="margin:8px 0 2px 0">Things to try</h4>')
        parts.append(_list(list(tries), "things-to-try"))
    if not questions and not tries:
        parts.append(
            '<p style="color:#616161">Things to try: run it to the end; then reset, close or '
            "reopen a link mid-run from the interventions panel, and compare the stock and "
            "stress charts; compare the variants in the Compare tab.</p>"
        )
    sources = meta.get("sources") or []
    if sources:
        parts.append('<h4 style="margin:8px 0 2px 0">Sources</h4>')
        parts.append(
            _list(
                [f"{s.get('title', s.get('id', ''))} ({s.get('year', '')})" for s in sources],
                "sources",
            )
        )
    return "".join(parts)


def _data(row: Any) -> dict[str, Any]:
    data = getattr(row, "data", None)
    return data if isinstance(data, dict) else {}


def debrief_items(view: View, summary: dict[str, Any]) -> dict[str, list[str]]:
    """Sections of the debrief, each a list of sentences."""
    events = view.events
    sections: dict[str, list[str]] = {}
    status = "finished" if not view.running else "so far"
    sections["Run"] = [
        f"{view.title}: {view.day} of {view.n_days} days simulated ({status}), "
        f"{view.start} to {view.date - dt.timedelta(days=1) if view.day else view.start}; "
        f"seed {view.seed}" + (f"; variants: {', '.join(view.variants)}" if view.variants else "")
    ]
    # kinds logged over and over (routine purchases, say) are counted, not listed
    counts = events.kind.value_counts() if not events.empty else pd.Series(dtype=int)
    frequent = {k for k, n in counts.items() if n > 10 and k not in ("event", "intervention")}
    notable = events[~events.kind.isin(frequent)] if not events.empty else events
    happened = [f"{r.date} (day {r.step}): {r.message}" for r in notable.head(40).itertuples()]
    if len(notable) > 40:
        happened.append(f"… and {len(notable) - 40} more in the timeline.")
    happened += [f"({counts[k]} '{k}' entries: see the timeline)" for k in sorted(frequent)]
    sections["What happened"] = happened or ["Nothing of note was logged."]
    interventions = events[events.kind == "intervention"] if not events.empty else events
    if not interventions.empty:
        sections["Your interventions"] = [
            f"{r.date} (day {r.step}): {r.message}" for r in interventions.itertuples()
        ]
    sections["Why"] = _why(view, events)
    sections["Outcomes"] = _outcomes(view, summary)
    return sections


def _why(view: View, events: pd.DataFrame) -> list[str]:
    """Tie each dependent population's first shortage to the link changes that preceded it."""
    out = []
    links = {lk["name"]: lk for lk in view.links}
    if events.empty:
        return ["No shortages: the supply lines held."]
    changes = [
        r
        for r in events.itertuples()
        if r.kind in ("event", "intervention") and _data(r).get("action") in LINK_ACTIONS
    ]
    for state in view.sustained:
        first = events[(events.kind == "shortage_start") & (events.subject == state)]
        if first.empty:
            out.append(f"{state} had no shortage: what it needed got through.")
            continue
        row = first.iloc[0]
        good = (row.data or {}).get("good", "a good") if isinstance(row.data, dict) else "a good"
        causes = [
            c
            for c in changes
            if c.date <= row.date
            and c.subject in links
            and state in (links[c.subject]["a"], links[c.subject]["b"])
        ]
        if causes:
            cause = causes[-1]
            lag = (row.date - cause.date).days
            out.append(
                f"{state} first ran short of {good} on {row.date}, {lag} days after "
                f"{cause.message[0].lower() + cause.message[1:]} — stocks bridged the gap "
                "until they ran out."
            )
        else:
            out.append(
                f"{state} first ran short of {good} on {row.date}: supply fell below need "
                "without a link change into it (look upstream: routes, transit, capacity)."
            )
    no_route = events[events.kind == "no_route"]
    for r in no_route.head(5).itertuples():
        out.append(f"{r.date}: {r.message}.")
    # decisions and their consequences (offensives, capitulations, guarantees…) log their reasons
    mechanisms = events[~events.kind.isin(ROUTINE_KINDS)]
    for r in mechanisms.head(12).itertuples():
        out.append(f"{r.date} ({r.kind}): {r.message}")
    return out or ["No shortages: the supply lines held."]


def _outcomes(view: View, summary: dict[str, Any]) -> list[str]:
    out = []
    skip = ("link.", "flow.")
    plain = ("scenario", "variants", "seed", "start", "end", "days", "events_logged")
    for key, value in summary.items():
        if key.startswith(skip) or key in plain or value in (None, "", 0, 0.0):
            continue
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        out.append(f"{key}: {shown}")
    delivered = {
        k[5:-12]: v
        for k, v in summary.items()
        if k.startswith("flow.") and k.endswith(".delivered_t")
    }
    if delivered:
        out.append(
            "delivered by flow (t): "
            + ", ".join(f"{k} {v:,.0f}" for k, v in delivered.items() if v)
        )
    return out


def debrief_html(view: View, summary: dict[str, Any]) -> str:
    parts = ['<div class="corridors-debrief-body">']
    for title, items in debrief_items(view, summary).items():
        parts.append(f'<h4 style="margin:8px 0 2px 0">{html.escape(title)}</h4>')
        parts.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")
    parts.append("</div>")
    return "".join(parts)


@solara.component
def Teaching(session: Session, view: View, changed=None):
    from corridors.app.lesson import WHAT_A_MODEL_IS, LessonFlow, cards, handout_html

    half = {"flex": "1 1 380px", "min-width": "0"}
    with solara.Row(gap="12px", style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Info(WHAT_A_MODEL_IS, dense=True, classes=["corridors-model-is"])
        solara.FileDownload(
            lambda: handout_html(session.spec),
            filename=f"{view.scenario}_handout.html",
            mime_type="text/html",
            children=[
                solara.Button(
                    "Printable handout",
                    icon_name="mdi-printer",
                    classes=["corridors-handout"],
                    outlined=True,
                )
            ],
        )
    if cards(view):
        with solara.Row(
            gap="24px",
            style={"align-items": "flex-start", "flex-wrap": "wrap"},
            classes=["corridors-teaching"],
        ):
            with solara.Column(style=half, classes=["corridors-panel"]):
                LessonFlow(session, view, changed or (lambda: None))
            with solara.Column(style=half):
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=briefing_html(view.meta),
                    classes=["corridors-brief"],
                )
    else:
        PlainTeaching(session, view)


@solara.component
def PlainTeaching(session: Session, view: View):
    """Briefing and debrief, for a scenario without lesson cards."""
    half = {"flex": "1 1 380px", "min-width": "0"}
    with solara.Row(
        gap="24px",
        style={"align-items": "flex-start", "flex-wrap": "wrap"},
        classes=["corridors-teaching"],
    ):
        with solara.Column(style=half):
            solara.HTML(
                tag="div", unsafe_innerHTML=briefing_html(view.meta), classes=["corridors-brief"]
            )
        with solara.Column(style=half, classes=["corridors-debrief"]):
            heading = "Debrief" if not view.running else "Debrief so far (the run is not over)"
            solara.Text(heading, style={"font-weight": "600", "font-size": "16px"})
            summary = solara.use_memo(session.summary, [view.version])
            solara.HTML(tag="div", unsafe_innerHTML=debrief_html(view, summary))
