"""The Corridors app: ``solara run corridors.app.main`` (or ``corridors app`` / ``make app``).

Every browser session renders its own :func:`Page`, which builds its own :class:`Session` (and so
its own model) with ``solara.use_memo``: nothing mutable lives at module level. A session takes
one of a limited number of seats (:mod:`corridors.app.limits`); when its page is closed, or left
disconnected past the server's cull timeout, Solara closes the kernel, and the effects below give
the seat back and delete the session's uploads.
"""

from __future__ import annotations

import solara

from corridors.app.charts import Charts
from corridors.app.compare import Compare
from corridors.app.controls import Inspector, InterventionPanel, RunControls, ScenarioPanel
from corridors.app.downloads import Downloads
from corridors.app.errors import error_text
from corridors.app.limits import FULL_MESSAGE, SEATS, max_sessions
from corridors.app.map import Map
from corridors.app.room_page import RoomPage, RoomsTab
from corridors.app.session import Session
from corridors.app.sweep import SweepExplorer
from corridors.app.teaching import Teaching
from corridors.app.timeline import Timeline

TABS = ("Run", "Compare", "Sweeps", "Teach", "Downloads", "Rooms")

CSS = """
.corridors-app { padding: 8px 12px; }
.corridors-app .v-input { margin-top: 2px; }
.corridors-left { min-width: 300px; max-width: 330px; }
.corridors-run-controls .v-btn { min-width: 0 !important; padding: 0 10px !important; }
.corridors-panel { border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px; }
.corridors-timeline-table td { padding: 2px 4px; border-bottom: 1px solid #eeeeee; }
"""


@solara.component
def Page(session: Session | None = None):
    """The whole app, once this browser session has a seat. Each rendering (each browser
    session) builds its own :class:`Session`; tests may pass one in to watch it."""
    seated = solara.use_memo(SEATS.take, [])

    def give_back():
        return SEATS.give_back if seated else None

    solara.use_effect(give_back, [])
    if not seated:
        solara.Title("Corridors")
        solara.Error(FULL_MESSAGE.format(n=max_sessions()), classes=["corridors-full"])
        return
    # a bug while drawing shows one line (logged with its traceback), never the traceback
    exception, clear = solara.use_exception()
    if exception is not None:
        solara.Title("Corridors")
        solara.Error(error_text(exception), classes=["corridors-page-error"])
        solara.Button("Try again", on_click=clear, outlined=True)
        return
    App(session)


@solara.component
def App(session: Session | None = None):
    given = session
    session = solara.use_memo(lambda: given or Session(), [])

    def end():
        # the kernel is closing (page closed or culled): delete uploads, stop playing
        return None if given is not None else session.close

    solara.use_effect(end, [])
    tick = solara.use_reactive(0)
    selected = solara.use_reactive(None)
    tab = solara.use_reactive(0)
    view = session.view()
    _ = tick.value  # re-render whenever the session changes
    solara.use_effect(lambda: session.mark_shown(view.version), [view.version])

    def changed() -> None:
        tick.set(session.version)

    def select(item: str) -> None:
        selected.set(None if selected.value == item else item)

    solara.Title("Corridors")
    solara.Style(CSS)
    with solara.Column(gap="8px", classes=["corridors-app"]):
        with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap"}, gap="12px"):
            solara.Text("Corridors", style={"font-size": "22px", "font-weight": "700"})
            solara.Text(view.title, style={"font-size": "16px"}, classes=["corridors-title"])
            if view.variants:
                solara.Text(f"variants: {', '.join(view.variants)}", style={"color": "#6a1b9a"})
            solara.Text(
                f"Day {view.day} of {view.n_days} · {view.date}",
                style={"font-size": "16px", "font-weight": "500", "color": "#1565c0"},
                classes=["corridors-header-day"],
            )
        with solara.Row(gap="12px", style={"align-items": "flex-start", "flex-wrap": "nowrap"}):
            with solara.Column(gap="8px", classes=["corridors-left"]):
                with solara.Column(classes=["corridors-panel"]):
                    ScenarioPanel(session, view, changed)
                with solara.Column(classes=["corridors-panel"]):
                    RunControls(session, view, changed)
                with solara.Column(classes=["corridors-panel"]):
                    InterventionPanel(session, view, selected.value, changed)
            with solara.Column(gap="4px", style={"flex": "1 1 auto", "min-width": "0"}):
                with solara.lab.Tabs(value=tab, lazy=True):
                    with solara.lab.Tab("Run"):
                        RunTab(session, view, selected.value, select, changed)
                    with solara.lab.Tab("Compare"):
                        Compare(session.catalog, session.scenario)
                    with solara.lab.Tab("Sweeps"):
                        SweepExplorer()
                    with solara.lab.Tab("Teach"):
                        Teaching(session, view)
                    with solara.lab.Tab("Downloads"):
                        Downloads(session, view)
                    with solara.lab.Tab("Rooms"):
                        RoomsTab()


@solara.component
def RoomRoute():
    """A room's page, once this browser session has a seat (as :func:`Page`)."""
    seated = solara.use_memo(SEATS.take, [])

    def give_back():
        return SEATS.give_back if seated else None

    solara.use_effect(give_back, [])
    if not seated:
        solara.Title("Corridors")
        solara.Error(FULL_MESSAGE.format(n=max_sessions()), classes=["corridors-full"])
        return
    RoomPage()


@solara.component
def Layout(children=()):
    """No app bar or route tabs around the pages: each page lays itself out."""
    solara.Column(children=list(children), style={"padding": "0"})


routes = [
    solara.Route(path="/", component=Page, label="Corridors", layout=Layout),
    solara.Route(path="room", component=RoomRoute, label="Room"),
]
"""``/`` is the simulator; ``/room?c=CODE&t=TOKEN`` a classroom room's pages."""


@solara.component
def RunTab(session: Session, view, selected, select, changed):
    if not view.running:
        solara.Info(
            "The run is over: the Teach tab has its debrief.",
            dense=True,
            classes=["corridors-finished"],
        )
    with solara.Row(gap="12px", style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(gap="6px", style={"flex": "1 1 380px", "min-width": "320px"}):
            Map(view, selected, select)
            with solara.Column(classes=["corridors-panel"]):
                Inspector(session, view, selected, changed)
            with solara.Column(classes=["corridors-panel"]):
                Timeline(view)
        with solara.Column(gap="6px", style={"flex": "1 1 420px", "min-width": "360px"}):
            Charts(view)
