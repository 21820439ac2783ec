"""Scenario picker, run controls (reset, step, play/pause, speed), interventions and inspector."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import solara

from corridors.app import actions, limits
from corridors.app.errors import guarded
from corridors.app.session import Session, View, parse_overrides

SPEEDS = {"1 day": 1, "2 days": 2, "1 week": 7, "2 weeks": 14, "1 month": 30}
"""Days simulated per Step click and per play tick."""
PLAY_INTERVAL_S = 0.02
"""Pause between play ticks. Each tick also waits until the page has drawn its day, so the
pace is set by drawing (about 10 days a second or more with the browser-side charts: the
304-day default plays in under 40 s)."""


@solara.component
def ScenarioPanel(session: Session, title: str, on_change: Callable[[], None]):
    """Pick a scenario and its variants, the seed, the number of days and overrides. Every
    value the browser sends is checked by the session's catalog and :mod:`limits`. It takes
    no day's data, so a Step does not redraw it."""
    catalog = session.catalog
    error = solara.use_reactive("")
    uploaded = solara.use_reactive(0)  # re-render once an upload joins the catalog
    overrides_text = solara.use_reactive(
        "\n".join(f"{k}={v}" for k, v in session.overrides.items())
    )
    _ = uploaded.value
    show = guarded(error.set)

    @show
    def apply(**changes: Any) -> None:
        settings = {
            "scenario": session.scenario,
            "variants": session.variants,
            "seed": session.seed,
            "days": session.days,
            "overrides": session.overrides,
            **changes,
        }
        if settings["scenario"] != session.scenario:
            settings["variants"] = ()
        try:
            session.configure(**settings)
            error.set("")
        finally:
            on_change()

    @show
    def upload(info: Any) -> None:
        if not isinstance(info, dict) or not callable(getattr(info.get("file_obj"), "read", None)):
            raise limits.LimitError("upload: no file received")
        scenario_id = catalog.add_upload(info.get("name"), info.get("size"), info["file_obj"].read)
        uploaded.set(uploaded.value + 1)
        apply(scenario=scenario_id)

    @show
    def apply_overrides(text: str) -> None:
        overrides_text.set(limits.check_text("overrides", text, limits.MAX_OVERRIDE_TEXT))
        apply(overrides=parse_overrides(text))

    scenario_ids = catalog.scenario_ids()
    variants = catalog.variant_ids(session.scenario)
    with solara.Column(gap="2px", classes=["corridors-scenario"]):
        solara.Select(
            "Scenario",
            values=scenario_ids,
            value=session.scenario if session.scenario in scenario_ids else None,
            on_value=lambda name: apply(scenario=name),
            dense=True,
            classes=["corridors-scenario-select"],
        )
        solara.Text(
            title,
            style={"font-weight": "600", "font-size": "14px", "margin": "2px 0 10px 0"},
        )
        solara.FileDrop(
            label="…or drop a scenario file (.yaml) here",
            on_file=upload,
            lazy=True,
        )
        if variants:
            solara.SelectMultiple(
                "Variants (counterfactuals)",
                values=list(session.variants),
                all_values=variants,
                on_value=lambda vs: apply(variants=tuple(vs)),
                dense=True,
                classes=["corridors-variants"],
            )
        with solara.Row(gap="6px"):
            solara.InputInt(
                "Seed",
                value=session.seed,
                on_value=lambda s: apply(seed=s or 0),
                dense=True,
                classes=["corridors-seed"],
            )
            solara.InputInt(
                "Days (empty: all)",
                value=session.days,
                optional=True,
                on_value=lambda d: apply(days=d or None),
                dense=True,
                classes=["corridors-days"],
            )
        with solara.Column(gap="0px", classes=["corridors-overrides"]):
            solara.InputTextArea(
                "Changed numbers, one per line (e.g. links.lachin.capacity_t_per_day=400)",
                value=overrides_text.value,
                on_value=apply_overrides,
                rows=2,
                continuous_update=False,
            )
        if error.value:
            solara.Error(error.value, dense=True, classes=["corridors-scenario-error"])


