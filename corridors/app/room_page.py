"""The room pages: the teacher's control center, a student's view of its state, and the forms to
open and join a room. A thin view over :mod:`corridors.app.rooms`, which checks everything.

Addresses: ``/room`` (join with a code), ``/room?c=CODE`` (join this room),
``/room?c=CODE&t=TOKEN`` (a participant's or the teacher's page; the token restores the role
after a reload or a dropped connection). Pages poll their room's version and redraw when it changes.
"""

from __future__ import annotations

import socket
import threading
from typing import Any
from urllib.parse import parse_qs

import solara

from corridors.app import rooms
from corridors.app.errors import error_text
from corridors.app.limits import heavy_work
from corridors.app.rooms import OBSERVER, Room, RoomError
from corridors.scenarios import builtin_names

POLL_S = 0.5
ACTION_LABELS = {
    "close_link": "Close a link",
    "open_link": "Open a link",
    "throttle_link": "Throttle a link",
    "deny_transit": "Deny transit",
    "grant_transit": "Grant transit",
    "embargo": "Embargo arms",
    "lift_embargo": "Lift an embargo",
    "withdraw_peacekeepers": "Withdraw peacekeepers",
    "order_offensive": "Offensive",
}
INJECT_ACTIONS = (*rooms.PLAYER_ACTIONS, "set_parameter")
"""What the teacher may inject: any player decision, or a change of a parameter."""

CSS = """
.room-page { padding: 8px 14px; max-width: 1200px; }
.room-panel { border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px 10px; }
.room-code { font-size: 40px; font-weight: 700; letter-spacing: 6px; font-family: monospace; }
.room-table td, .room-table th { padding: 2px 8px; border-bottom: 1px solid #eee;
  text-align: left; vertical-align: top; }
.room-qr svg { width: 180px; height: 180px; }
"""


def room_path(code: str, token: str | None = None) -> str:
    return f"/room?c={code}" + (f"&t={token}" if token else "")


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def base_url() -> str:
    """The address students type: the teacher's own, with a LAN address for localhost."""
    headers = solara.lab.headers.value or {}
    host = (headers.get("host") or ["127.0.0.1:8765"])[0]
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    if name in ("127.0.0.1", "localhost", "[::1]"):
        name = lan_address()
    return f"http://{name}{':' + port if port else ''}"


