"""The lesson flow: a scenario's lesson cards (briefing → predict → run → intervene → debrief),
the class's predictions kept with the session, and a debrief that puts the prediction, the run
and the record side by side, key events first. Also the printable handout."""

from __future__ import annotations

import html
import math
from typing import Any

import solara

from corridors.app.session import Session, View
from corridors.model.eventlog import EventLog
from corridors.scenarios import Scenario

STAGES = ("briefing", "predict", "run", "intervene", "debrief")
MAX_PREDICTION = 300
"""Characters kept of a recorded prediction."""
STAGE_WORDS = {
    "briefing": "Briefing",
    "predict": "Predict",
    "run": "Run",
    "intervene": "Intervene",
    "debrief": "Debrief",
}
WHAT_A_MODEL_IS = (
    "A model is a small, explicit set of assumptions — stocks, daily needs, roads and their "
    "capacity, who decides what and when — played forward one day at a time, so that you can "
    "see what those assumptions lead to and change them. It is not a forecast, and it is not "
    "the record of what happened: when the run and the record differ, question the "
    "assumptions. Figures taken from the record carry their sources; everything else is an "
    "assumption, marked as such."
)
ORIGIN_WORDS = {
    "record": "record",
    "scenario": "scenario assumption",
    "intervention": "your intervention",
    "model": "model",
}
ROUTINE = frozenset({"tension", "event_skipped"})
"""Key kinds left out of the debrief's first list (they are in the timeline)."""


def cards(view: View) -> list[dict[str, Any]]:
    lesson = view.meta.get("lesson") or {}
    return list(lesson.get("cards") or [])


def _finite(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


def run_value(summary: dict[str, Any], metric: str, running: bool) -> str:
    """What the run says about ``metric``, in words (never "nan")."""
    value = summary.get(metric)
    if value is None or value == "" or not _finite(value):
        return "not yet (the run is not over)" if running else "did not happen in this run"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def record_for(spec: Scenario, metric: str) -> tuple[str, str] | None:
    """What the record says about ``metric`` (from the scenario's targets) and its source."""
    for target in spec.targets or ():
        if target.metric != metric:
            continue
        if metric.endswith("_date") and target.date:
            return target.date.isoformat(), target.source
        return f"{target.value:,.10g}", target.source
    return None


def comparison(
    spec: Scenario, cards_: list[dict[str, Any]], predictions: dict[str, str], summary, running
) -> list[dict[str, str]]:
    """One row per predict card with a metric: the class's prediction, the run, the record."""
    rows = []
    for i, card in enumerate(cards_):
        if card.get("stage") != "predict" or not card.get("question"):
            continue
        metric = card.get("metric")
        record = record_for(spec, metric) if metric else None
        rows.append(
            {
                "question": card["question"],
                "predicted": predictions.get(str(i), "") or "(no prediction recorded)",
                "run": run_value(summary, metric, running) if metric else "—",
                "record": f"{record[0]} ({record[1]})"
                if record and record[1]
                else (record[0] if record else "—"),
            }
        )
    return rows


def key_events(view: View, limit: int = 12) -> list[dict[str, str]]:
    """The key events of the run so far, oldest first, each with where it comes from."""
    events = view.events
    if events.empty:
        return []
    key = events[events.kind.isin(EventLog.KEY_KINDS) & ~events.kind.isin(ROUTINE)]
    out = []
    for row in key.head(limit).itertuples():
        origin = getattr(row, "origin", "model") or "model"
        data = row.data if isinstance(row.data, dict) else {}
        label = ORIGIN_WORDS.get(origin, origin)
        if origin == "record" and data.get("record_source"):
            label = f"record ({data['record_source']})"
        out.append(
            {"date": str(row.date), "day": str(row.step), "text": row.message, "from": label}
        )
    return out


def _ul(items, cls: str = "") -> str:
    return (
        f'<ul class="{cls}">' + "".join(f"<li>{html.escape(str(i))}</li>" for i in items) + "</ul>"
    )


def handout_html(spec: Scenario) -> str:
    """A printable page for students: the briefing, what to predict (with room to write), the
    questions, the places and terms, and what the model leaves out. Self-contained."""
    meta = spec.meta
    esc = html.escape
    lesson = meta.lesson
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(meta.title)} — handout</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:800px;margin:24px auto;padding:0 16px;"
        "line-height:1.5}h1{font-size:24px}.blank{border-bottom:1px solid #999;height:28px;"
        "margin:4px 0 12px}@media print{body{margin:0}}",
        "</style></head><body>",
        f"<h1>{esc(meta.title)}</h1>",
    ]
    if meta.description:
        parts.append(f"<p>{esc(meta.description)}</p>")
    if meta.briefing:
        parts.append(f"<h2>Briefing</h2><p>{esc(meta.briefing)}</p>")
    if lesson and lesson.objectives:
        parts.append("<h2>What you will learn</h2>" + _ul(lesson.objectives))
    parts.append(f"<h2>What a model is, and is not</h2><p>{esc(WHAT_A_MODEL_IS)}</p>")
    predict = [c for c in (lesson.cards if lesson else []) if c.stage == "predict" and c.question]
    if predict:
        parts.append("<h2>Predict before you run</h2>")
        for card in predict:
            parts.append(f"<p class='predict'><b>{esc(card.question)}</b></p>")
            if card.choices:
                parts.append(
                    "<ul class='choices'>"
                    + "".join(f"<li>☐ {esc(c)}</li>" for c in card.choices)
                    + "</ul>"
                )
            else:
                parts.append("<div class='blank'></div>")
    if meta.questions:
        parts.append("<h2>Questions</h2><ol class='questions'>")
        for q in meta.questions:
            parts.append(f"<li>{esc(q)}<div class='blank'></div></li>")
        parts.append("</ol>")
    if lesson and lesson.places:
        parts.append("<h2>Places</h2><ul>")
        for p in lesson.places:
            names = "; ".join(f"{side}: {name}" for side, name in p.names.items())
            parts.append(
                f"<li><b>{esc(p.name)}</b>" + (f" ({esc(names)})" if names else "") + "</li>"
            )
        parts.append("</ul>")
    if meta.glossary:
        parts.append("<h2>Words the sides use differently</h2><ul>")
        for g in meta.glossary:
            framings = "; ".join(f"{side}: {word}" for side, word in g.framings.items())
            parts.append(f"<li><b>{esc(g.term)}</b>: {esc(framings)}</li>")
        parts.append("</ul>")
    if lesson and lesson.leaves_out:
        parts.append("<h2>What the model leaves out</h2>" + _ul(lesson.leaves_out))
    parts.append("</body></html>")
    return "".join(parts)


