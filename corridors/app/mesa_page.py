"""A page made with Mesa's own visualisation, SolaraViz, driving :class:`ConflictModel`:
``solara run corridors.app.mesa_page``. It shows that the model is an ordinary Mesa model
(Mesa's controls step it, its DataCollector feeds Mesa's plots); the Corridors app
(``corridors app``) is the class-ready front end. Needs ``pip install corridors[app]``
(Mesa's ``viz`` extra). See docs/app.md.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz, make_plot_component

from corridors.analysis.catalogue import scenario_names
from corridors.model import ConflictModel

MODEL_PARAMS = {
    "scenario": {
        "type": "Select",
        "value": "lachin-2023",
        "values": scenario_names(),
        "label": "Scenario",
    },
    "rng": 1,  # fixed: a run is a pure function of scenario and seed
}
"""What Mesa's controls may change (SolaraViz rebuilds the model with them on Reset)."""

COMPONENTS = [
    make_plot_component({"shipped_today_t": "tab:blue"}),
    make_plot_component({"displaced": "tab:red"}),
]


def new_model() -> ConflictModel:
    return ConflictModel("lachin-2023", rng=1)


@solara.component
def Page():
    # one model per browser session (a model built at module level would be shared)
    model = solara.use_memo(lambda: new_model(), [])  # noqa: PLW0108 (patched in tests)
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=MODEL_PARAMS,
        name="Corridors with Mesa's SolaraViz",
    )
