"""The Corridors app: ``solara run corridors.app.main`` (or ``corridors app`` / ``make app``).

Every browser session renders its own :func:`Page`, which builds its own :class:`Session` (and so
its own model) with ``solara.use_memo``: nothing mutable lives at module level. A session takes
one of a limited number of seats (:mod:`corridors.app.limits`); when its page is closed, or left
disconnected past the server's cull timeout, Solara closes the kernel, and the effects below give
the seat back and delete the session's uploads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import reacton.core
import solara

from corridors.app.charts import Charts
from corridors.app.compare import Compare
from corridors.app.controls import (
    Inspector,
    InterventionPanel,
    RunControls,
    ScenarioPanel,
    form_choices,
)
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


@solara.component_vue(str(Path(__file__).with_name("urlstate.vue")))
def UrlState(token: str, event_restore: Callable[[str], None]):
    """The run in the page's address (urlstate.vue)."""


@solara.component
def Page(session: Session | None = None):
    """The whole app, once this browser session has a seat. Each rendering (each browser
    session) builds its own :class:`Session`; tests may pass one in to watch it."""
    seated = solara.use_memo(SEATS.take, [])

    def give_back():
        return SEATS.give_back if seated else None

    solara.use_effect(give_back, [])
    # a bug while drawing shows one line (logged with its traceback), never the traceback
    exception, clear = solara.use_exception()
    if not seated:
        solara.Title("Corridors")
        solara.Error(FULL_MESSAGE.format(n=max_sessions()), classes=["corridors-full"])
        return
    if exception is not None:
        solara.Title("Corridors")
        solara.Error(error_text(exception), classes=["corridors-page-error"])
        solara.Button("Try again", on_click=clear, outlined=True)
        return
    App(session)


@solara.component
def App(session: Session | None = None):
    """The page's frame. It reads only the session's configuration: a Step re-renders the
    components that show the day (header, run controls, the tab on show), each of which reads
    ``day`` itself, and reacton leaves the rest of the page (the scenario panel, the
    interventions form, the tabs) alone."""
    given = session
    session = solara.use_memo(lambda: given or Session(), [])

    def end():
        # the kernel is closing (page closed or culled): delete uploads, stop playing
        return None if given is not None else session.close

    solara.use_effect(end, [])
    day = solara.use_reactive(session.version)
    """The session's version the page shows (a day, an intervention, a reset...)."""
    config = solara.use_reactive(session.configured)
    """How many times a scenario was loaded."""
    selected = solara.use_reactive(None)
    tab = solara.use_reactive(0)
    _ = config.value  # re-render the frame when the scenario changes, not with each day
    render_context = reacton.core.get_render_context()

    def changed() -> None:
        # one render pass for every component that shows the day (not one per component)
        with render_context:
            config.set(session.configured)
            day.set(session.version)

    def select(item: str) -> None:
        selected.set(None if selected.value == item else item)

    link_error = solara.use_reactive("")

    def restore(token: str) -> None:
        try:
            session.restore(token)
        except Exception as exc:  # any problem with a link: say so, keep the current run
            link_error.set(f"This link's run could not be restored: {error_text(exc)}")
        else:
            link_error.set("")
        changed()

    view = session.view()
    solara.Title("Corridors")
    solara.Style(CSS)
    Address(session, day, restore)
    if link_error.value:
        solara.Warning(link_error.value, dense=True, classes=["corridors-link-error"])
    with solara.Column(gap="8px", classes=["corridors-app"]):
        Header(session, day)
        with solara.Row(gap="12px", style={"align-items": "flex-start", "flex-wrap": "nowrap"}):
            with solara.Column(gap="8px", classes=["corridors-left"]):
                with solara.Column(classes=["corridors-panel"]):
                    # keyed by the configuration: a restored run redraws its fields
                    ScenarioPanel(session, view.title, changed).key(
                        f"scenario-{session.configured}"
                    )
                with solara.Column(classes=["corridors-panel"]):
                    DayControls(session, day, changed)
                with solara.Column(classes=["corridors-panel"]):
                    Interventions(session, day, selected.value, changed)
            with solara.Column(gap="4px", style={"flex": "1 1 auto", "min-width": "0"}):
                with solara.lab.Tabs(value=tab, lazy=True):
                    # the tabs not shown are not rendered (lazy)
                    with solara.lab.Tab("Run"):
                        RunTab(session, day, selected.value, select, changed)
                    with solara.lab.Tab("Compare"):
                        Compare(session.catalog, session.scenario, session)
                    with solara.lab.Tab("Sweeps"):
                        SweepExplorer()
                    with solara.lab.Tab("Teach"):
                        TeachTab(session, day, changed)
                    with solara.lab.Tab("Downloads"):
                        DownloadsTab(session, day)
                    with solara.lab.Tab("Rooms"):
                        RoomsTab()


def _view(session: Session, day: solara.Reactive[int]):
    """The session's snapshot, read by a component that subscribes to ``day`` (reading its
    value re-renders the component when the session changes)."""
    _ = day.value
    return session.view()


@solara.component
def Address(session: Session, day: solara.Reactive[int], restore: Callable[[str], None]):
    """The run in the page's address, updated with each change."""
    view = _view(session, day)
    token = solara.use_memo(session.state_token, [view.version])
    UrlState(token=token, event_restore=restore)


@solara.component
def Header(session: Session, day: solara.Reactive[int]):
    view = _view(session, day)
    # the page has drawn this version: a playing session may take its next step
    solara.use_effect(lambda: session.mark_shown(view.version), [view.version])
    with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap"}, gap="12px"):
        solara.Text("Corridors", style={"font-size": "22px", "font-weight": "700"})
        solara.Text(view.title, style={"font-size": "16px"}, classes=["corridors-title"])
        if view.variants:
            solara.Text(f"variants: {', '.join(view.variants)}", style={"color": "#6a1b9a"})
        solara.Text(
            view.day_label,
            style={"font-size": "16px", "font-weight": "500", "color": "#1565c0"},
            classes=["corridors-header-day"],
        )


@solara.component
def DayControls(session: Session, day: solara.Reactive[int], changed: Callable[[], None]):
    RunControls(session, _view(session, day), changed)


@solara.component
def Interventions(
    session: Session, day: solara.Reactive[int], selected: str | None, changed: Callable
):
    # the form gets the scenario's names only: equal from one day to the next, so reacton
    # skips it on a Step
    InterventionPanel(session, form_choices(_view(session, day)), selected, changed)


@solara.component
def TeachTab(session: Session, day: solara.Reactive[int], changed: Callable[[], None]):
    Teaching(session, _view(session, day), changed)


@solara.component
def DownloadsTab(session: Session, day: solara.Reactive[int]):
    Downloads(session, _view(session, day))


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
def RunTab(session: Session, day: solara.Reactive[int], selected, select, changed):
    view = _view(session, day)
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
                # with nothing selected the inspector does not change with the day
                Inspector(session, view if selected else None, selected, changed)
            with solara.Column(classes=["corridors-panel"]):
                Timeline(view)
        with solara.Column(gap="6px", style={"flex": "1 1 420px", "min-width": "360px"}):
            Charts(view)