# ---------------------------------------------------------------------------- the flow


def _table(rows: list[dict[str, str]], columns: list[tuple[str, str]], cls: str) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(r[key])}</td>" for key, _ in columns) + "</tr>"
        for r in rows
    )
    return (
        f'<table class="{cls}" style="border-collapse:collapse;width:100%;font-size:13px">'
        f'<tr style="text-align:left;color:#555">{head}</tr>{body}</table>'
    )


def debrief_html(session: Session, view: View, summary: dict[str, Any]) -> str:
    rows = comparison(session.spec, cards(view), session.predictions, summary, bool(view.running))
    parts = []
    events = key_events(view)
    parts.append("<h4 style='margin:6px 0 2px'>Key events</h4>")
    if events:
        parts.append(
            _table(
                events,
                [
                    ("date", "date"),
                    ("day", "day"),
                    ("text", "what happened, and why"),
                    ("from", "from"),
                ],
                "lesson-key-events",
            )
        )
    else:
        parts.append("<p>No key events yet: run the scenario first.</p>")
    if rows:
        parts.append("<h4 style='margin:10px 0 2px'>Your prediction, the run, the record</h4>")
        parts.append(
            _table(
                rows,
                [
                    ("question", "question"),
                    ("predicted", "the class predicted"),
                    ("run", "this run"),
                    ("record", "the record (source)"),
                ],
                "lesson-comparison",
            )
        )
    return "".join(parts)


@solara.component
def LessonDebrief(session: Session, view: View):
    summary = solara.use_memo(session.summary, [view.version])
    solara.HTML(
        tag="div",
        unsafe_innerHTML=debrief_html(session, view, summary),
        classes=["lesson-debrief"],
    )