@solara.component
def RunControls(session: Session, view: View, on_change: Callable[[], None]):
    """Reset, step, play/pause, run to the end, and speed (days per step)."""
    playing = solara.use_reactive(False)
    speed = solara.use_reactive("1 day")

    def loop(cancel: threading.Event) -> None:
        # one step, then wait until the page has drawn it: playing never outruns drawing
        while session.playing and session.running and not cancel.is_set():
            if not session.play_step(SPEEDS.get(speed.value, 1)):
                break
            on_change()
            session.wait_shown()
            if cancel.wait(PLAY_INTERVAL_S):
                return
        if not session.running:
            session.set_playing(False)
            playing.set(False)

    solara.use_thread(loop, dependencies=[playing.value], intrusive_cancel=False)

    def play_pause() -> None:
        session.set_playing(not playing.value)
        playing.set(not playing.value)

    def reset() -> None:
        session.set_playing(False)
        playing.set(False)
        session.reset()
        on_change()

    def step() -> None:
        session.step(SPEEDS.get(speed.value, 1))
        on_change()

    def to_end() -> None:
        session.set_playing(False)
        playing.set(False)
        session.run_to_end()
        on_change()

    with solara.Column(gap="4px", classes=["corridors-run-controls"]):
        with solara.Row(gap="4px", style={"flex-wrap": "wrap", "row-gap": "6px"}):
            solara.Button(
                "Reset", on_click=reset, outlined=True, small=True, classes=["corridors-reset"]
            )
            solara.Button(
                "Step",
                on_click=step,
                disabled=playing.value or not view.running,
                color="primary",
                small=True,
                classes=["corridors-step"],
            )
            solara.Button(
                "Pause" if playing.value else "Play",
                on_click=play_pause,
                disabled=not view.running and not playing.value,
                color="primary",
                small=True,
                classes=["corridors-play"],
            )
            solara.Button(
                "To end",
                on_click=to_end,
                disabled=not view.running,
                outlined=True,
                small=True,
                classes=["corridors-to-end"],
            )
        solara.Select(
            "Speed (days per step)",
            values=list(SPEEDS),
            value=speed,
            dense=True,
            classes=["corridors-speed"],
            style={"margin-top": "10px"},
        )
        progress = 100 * view.day / max(view.n_days, 1)
        solara.ProgressLinear(value=progress, color="primary")
        solara.Text(
            view.day_label + ("" if view.running else " · finished"),
            classes=["corridors-day"],
            style={"font-size": "13px"},
        )


@dataclass(frozen=True)
class FormChoices:
    """What the interventions form offers: names that change with the scenario, not with the
    day, so that a Step leaves the form alone (equal arguments: no re-render)."""

    scenario: str
    links: tuple[str, ...]
    states: tuple[str, ...]
    sustained: tuple[str, ...]
    running: bool


def form_choices(view: View) -> FormChoices:
    return FormChoices(
        scenario=view.scenario,
        links=tuple(lk["name"] for lk in view.links),
        states=tuple(s["name"] for s in view.states),
        sustained=tuple(view.sustained),
        running=view.running,
    )


def _default(field: actions.FieldSpec, choices: FormChoices, selected: str | None) -> Any:
    kind, _, name = (selected or "").partition(":")
    links, states = choices.links, choices.states
    if field.kind == "link":
        return name if kind == "link" and name in links else (links[0] if links else None)
    if field.kind == "state":
        if kind == "state" and name in states and field.name == "state":
            return name
        if field.name == "to" and choices.sustained:
            return choices.sustained[0]
        return states[0] if states else None
    if field.kind == "fraction":
        return 0.1 if field.default is None else field.default
    if field.kind == "choice":
        return field.default if field.default is not None else field.choices[0]
    return field.default


@solara.component
def FieldInput(
    field: actions.FieldSpec,
    value: Any,
    on_value: Callable[[Any], None],
    choices: FormChoices,
    paths,
):
    label = field.label
    cls = [f"corridors-field-{field.name}"]
    if field.kind == "link":
        solara.Select(label, list(choices.links), value, on_value, dense=True, classes=cls)
    elif field.kind == "state":
        solara.Select(label, list(choices.states), value, on_value, dense=True, classes=cls)
    elif field.kind == "choice":
        solara.Select(label, list(field.choices), value, on_value, dense=True, classes=cls)
    elif field.kind == "multi":
        solara.SelectMultiple(
            f"{label} (empty: all)",
            values=list(value or []),
            all_values=list(field.choices),
            on_value=on_value,
            dense=True,
            classes=cls,
        )
    elif field.kind == "fraction":
        solara.SliderFloat(
            f"{label} (share of capacity)",
            value=float(value or 0.0),
            on_value=on_value,
            min=0.0,
            max=1.0,
            step=0.01,
            thumb_label="always",
        )
    elif field.kind == "bool":
        solara.Checkbox(label=label, value=bool(value), on_value=on_value)
    elif field.kind == "integer":
        solara.InputInt(label, value=value or 0, on_value=on_value, dense=True, classes=cls)
    elif field.kind == "number":
        solara.InputFloat(label, value=value or 0.0, on_value=on_value, dense=True, classes=cls)
    elif field.kind == "path":
        solara.Select(label, paths, value, on_value, dense=True, classes=cls)
    elif field.kind == "list":
        solara.InputText(
            f"{label} (comma-separated)",
            value=", ".join(value) if isinstance(value, list) else (value or ""),
            on_value=on_value,
            dense=True,
            classes=cls,
        )
    else:
        solara.InputText(
            label,
            value="" if value is None else str(value),
            on_value=on_value,
            dense=True,
            classes=cls,
        )


