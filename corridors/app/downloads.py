"""Downloads: the run's series, flows and events as CSV; the scenario with its overrides (and
this session's interventions, as dated events) as YAML."""

from __future__ import annotations

import solara

from corridors.app.session import Session, View


def file_stem(view: View) -> str:
    label = view.scenario + ("+" + "+".join(view.variants) if view.variants else "")
    return f"{label}_seed{view.seed}_day{view.day}"


def report_html(session: Session) -> str:
    """The run so far as one self-contained HTML page (what ``corridors report`` writes)."""
    from corridors.analysis.report import report_html as make
    from corridors.app import geo

    return make(session.result(), geo.load_countries())


def report_markdown(session: Session) -> str:
    from corridors.analysis.report import report_markdown as make

    return make(session.result())


@solara.component
def Downloads(session: Session, view: View):
    stem = file_stem(view)
    with solara.Column(gap="6px", classes=["corridors-downloads"]):
        solara.Text("A report to hand out:", style={"font-weight": "600"})
        solara.FileDownload(
            lambda: report_html(session),
            filename=f"{stem}_report.html",
            mime_type="text/html",
            children=[
                solara.Button(
                    "Run report (one HTML page: outcomes, key events, plots, map; works offline)",
                    icon_name="mdi-file-document-outline",
                    classes=["corridors-report-html"],
                    text=True,
                )
            ],
        )
        solara.FileDownload(
            lambda: report_markdown(session),
            filename=f"{stem}_report.md",
            mime_type="text/markdown",
            children=[
                solara.Button(
                    "Run report (Markdown text)",
                    icon_name="mdi-language-markdown-outline",
                    classes=["corridors-report-md"],
                    text=True,
                )
            ],
        )
        solara.Text(
            f"The run so far (day {view.day} of {view.n_days}):",
            style={"font-weight": "600"},
        )
        solara.FileDownload(
            session.series_csv,
            filename=f"{stem}_series.csv",
            label="Series (CSV: step, date, entity, variable, value)",
            mime_type="text/csv",
        )
        solara.FileDownload(
            session.flows_csv,
            filename=f"{stem}_flows.csv",
            label="Flows (CSV: tonnes per link, flow and day)",
            mime_type="text/csv",
        )
        solara.FileDownload(
            session.events_csv,
            filename=f"{stem}_events.csv",
            label="Events (CSV: the event log with reasons)",
            mime_type="text/csv",
        )
        solara.FileDownload(
            session.scenario_yaml,
            filename=f"{stem}_scenario.yaml",
            label="Scenario (YAML, with overrides and interventions)",
            mime_type="application/x-yaml",
        )
        solara.Text(
            f"The scenario file replays this session when run again with seed {view.seed}.",
            style={"font-size": "12px", "color": "#616161"},
        )