def qr_svg(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_inline(scale=4, border=2)


def use_version(room: Room | None) -> int:
    """Redraw when the room changes (any session's request, or the timer)."""
    version = solara.use_reactive(room.version if room else 0)

    def poll(cancel: threading.Event) -> None:
        while room is not None and not cancel.wait(POLL_S):
            if room.version != version.value:
                version.set(room.version)

    solara.use_thread(poll, dependencies=[room], intrusive_cancel=False)
    return version.value


def Heading(text: str) -> None:
    """``**bold** rest`` as text (solara.Markdown would fetch mermaid from a CDN)."""
    bold, _, rest = text.removeprefix("**").partition("**")
    with solara.Row(gap="4px", style={"align-items": "baseline", "flex-wrap": "wrap"}):
        solara.Text(bold, style={"font-weight": "700"})
        if rest.strip():
            solara.Text(rest.strip(), style={"color": "#444"})


def _table(rows: list[list[Any]], header: list[str], classes: str = "") -> None:
    def cell(v: Any) -> str:
        from html import escape

        return escape("" if v is None else str(v))

    head = "".join(f"<th>{cell(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    solara.HTML(
        tag="table",
        unsafe_innerHTML=f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>",
        classes=["room-table", *([classes] if classes else [])],
    )


# ---------------------------------------------------------------------------- entry points


@solara.component
def RoomsTab():
    """In the main app: open a room (teacher) or join one (student)."""
    scenario = solara.use_reactive("lachin-2023")
    seed = solara.use_reactive(1)
    turn_days = solara.use_reactive(rooms.DEFAULT_TURN_DAYS)
    free_pick = solara.use_reactive(True)
    error = solara.use_reactive("")
    opened = solara.use_reactive(None)

    def open_room() -> None:
        try:
            room, token = rooms.default_store().open_room(
                scenario.value, seed.value, turn_days.value, free_pick.value
            )
        except Exception as exc:
            error.set(error_text(exc))
            return
        error.set("")
        opened.set((room.code, token))

    with solara.Row(gap="24px", style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(classes=["room-panel"], style={"min-width": "320px"}):
            Heading("**Open a room** — the class plays the states of one run")
            solara.Select("Scenario", values=builtin_names(), value=scenario)
            solara.InputInt("Seed", value=seed)
            solara.InputInt("Days per turn", value=turn_days)
            solara.Checkbox(label="Students pick their roles", value=free_pick)
            solara.Button("Open a room", on_click=open_room, color="primary", classes=["room-open"])
            if error.value:
                solara.Error(error.value, dense=True)
            if opened.value:
                code, token = opened.value
                solara.Success(f"Room {code} is open.", dense=True)
                solara.HTML(
                    tag="a",
                    unsafe_innerHTML="Go to the teacher's control center",
                    attributes={"href": room_path(code, token), "class": "room-teacher-link"},
                )
                solara.Text(
                    "Keep this link to yourself: it carries the teacher's key.",
                    style={"color": "#b71c1c", "font-size": "12px"},
                )
        with solara.Column(classes=["room-panel"], style={"min-width": "320px"}):
            JoinForm(None)


@solara.component
def JoinForm(code: str | None):
    """A code (unless given) and a name → a participant's page."""
    typed = solara.use_reactive(code or "")
    name = solara.use_reactive("")
    error = solara.use_reactive("")
    joined = solara.use_reactive(None)
    router = solara.use_router()

    def join() -> None:
        try:
            room = rooms.default_store().get(typed.value)
            _, token = room.join(name.value)
        except Exception as exc:
            error.set(error_text(exc))
            return
        error.set("")
        joined.set((room.code, token))
        router.push(room_path(room.code, token))

    Heading("**Join a room** — with the code your teacher shows")
    if code is None:
        solara.InputText("Room code", value=typed, classes=["room-join-code"])
    solara.InputText("Your name", value=name, classes=["room-join-name"])
    solara.Button("Join", on_click=join, color="primary", classes=["room-join"])
    if error.value:
        solara.Error(error.value, dense=True, classes=["room-error"])
    if joined.value:
        code_, token = joined.value
        solara.HTML(
            tag="a",
            unsafe_innerHTML="Continue to your page",
            attributes={"href": room_path(code_, token)},
        )


@solara.component
def RoomPage():
    """``/room[?c=CODE[&t=TOKEN]]``: the page for whoever holds the token."""
    router = solara.use_router()
    solara.Style(CSS)
    solara.Title("Corridors room")
    query = parse_qs(router.search or "")
    code = (query.get("c") or [""])[0][:16]
    token = (query.get("t") or [""])[0][:80]
    with solara.Column(classes=["room-page"], gap="10px"):
        solara.Text("Corridors · room", style={"font-size": "20px", "font-weight": "700"})
        if not code:
            with solara.Column(classes=["room-panel"]):
                JoinForm(None)
            return
        try:
            room = rooms.default_store().get(code)
        except RoomError as exc:
            solara.Error(str(exc), classes=["room-error"])
            return
        if not token:
            with solara.Column(classes=["room-panel"]):
                Heading(f"**Room {room.code}** · {room.spec.meta.title}")
                JoinForm(room.code)
            return
        if room.is_teacher(token):
            TeacherView(room, token)
        elif room.participant(token) is not None:
            StudentView(room, token)
        else:
            solara.Error(
                "This link is not valid in this room: join again with the room code.",
                classes=["room-error"],
            )
            with solara.Column(classes=["room-panel"]):
                JoinForm(room.code)


# ---------------------------------------------------------------------------- shared parts


@solara.component
def Header(view: dict[str, Any]):
    with solara.Row(gap="16px", style={"align-items": "baseline", "flex-wrap": "wrap"}):
        solara.Text(f"Room {view['code']}", style={"font-weight": "700"})
        solara.Text(view["title"])
        solara.Text(
            f"Turn {view['turn'] + 1} · day {view['day']} of {view['n_days']} · {view['date']}",
            style={"color": "#1565c0", "font-weight": "600"},
            classes=["room-turn"],
        )
        if not view["running"]:
            solara.Text("The run is over", style={"color": "#b71c1c"}, classes=["room-over"])


@solara.component
def Timelines(view: dict[str, Any]):
    with solara.Column(classes=["room-panel", "room-timeline"]):
        Heading("**Decisions and statements** (visible once the turn is played)")
        _table(
            [[t["date"], t["who"], t["text"]] for t in view["room_timeline"][:60]],
            ["date", "who", "what"],
        )
    with solara.Column(classes=["room-panel"]):
        Heading("**What happened** (the model's log)")
        _table(
            [[t["date"], t["subject"], t["text"]] for t in view["timeline"][:40]],
            ["date", "subject", "what"],
        )


@solara.component
def StatesTable(view: dict[str, Any], show_submitted: bool = True):
    rows = []
    for s in view["states"]:
        status = f"fallen to {s['controlled_by']}" if s["fallen"] else ""
        if s["at_war_with"]:
            status = f"at war with {s['at_war_with']}"
        rows.append(
            [
                s["name"],
                s["player"] or "(the model)",
                status,
                ("submitted" if s["submitted"] else "") if show_submitted else "",
            ]
        )
    _table(rows, ["state", "played by", "status", "this turn"], "room-states")


# ---------------------------------------------------------------------------- student


@solara.component
def StudentView(room: Room, token: str):
    use_version(room)
    error = solara.use_reactive("")
    try:
        view = room.view_for(token)
    except RoomError as exc:  # removed from the room meanwhile
        solara.Error(str(exc), classes=["room-error"])
        return
    Header(view)
    role = view["role"]
    solara.Text(
        f"You are {view['you']}" + (f", playing {role}" if role else " (no role yet)"),
        style={"font-size": "16px", "font-weight": "600"},
        classes=["room-you"],
    )
    if error.value:
        solara.Error(error.value, dense=True, classes=["room-error"])
    if role is None or (view["free_pick"] and role == OBSERVER):
        with solara.Column(classes=["room-panel"]):
            if view["free_pick"]:
                Heading("**Pick a role** (a state, or observe)")

                def pick(r: str) -> None:
                    try:
                        room.pick(token, r)
                        error.set("")
                    except Exception as exc:
                        error.set(error_text(exc))

                with solara.Row(style={"flex-wrap": "wrap"}):
                    for r in view["roles"]:
                        solara.Button(
                            r["role"],
                            on_click=lambda r=r["role"]: pick(r),
                            disabled=not r["free"] or r["role"] == role,
                            classes=["room-pick"],
                            small=True,
                        )
            else:
                solara.Info("The teacher will give you a role.")
    with solara.Row(gap="12px", style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(style={"flex": "1 1 420px"}, gap="10px"):
            if role and role != OBSERVER:
                OwnState(view)
                DecisionForm(room, token, view, error)
            with solara.Column(classes=["room-panel"]):
                Heading("**The states**")
                StatesTable(view)
        with solara.Column(style={"flex": "1 1 420px"}, gap="10px"):
            Timelines(view)


@solara.component
def OwnState(view: dict[str, Any]):
    me = view["me"]
    with solara.Column(classes=["room-panel", "room-own"]):
        Heading(f"**{me['name']}** — what you know about your state")
        rows = [["population", f"{me['population']:,}"], ["humanitarian stress", me["stress"]]]
        for good, tonnes in me["stocks_t"].items():
            need = me["need_t_per_day"].get(good)
            rows.append(
                [
                    f"{good} stock (t)",
                    f"{tonnes:,.0f}" + (f" (needs {need:,.0f}/day)" if need else ""),
                ]
            )
        for good, tonnes in me["received_last_turn_t"].items():
            rows.append([f"{good} received last turn (t)", f"{tonnes:,.0f}"])
        if me["personnel"] is not None:
            rows += [
                ["personnel", f"{me['personnel']:,}"],
                ["combat power", f"{me['power']:,}"],
                ["readiness", me["readiness"]],
            ]
        if me["arms_budget_usd_m"] is not None:
            rows.append(["arms budget (US$ m)", me["arms_budget_usd_m"]])
        if me["at_war_with"]:
            rows.append(["at war with", me["at_war_with"]])
        if me["fallen"]:
            rows.append(["controlled by", me["controlled_by"]])
        rows.append(
            [
                "relations",
                ", ".join(f"{k} {v:+.1f}" for k, v in me["relations"].items()) or "—",
            ]
        )
        _table(rows, ["", ""], "room-own-table")
        if view["links"]:
            Heading("**Links you control**")
            _table(
                [
                    [
                        lk["name"],
                        lk["ends"],
                        lk["mode"],
                        lk["status"]
                        + (f" ({lk['throttle']:.0%})" if lk["status"] == "throttled" else ""),
                        lk["carried_today_t"],
                    ]
                    for lk in view["links"]
                ],
                ["link", "between", "mode", "status", "carried today (t)"],
                "room-links",
            )


@solara.component
def DecisionForm(room: Room, token: str, view: dict[str, Any], error):
    powers = view["powers"]
    actions = view["actions"]
    action = solara.use_reactive(actions[0] if actions else None)
    target = solara.use_reactive(None)
    fraction = solara.use_reactive(0.5)
    order = solara.use_reactive("launch")
    drafts = solara.use_reactive([])
    reason = solara.use_reactive("")
    statement = solara.use_reactive("")
    sub = view["submission"]

    def new_turn() -> None:  # a played turn's drafts are not the next turn's
        drafts.set([])
        reason.set("")
        statement.set("")

    solara.use_effect(new_turn, [view["turn"]])

    choices = {
        "close_link": powers["links"],
        "open_link": powers["links"],
        "throttle_link": powers["links"],
        "deny_transit": powers["transit_to"],
        "grant_transit": powers["transit_to"],
        "embargo": powers["embargo_to"],
        "lift_embargo": powers["embargo_to"],
        "withdraw_peacekeepers": powers["withdraw_from"],
        "order_offensive": powers["offensive_on"],
    }

    def add() -> None:
        if action.value is None or target.value is None:
            error.set("choose what to do and to which link or state")
            return
        d: dict[str, Any] = {"action": action.value}
        d["link" if action.value.endswith("_link") else "to"] = target.value
        if action.value == "throttle_link":
            d["fraction"] = float(fraction.value)
        if action.value == "order_offensive":
            d["order"] = order.value
        drafts.set([*drafts.value, d])
        error.set("")

    def submit() -> None:
        try:
            room.submit(token, drafts.value, reason.value, statement.value)
        except Exception as exc:
            error.set(error_text(exc))
            return
        error.set("")

    def describe(d: dict[str, Any]) -> str:
        what = ACTION_LABELS.get(d["action"], d["action"])
        extra = f" to {d['fraction']:.0%}" if "fraction" in d else ""
        extra += f" ({d['order']})" if "order" in d else ""
        return f"{what}: {d.get('link') or d.get('to')}{extra}"

    with solara.Column(classes=["room-panel", "room-decide"]):
        Heading("**Your decisions for this turn**")
        if not view["running"]:
            solara.Info("The run is over.")
            return
        if actions:
            solara.ToggleButtonsSingle(
                value=action,
                values=actions,
                on_value=lambda _: target.set(None),
                classes=["room-action"],
            )
            if action.value:
                solara.ToggleButtonsSingle(
                    value=target, values=list(choices[action.value]), classes=["room-target"]
                )
                if action.value == "throttle_link":
                    solara.InputFloat("Fraction of capacity (0–1)", value=fraction)
                if action.value == "order_offensive":
                    solara.ToggleButtonsSingle(value=order, values=["launch", "hold"])
            solara.Button("Add this decision", on_click=add, small=True, classes=["room-add"])
        for i, d in enumerate(drafts.value):
            with solara.Row(style={"align-items": "center"}):
                solara.Text(describe(d), classes=["room-draft"])
                solara.Button(
                    "remove",
                    small=True,
                    text=True,
                    on_click=lambda i=i: drafts.set(
                        [x for j, x in enumerate(drafts.value) if j != i]
                    ),
                )
        with solara.Column(classes=["room-reason"]):
            solara.InputTextArea("Why (your reason)", value=reason, rows=2)
        with solara.Column(classes=["room-statement"]):
            solara.InputTextArea(
                "Public statement (optional, goes to the timeline)", value=statement, rows=2
            )
        solara.Button(
            "Submit for this turn", on_click=submit, color="primary", classes=["room-submit"]
        )
        if sub:
            listed = "; ".join(describe(d) for d in sub["decisions"]) or "no change"
            solara.Success(
                f"Submitted: {listed}. You can change it until the turn is played.",
                dense=True,
                classes=["room-submitted"],
            )


# ---------------------------------------------------------------------------- teacher


@solara.component
def TeacherView(room: Room, token: str):
    use_version(room)
    view = room.teacher_view()
    error = solara.use_reactive("")

    def guarded(fn):
        """Run a teacher's action; any error becomes one line (never a traceback)."""

        def run(*args: Any) -> None:
            try:
                fn(*args)
                error.set("")
            except Exception as exc:
                error.set(error_text(exc))

        return run

    Header(view)
    if error.value:
        solara.Error(error.value, dense=True, classes=["room-error"])
    with solara.Row(gap="12px", style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(style={"flex": "1 1 420px"}, gap="10px"):
            with solara.Column(classes=["room-panel"]):
                url = f"{base_url()}{room_path(room.code)}"
                with solara.Row(gap="16px", style={"align-items": "center"}):
                    with solara.Column(gap="2px"):
                        solara.Text("Students join with", style={"color": "#555"})
                        solara.Text(room.code, classes=["room-code"])
                        solara.Text(url, classes=["room-url"])
                    solara.HTML(tag="div", unsafe_innerHTML=qr_svg(url), classes=["room-qr"])
            with solara.Column(classes=["room-panel"]):
                waiting = view["waiting"]
                Heading(
                    f"**Turn {view['turn'] + 1}** ({view['turn_days']} days) — "
                    + (
                        f"waiting for: {', '.join(waiting)}"
                        if waiting
                        else "everyone has submitted"
                    )
                )
                with solara.Row():
                    solara.Button(
                        f"Play the turn ({view['turn_days']} days)",
                        on_click=guarded(lambda: room.advance(token)),
                        color="primary",
                        disabled=not view["running"],
                        classes=["room-advance"],
                    )
                for role, sub in view["pending"].items():
                    listed = "; ".join(
                        f"{d['action']} {d.get('link') or d.get('to')}" for d in sub["decisions"]
                    )
                    solara.Text(
                        f"{role}: {listed or 'no change'} — {sub['reason']}"
                        + (f" — says: {sub['statement']}" if sub["statement"] else ""),
                        classes=["room-pending"],
                    )
                Settings(room, token, view, guarded)
            with solara.Column(classes=["room-panel"]):
                Heading("**Participants**")
                Participants(room, token, view, guarded)
            with solara.Column(classes=["room-panel"]):
                Heading("**The states**")
                StatesTable(view)
            Inject(room, token, guarded)
            Debrief(room, token)
        with solara.Column(style={"flex": "1 1 420px"}, gap="10px"):
            Timelines(view)


@solara.component
def Settings(room: Room, token: str, view: dict[str, Any], guarded):
    days = solara.use_reactive(view["turn_days"])
    timer = solara.use_reactive(view["timer_s"])
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        solara.Checkbox(
            label="students pick roles",
            value=view["free_pick"],
            on_value=guarded(lambda v: room.settings(token, free_pick=v)),
        )
        solara.Checkbox(
            label="play when all have submitted",
            value=view["auto_when_all"],
            on_value=guarded(lambda v: room.settings(token, auto_when_all=v)),
        )
        solara.InputInt("days per turn", value=days, style={"max-width": "110px"})
        solara.InputInt("timer (s, 0 = off)", value=timer, style={"max-width": "130px"})
        solara.Button(
            "apply",
            small=True,
            on_click=guarded(
                lambda: room.settings(token, turn_days=days.value, timer_s=timer.value)
            ),
        )


@solara.component
def Participants(room: Room, token: str, view: dict[str, Any], guarded):
    roles = ["(none)", *view["roles"]]
    for p in view["participants"]:
        with solara.Row(style={"align-items": "center"}, gap="8px"):
            solara.Text(p["name"], style={"min-width": "120px"})
            solara.Select(
                "role",
                values=roles,
                value=p["role"] or "(none)",
                on_value=guarded(
                    lambda r, pid=p["pid"]: room.assign(token, pid, None if r == "(none)" else r)
                ),
                classes=[f"room-assign-{p['pid']}"],
                style={"max-width": "220px"},
            )
            solara.Button(
                "remove",
                small=True,
                text=True,
                on_click=guarded(lambda pid=p["pid"]: room.remove(token, pid)),
            )
    if not view["participants"]:
        solara.Text("Nobody has joined yet.")


@solara.component
def Inject(room: Room, token: str, guarded):
    action = solara.use_reactive("close_link")
    link = solara.use_reactive(None)
    state = solara.use_reactive(None)
    to = solara.use_reactive(None)
    fraction = solara.use_reactive(0.5)
    path = solara.use_reactive(None)
    value = solara.use_reactive("")
    reason = solara.use_reactive("")
    from corridors.app.actions import parameter_paths

    def inject() -> None:
        event: dict[str, Any] = {"action": action.value}
        if action.value.endswith("_link"):
            event["link"] = link.value
            if action.value == "throttle_link":
                event["fraction"] = float(fraction.value)
        elif action.value == "set_parameter":
            text = value.value.strip()
            try:
                number: Any = float(text)
            except ValueError:
                number = text
            event.update(path=path.value, value=number)
        else:
            event.update(state=state.value, to=to.value)
        room.inject(token, event, reason.value)

    states = [s.name for s in room.spec.states]
    with solara.Column(classes=["room-panel"]):
        Heading("**Inject an event** (applies now)")
        solara.Select("action", values=list(INJECT_ACTIONS), value=action)
        if action.value.endswith("_link"):
            solara.Select("link", values=[lk.name for lk in room.spec.links], value=link)
            if action.value == "throttle_link":
                solara.InputFloat("fraction (0–1)", value=fraction)
        elif action.value == "set_parameter":
            solara.Select("parameter", values=parameter_paths(room.spec), value=path)
            solara.InputText("value", value=value)
        else:
            solara.Select("state", values=states, value=state)
            solara.Select("to", values=states, value=to)
        solara.InputText("reason", value=reason)
        solara.Button("Inject", on_click=guarded(inject), small=True)


@solara.component
def Debrief(room: Room, token: str):
    seeds = solara.use_reactive(20)
    result = solara.use_reactive(None)
    busy = solara.use_reactive(False)
    error = solara.use_reactive("")

    def run() -> None:
        busy.set(True)
        try:
            with heavy_work():  # shared with the Compare tab: refused when the server is busy
                result.set(rooms.debrief(room, seeds.value))
            error.set("")
        except Exception as exc:
            error.set(error_text(exc))
        finally:
            busy.set(False)

    with solara.Column(classes=["room-panel", "room-debrief"]):
        Heading("**Debrief**")
        with solara.Row(style={"align-items": "center"}):
            solara.InputInt("seeds", value=seeds, style={"max-width": "90px"})
            solara.Button(
                "Compare with the record and the model alone",
                on_click=lambda: threading.Thread(target=run, daemon=True).start(),
                disabled=busy.value,
                small=True,
                classes=["room-debrief-run"],
            )
            solara.FileDownload(
                lambda: room.overlay_yaml().encode(),
                filename=f"room-{room.code}.yaml",
                label="Download the class's run as a scenario",
            )
            solara.Button(
                "Close the room",
                small=True,
                text=True,
                on_click=lambda: room.close(token),
                disabled=room.closed,
            )
        if busy.value:
            solara.ProgressLinear(True)
        if error.value:
            solara.Error(error.value, dense=True)
        out = result.value
        if out:
            c, m = out["class"], out["model"]
            solara.Text(
                f"The class's run: {c['outcome']} (offensive {c['offensive_date'] or '—'}, "
                f"capitulation {c['capitulation_date'] or '—'}, "
                f"peak stress {c['peak_stress']}).",
                classes=["room-debrief-class"],
            )
            solara.Text(
                f"The model alone, to the same day ({m['days']} days), over {m['seeds']} seeds: "
                f"the same outcome in {m['same_outcome']} of {m['seeds']} runs"
                + (
                    f"; median offensive {m['median_offensive_date']}"
                    if m["median_offensive_date"]
                    else ""
                )
                + "."
            )
            if out["timeline"]:
                _table(
                    [[r["date"], r["record"], r["class"]] for r in out["timeline"]],
                    ["date", "on record (the scenario's events)", "the class"],
                    "room-debrief-timeline",
                )
            if out["record"]:
                _table(
                    [[r["target"], r["record"], r["class"], r["source"]] for r in out["record"]],
                    ["checkpoint", "record", "class", "source"],
                    "room-record",
                )