def check_values(spec: actions.ActionSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The form's values, each of a plain type and size (a tampered widget can send any JSON);
    the schema and the model check what they mean."""
    out: dict[str, Any] = {}
    for f in spec.fields:
        value = values.get(f.name)
        if isinstance(value, str):
            limit = limits.MAX_VALUE_TEXT if f.kind in ("value", "list") else limits.MAX_TEXT
            limits.check_text(f.label, value, limit)
        elif isinstance(value, list):
            if len(value) > max(len(f.choices), 100):
                raise limits.LimitError(f"{f.label}: too many items")
            for item in value:
                if not isinstance(item, str | int | float):
                    raise limits.LimitError(f"{f.label}: expected plain values")
                limits.check_text(f.label, str(item), limits.MAX_TEXT)
        elif value is not None and not isinstance(value, int | float | bool):
            raise limits.LimitError(f"{f.label}: expected a plain value")
        out[f.name] = value
    return out


@solara.component
def InterventionPanel(
    session: Session, choices: FormChoices, selected: str | None, on_change: Callable[[], None]
):
    """Any event the schema offers, applied now with ``model.intervene``. It takes the
    scenario's names, not the day's data: a Step does not redraw it."""
    specs = actions.event_actions()
    by_label = {a.label: a for a in specs}
    action_label = solara.use_reactive(specs[0].label)
    edits = solara.use_reactive({})
    reason = solara.use_reactive("")
    message = solara.use_reactive(("", ""))
    spec = by_label.get(action_label.value, specs[0])
    paths = solara.use_memo(
        lambda: actions.parameter_paths(session.spec), [choices.scenario, id(session.spec)]
    )

    values = {f.name: edits.value.get(f.name, _default(f, choices, selected)) for f in spec.fields}
    if "path" in values and values["path"] is None and paths:
        values["path"] = paths[0]

    def choose_action(label: str) -> None:
        action_label.set(label)
        edits.set({})

    def set_field(name: str, value: Any) -> None:
        edits.set({**edits.value, name: value})

    @guarded(lambda text: message.set(("error", text)))
    def apply() -> None:
        try:
            text = limits.check_text("reason", reason.value, limits.MAX_REASON)
            event = actions.build_event(
                spec.action, check_values(spec, values), reason=text or "intervention in the app"
            )
            entry = session.intervene(event)
            # the form keeps what was chosen: a second Apply acts on the same link
            message.set(("ok", f"Day {entry.step}: {entry.message}"))
        finally:
            on_change()

    with solara.Column(gap="2px", classes=["corridors-interventions"]):
        solara.Text("Interventions", style={"font-weight": "600"})
        solara.Select(
            "Action",
            values=list(by_label),
            value=spec.label,
            on_value=choose_action,
            dense=True,
            classes=["corridors-action"],
        )
        if spec.doc:
            solara.Text(spec.doc, style={"font-size": "12px", "color": "#616161"})
        for f in spec.fields:
            FieldInput(
                f,
                values.get(f.name),
                lambda v, name=f.name: set_field(name, v),
                choices,
                paths,
            ).key(f"{spec.action}-{f.name}")
        solara.InputText(
            "Reason (shown in the timeline)", value=reason, dense=True, continuous_update=True
        )
        solara.Button(
            "Apply now",
            on_click=apply,
            color="error",
            disabled=not choices.running,
            classes=["corridors-apply"],
        )
        kind, text = message.value
        if kind == "ok":
            solara.Success(text, dense=True, classes=["corridors-intervention-ok"])
        elif kind == "error":
            solara.Error(text, dense=True, classes=["corridors-intervention-error"])


UNIT_SUFFIXES = (
    ("_t_per_day", "t/day"),
    ("_people_per_day", "people/day"),
    ("_usd_m", "US$ million"),
    ("_km", "km"),
    ("_t", "t"),
)
"""Name endings that are units: ``stock_t`` reads "stock (t)"."""
ROLE_WORDS = {"sovereign": "state", "de_facto": "de facto state", "exclave": "exclave"}


def readable_key(key: str) -> str:
    """An attribute's name in words with its unit, e.g. ``need_t_per_day`` → "need (t/day)"."""
    for suffix, unit in UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return f"{key[: -len(suffix)].replace('_', ' ')} ({unit})"
    return key.replace("_", " ")


def readable_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, dict):
        return ", ".join(
            f"{readable_key(str(k))}: {v:,.2f}"
            if isinstance(v, float)
            else f"{readable_key(str(k))}: {readable_value(v)}"
            for k, v in value.items()
        )
    if isinstance(value, list):
        return ", ".join(readable_value(v) for v in value)
    if isinstance(value, str):
        return value.replace("_", " ")
    return str(value)