@solara.component
def LessonFlow(session: Session, view: View, changed):
    cards_ = cards(view)
    index = min(max(session.lesson_card, 0), len(cards_) - 1)
    card = cards_[index]
    answer = solara.use_reactive(session.predictions.get(str(index), ""))
    redraw = solara.use_reactive(0)  # the card and the predictions live in the session
    _ = redraw.value
    stage = card.get("stage", "briefing")
    ready = isinstance(answer.value, str) and bool(answer.value.strip())

    def go(to: int) -> None:
        session.lesson_card = min(max(to, 0), len(cards_) - 1)
        answer.set(session.predictions.get(str(session.lesson_card), ""))
        redraw.set(redraw.value + 1)

    def record() -> None:
        # the answer comes from the browser: a string, bounded, one of the card's choices
        # when it has choices; anything else is not recorded
        value = answer.value
        if not isinstance(value, str):
            answer.set("")
            return
        value = value.strip()[:MAX_PREDICTION]
        choices = list(card.get("choices") or [])
        if value and (not choices or value in choices):
            session.predictions[str(index)] = value
            redraw.set(redraw.value + 1)

    with solara.Column(gap="6px", classes=["corridors-lesson"]):
        with solara.Row(gap="4px", style={"flex-wrap": "wrap"}):
            for i, s in enumerate(STAGES):
                current = s == stage
                solara.Text(
                    f"{i + 1} {STAGE_WORDS[s]}",
                    classes=["lesson-stage"] + (["lesson-stage-current"] if current else []),
                    style={
                        "padding": "2px 8px",
                        "border-radius": "10px",
                        "background": "#1565c0" if current else "#e3f2fd",
                        "color": "#fff" if current else "#1565c0",
                        "font-size": "13px",
                    },
                )
        # Back and Next above the card: they stay put whatever the card holds (below it they
        # moved as a card's content changed, and a quick click could land beside them)
        with solara.Row(gap="8px", style={"align-items": "center"}):
            solara.Button(
                "Back",
                on_click=lambda: go(index - 1),
                disabled=index == 0,
                classes=["lesson-back"],
            )
            solara.Text(f"card {index + 1} of {len(cards_)}", classes=["lesson-position"])
            solara.Button(
                "Next",
                on_click=lambda: go(index + 1),
                disabled=index >= len(cards_) - 1,
                color="primary",
                classes=["lesson-next"],
            )
        solara.Text(
            card.get("title", ""),
            style={"font-size": "20px", "font-weight": "600"},
            classes=["lesson-card-title"],
        )
        if card.get("text"):
            solara.Text(card["text"], style={"font-size": "16px"}, classes=["lesson-card-text"])
        if stage == "predict" and card.get("question"):
            solara.Text(card["question"], style={"font-weight": "600", "font-size": "16px"})
            choices = list(card.get("choices") or [])
            if choices:
                solara.ToggleButtonsSingle(
                    value=answer.value or None,
                    values=choices,
                    on_value=lambda v: answer.set(v or ""),
                    # not mandatory: Vuetify would otherwise select the first choice itself,
                    # and a prediction nobody made could be recorded
                    mandatory=False,
                    classes=["lesson-choices"],
                )
            else:
                solara.InputText(
                    "The class's answer",
                    value=answer,
                    continuous_update=True,
                    classes=["lesson-answer"],
                )
            solara.Button(
                "Record the class's prediction",
                on_click=record,
                disabled=not ready,
                color="primary",
                classes=["lesson-record"],
            )
            saved = session.predictions.get(str(index))
            if saved:
                solara.Success(f"Recorded: {saved}", dense=True, classes=["lesson-recorded"])
        if stage == "run":
            solara.Text(
                f"Use Step or Play on the left; the Run tab shows the map and charts. "
                f"Now: day {view.day} of {view.n_days}.",
                style={"color": "#555"},
            )
        if stage == "debrief":
            LessonDebrief(session, view)
        prompts = card.get("prompts") or []
        if prompts:
            solara.HTML(tag="div", unsafe_innerHTML="<b>To discuss</b>" + _ul(prompts))
