"""Downloads: the run's series, flows and events as CSV; the scenario with its overrides (and
this session's interventions, as dated events) as YAML."""

from __future__ import annotations

import solara

from corridors.app.session import Session, View


def file_stem(view: View) -> str:
    label = view.scenario + ("+" + "+".join(view.variants) if view.variants else "")
    return f"{label}_seed{view.seed}_day{view.day}"


@solara.component
def Downloads(session: Session, view: View):
    stem = file_stem(view)
    with solara.Column(gap="6px", classes=["corridors-downloads"]):
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
            "Run the YAML again with `corridors run FILE --seed N` to replay this session.",
            style={"font-size": "12px", "color": "#616161"},
        )