def _rows(items: dict[str, Any]) -> str:
    out = [
        f'<tr><th style="text-align:left;padding-right:8px;vertical-align:top;'
        f'font-weight:500;color:#555">{html.escape(readable_key(key))}</th>'
        f"<td>{html.escape(readable_value(value))}</td></tr>"
        for key, value in items.items()
    ]
    return '<table style="font-size:12px;border-collapse:collapse">' + "".join(out) + "</table>"


def inspector_html(session: Session, view: View | None, selected: str | None) -> str:
    """The selected state or link in words: its name and what it is, then its attributes
    (names with units, e.g. "stock (t)"; values without code markup)."""
    kind, _, name = (selected or "").partition(":")
    if view is None:
        kind = ""
    if kind == "state" and (state := view.state(name)):
        info = dict(state)
        role = str(info.pop("role", "sovereign"))
        what = ROLE_WORDS.get(role, role.replace("_", " "))
        if state.get("sustained"):
            what += ", supplied from outside"
        head = f"<b>{html.escape(name)}</b> — {html.escape(what)}"
        needs = info.get("need_t_per_day") or {}
        days = {
            good: round(tonnes / needs[good], 1)
            for good, tonnes in (info.get("stock_t") or {}).items()
            if needs.get(good)
        }
        if days:
            info = {"days_of_supply_left": days, **info}
        for key in ("name", "code", "lat", "lon", "sustained"):
            info.pop(key, None)
        return head + _rows(info)
    if kind == "link" and (link := view.link(name)):
        info = dict(link)
        head = (
            f"<b>{html.escape(name)}</b>: {html.escape(link['mode'])} link, "
            f"{html.escape(link['a'])} – {html.escape(link['b'])}"
        )
        flows = session.flows()
        if not flows.empty and view.day > 0:
            today = flows[(flows.link == name) & (flows.step == flows.step.max())]
            if not today.empty:
                info = {
                    "flows_last_day_t": {
                        str(r.flow): float(r.tonnes) for r in today.itertuples() if r.tonnes
                    },
                    **info,
                }
        for key in ("name", "a", "b", "mode", "a_node", "b_node"):
            info.pop(key, None)
        return head + _rows(info)
    return '<span style="color:#757575">Click a state or a link on the map to inspect it.</span>'


@solara.component
def Inspector(
    session: Session, view: View | None, selected: str | None, on_change: Callable[[], None]
):
    """The selected state or link; ``view`` may be None when nothing is selected (then a
    Step does not redraw it)."""
    kind, _, name = (selected or "").partition(":")

    @guarded(lambda text: None)
    def quick(event: dict[str, Any]) -> None:
        try:
            session.intervene({**event, "reason": "quick intervention from the inspector"})
        finally:
            on_change()

    with solara.Column(gap="2px", classes=["corridors-inspector"]):
        solara.Text("Inspector", style={"font-weight": "600"})
        solara.HTML(
            tag="div",
            unsafe_innerHTML=inspector_html(session, view, selected),
            classes=["corridors-inspector-body"],
        )
        if kind == "link" and view is not None and view.link(name) and view.running:
            with solara.Row(gap="4px"):
                solara.Button(
                    "Close",
                    on_click=lambda: quick({"action": "close_link", "link": name}),
                    small=True,
                    outlined=True,
                    classes=["corridors-quick-close"],
                )
                solara.Button(
                    "Throttle to 10%",
                    on_click=lambda: quick(
                        {"action": "throttle_link", "link": name, "fraction": 0.1}
                    ),
                    small=True,
                    outlined=True,
                )
                solara.Button(
                    "Reopen",
                    on_click=lambda: quick({"action": "open_link", "link": name}),
                    small=True,
                    outlined=True,
                    classes=["corridors-quick-open"],
                )
