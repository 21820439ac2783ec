"""The Solara front end without a browser: components rendered with ``solara.render`` and driven
through their widgets; the session, actions, map geometry, comparison and sweep code directly."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

solara = pytest.importorskip("solara")
import ipyvuetify as v  # noqa: E402
import ipywidgets as widgets  # noqa: E402

from corridors.app import actions, assets, geo  # noqa: E402
from corridors.app.session import Session, parse_overrides  # noqa: E402
from corridors.scenarios import load_scenario, variant_names  # noqa: E402
from corridors.scenarios import schema as sc  # noqa: E402

# ---------------------------------------------------------------------------- widget helpers


def walk(widget):
    """Every widget under ``widget`` (depth first), following children and other traits."""
    seen: set[int] = set()
    stack = [widget]
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        if isinstance(w, widgets.Widget):
            yield w
            for name in w.keys:
                value = getattr(w, name, None)
                if isinstance(value, widgets.Widget):
                    stack.append(value)
                elif isinstance(value, list | tuple):
                    stack.extend(x for x in value if isinstance(x, widgets.Widget))
                elif isinstance(value, dict):
                    stack.extend(x for x in value.values() if isinstance(x, widgets.Widget))


def all_text(root) -> str:
    parts = []
    for w in walk(root):
        for name in ("children", "unsafe_innerHTML", "label", "v_model"):
            value = getattr(w, name, None)
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, list):
                parts.extend(x for x in value if isinstance(x, str))
    return "\n".join(parts)


def classes_of(w) -> list[str]:
    attributes = getattr(w, "attributes", None)
    extra = attributes.get("class", "") if isinstance(attributes, dict) else ""
    return f"{getattr(w, 'class_', '') or ''} {extra}".split()


def by_class(root, cls: str, kind=widgets.Widget):
    found = [w for w in walk(root) if isinstance(w, kind) and cls in classes_of(w)]
    assert found, f"no widget with class {cls}"
    return found


def button(root, label: str):
    found = [w for w in walk(root) if isinstance(w, v.Btn) and label in (w.children or [])]
    assert found, f"no button {label!r}"
    return found[0]


def select(root, label: str):
    found = [w for w in walk(root) if isinstance(w, v.Select) and w.label == label]
    assert found, f"no select {label!r}"
    return found[0]


def map_widget(root):
    return next(w for w in walk(root) if hasattr(w, "legend_status"))


def images(root) -> list[bytes]:
    return [w.value for w in walk(root) if isinstance(w, widgets.Image)]


def charts(root) -> list:
    """The browser-side charts (echart.vue widgets)."""
    return [w for w in walk(root) if hasattr(w, "tail") and hasattr(w, "option")]


def html_of(root, cls: str) -> str:
    return "".join(w.unsafe_innerHTML or "" for w in by_class(root, cls))


@pytest.fixture
def page():
    from corridors.app.main import Page

    box, rc = solara.render(Page(), handle_error=False)
    yield box
    rc.close()


# ---------------------------------------------------------------------------- pieces


def test_assets_follow_the_installed_solara():
    specs = {p.name: p for p in assets.packages()}
    template = Path(solara.__file__).parent / "server" / "templates" / "solara.html.j2"
    text = template.read_text()
    app = specs["@widgetti/solara-vuetify-app"]
    assert f"@widgetti/solara-vuetify-app@{app.version}/" in text
    assert f"requirejs@{specs['requirejs'].version}/" in text
    assert {"font-awesome", "world-atlas", "@widgetti/vue-grid-layout"} <= set(specs)


def test_missing_assets_are_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("SOLARA_ASSETS_PROXY_CACHE_DIR", str(tmp_path))
    gone = assets.missing()
    assert any(g.startswith("@widgetti/solara-vuetify-app@") for g in gone)
    assert assets.world_atlas_file() is None
    from corridors.app.serve import serve

    assert serve(port=0) == 2  # refuses to start a server that would ask a CDN


def test_server_environment_is_offline():
    from corridors.app.serve import command, offline_env

    env = offline_env({})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1")
    assert env["SOLARA_MODE"] == "production"
    assert "corridors.app.asgi:app" in command()


def test_topojson_decoder_and_border_paths():
    # two squares sharing an edge, quantised and delta-encoded as world-atlas ships them
    topology = {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.5], "translate": [40.0, 38.0]},
        "arcs": [
            [[2, 0], [0, 2]],  # shared edge (41,38) → (41,39)
            [[2, 2], [-2, 0], [0, -2], [2, 0]],  # west square, rest of ring
            [[2, 0], [2, 0], [0, 2], [-2, 0]],  # east square, rest of ring
        ],
        "objects": {
            "countries": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0, 1]], "properties": {"name": "West"}},
                    {
                        "type": "MultiPolygon",
                        "arcs": [[[2, ~0]]],
                        "properties": {"name": "East"},
                    },
                ],
            }
        },
    }
    west, east = geo.decode_countries(topology)
    assert west.name == "West"
    assert west.polygons[0][0][0] == (41.0, 38.0)
    assert west.bbox == (40.0, 38.0, 41.0, 39.0)
    assert east.bbox == (41.0, 38.0, 42.0, 39.0)
    assert east.polygons[0][0][-1] == (41.0, 38.0)  # the shared arc, reversed, closes it
    proj = geo.fit([(40.5, 38.5), (41.5, 38.5)])
    paths = geo.border_paths(proj, [west, east], tolerance=0.1)
    assert [p["name"] for p in paths] == ["West", "East"]
    assert all(p["d"].startswith("M") and p["d"].endswith("Z") for p in paths)
    x, y = proj(41.0, 38.5)
    assert 0 < x < proj.width and 0 < y < proj.height


def test_real_borders_cover_the_caucasus():
    if assets.world_atlas_file() is None:
        pytest.skip("world-atlas not fetched (python -m corridors.app.assets)")
    proj = geo.fit([(44.5, 40.2), (49.9, 40.4), (46.75, 39.82)])
    names = {p["name"] for p in geo.border_paths(proj)}
    assert {"Armenia", "Azerbaijan", "Georgia", "Iran"} <= names


def test_actions_come_from_the_schema():
    specs = {a.action: a for a in actions.event_actions()}
    schema_actions = set()
    for cls in actions.event_classes():
        schema_actions |= set(cls.model_fields["action"].annotation.__args__)
    assert set(specs) == schema_actions
    assert {"close_link", "open_link", "throttle_link", "deny_transit", "grant_transit"} <= set(
        specs
    )
    kinds = {f.name: f.kind for f in specs["throttle_link"].fields}
    assert kinds == {"link": "link", "fraction": "fraction"}
    kinds = {f.name: f.kind for f in specs["deny_transit"].fields}
    assert kinds["state"] == kinds["to"] == "state"
    event = actions.build_event("throttle_link", {"link": "lachin", "fraction": 0.3}, "why")
    assert event == {"action": "throttle_link", "link": "lachin", "fraction": 0.3, "reason": "why"}
    event = actions.build_event(
        "set_parameter", {"path": "parameters.stress_rise_per_day", "value": "0.05"}
    )
    assert event["value"] == 0.05


def test_a_new_action_in_the_schema_gets_a_form(monkeypatch):
    from typing import Annotated, Literal

    from pydantic import Field

    class Blockade(sc._EventBase):
        """Hypothetical: a naval blockade of a state."""

        action: Literal["naval_blockade"]
        target: str
        strength: float = Field(0.5, ge=0, le=1)
        port_link: str

    union = sc.Event.__args__[0] | Blockade
    monkeypatch.setattr(sc, "Event", Annotated[union, Field(discriminator="action")])
    actions.event_actions.cache_clear()
    try:
        spec = actions.action_spec("naval_blockade")
        kinds = {f.name: f.kind for f in spec.fields}
        assert kinds == {"target": "state", "strength": "fraction", "port_link": "link"}
        assert spec.label == "Naval blockade"
    finally:
        actions.event_actions.cache_clear()


def test_session_steps_intervenes_and_exports(tmp_path):
    session = Session(days=40)
    assert session.view().day == 0
    session.step(10)
    entry = session.intervene({"action": "close_link", "link": "lachin", "reason": "test"})
    assert entry.kind == "intervention"
    view = session.view()
    assert view.link("lachin")["status"] == "closed"
    assert (view.events.kind == "intervention").sum() == 1
    session.step(5)
    assert session.view().day == 15
    series = pd.read_csv(__import__("io").StringIO(session.series_csv()))
    assert set(series.columns) == {"step", "date", "entity", "variable", "value"}
    assert "intervention" in session.events_csv()
    assert "lachin" in session.flows_csv()
    text = session.scenario_yaml()
    file = tmp_path / "replay.yaml"
    file.write_text(text)
    replay = load_scenario(file)
    added = [e for e in replay.events if e.name == "intervention_1"]
    assert added and added[0].action == "close_link"
    assert added[0].date == dt.date(2022, 12, 11)
    session.reset()
    assert session.view().day == 0
    assert session.interventions == []


def test_overrides_text():
    assert parse_overrides("# c\nparameters.stress_rise_per_day=0.05\n\n") == {
        "parameters.stress_rise_per_day": 0.05
    }


# ---------------------------------------------------------------------------- the page


def test_page_renders_map_charts_timeline(page):
    text = all_text(page)
    assert "Lachin corridor blockade" in text
    assert "Day 0 of 319" in text
    m = map_widget(page)
    assert {s["name"] for s in m.states} >= {"Armenia", "Nagorno-Karabakh", "Azerbaijan"}
    lachin = next(lk for lk in m.links if lk["name"] == "lachin")
    assert lachin["status"] == "open"
    assert lachin["color"] == "#2e7d32"
    shown = charts(page)
    assert len(shown) >= 3  # stocks, stress, flows (+ extra series)
    titles = [json.loads(c.option)["title"]["text"] for c in shown]
    assert "Stocks in Nagorno-Karabakh (t)" in titles
    assert all("·" not in t and "(" in t for t in titles)  # entity and unit, no codes


def test_controls_step_intervene_and_timeline(page):
    stocks = next(c for c in charts(page) if "Stocks" in json.loads(c.option)["title"]["text"])
    layout = stocks.option
    for _ in range(3):
        button(page, "Step").click()
    assert "Day 3 of 319" in all_text(page)
    # the chart gets the new days' values; its layout (and colours) is not sent again
    assert [len(line) for line in json.loads(stocks.tail)] == [4, 4, 4]
    assert stocks.option == layout
    select(page, "Speed (days per step)").v_model = "1 week"
    button(page, "Step").click()
    assert "Day 10 of 319" in all_text(page)

    # interventions panel: close the Lachin road now
    select(page, "Action").v_model = "Close link"
    select(page, "link").v_model = "lachin"
    button(page, "Apply now").click()
    text = all_text(page)
    assert "link lachin closed" in text
    timeline = html_of(page, "corridors-timeline-body")
    assert 'data-kind="intervention"' in timeline
    assert "link lachin closed" in timeline
    lachin = next(lk for lk in map_widget(page).links if lk["name"] == "lachin")
    assert lachin["status"] == "closed"
    assert lachin["color"] == "#c62828"

    # the map selects a link for the inspector; the inspector reopens it
    map_widget(page).vue_event_select("link:lachin")  # what a click on the map sends
    assert "road link, Armenia" in html_of(page, "corridors-inspector-body")
    button(page, "Reopen").click()
    lachin = next(lk for lk in map_widget(page).links if lk["name"] == "lachin")
    assert lachin["status"] == "open"
    assert html_of(page, "corridors-timeline-body").count('data-kind="intervention"') == 2

    # a throttle with its slider value; a bad event shows an error, not a traceback
    select(page, "Action").v_model = "Throttle link"
    button(page, "Apply now").click()
    assert "throttled to 10%" in all_text(page)
    select(page, "Action").v_model = "Set parameter"
    commit(text_field(page, "value"), "not a number")
    button(page, "Apply now").click()
    assert by_class(page, "corridors-intervention-error")


def text_field(root, label: str):
    found = [
        w
        for w in walk(root)
        if isinstance(w, v.TextField | v.Textarea) and (w.label or "").startswith(label)
    ]
    assert found, f"no text field {label!r}"
    return found[0]


def commit(field, value: str) -> None:
    """Type into a text field and leave it, as a user does (fields commit on focus-out)."""
    field.v_model = value
    field.fire_event("focusout", None)


def test_scenario_picker_variant_seed_overrides_and_reset():
    from corridors.app.main import Page

    session = Session()
    box, rc = solara.render(Page(session=session), handle_error=False)
    try:
        variants = variant_names("lachin-2023")
        assert "no-blockade" in variants
        picker = select(box, "Variants (counterfactuals)")
        assert set(picker.items) >= set(variants)
        picker.v_model = ["no-blockade"]
        assert session.variants == ("no-blockade",)
        assert "no blockade" in all_text(box).lower()
        button(box, "Step").click()
        assert "Day 1 of" in all_text(box)
        button(box, "Reset").click()
        assert "Day 0 of" in all_text(box)

        commit(text_field(box, "Seed"), "7")
        assert session.seed == 7
        commit(text_field(box, "Days"), "30")
        assert "Day 0 of 30" in all_text(box)
        commit(text_field(box, "Changed numbers"), "links.lachin.capacity_t_per_day=400")
        assert session.overrides == {"links.lachin.capacity_t_per_day": 400}
        assert session.view().link("lachin")["capacity_t_per_day"] == 400
        assert "--set links.lachin.capacity_t_per_day=400" in session.scenario_yaml()

        commit(text_field(box, "Changed numbers"), "links.lachn.capacity_t_per_day=400")
        assert by_class(box, "corridors-scenario-error")
        assert "did you mean 'lachin'" in all_text(box)
        assert session.overrides == {"links.lachin.capacity_t_per_day": 400}  # kept the last good
    finally:
        rc.close()


def test_two_pages_do_not_share_a_model():
    from corridors.app.main import Page

    box_a, rc_a = solara.render(Page(), handle_error=False)
    box_b, rc_b = solara.render(Page(), handle_error=False)
    try:
        for _ in range(4):
            button(box_a, "Step").click()
        assert "Day 4 of" in all_text(box_a)
        assert "Day 0 of" in all_text(box_b)
        select(box_a, "Action").v_model = "Close link"
        select(box_a, "link").v_model = "lachin"
        button(box_a, "Apply now").click()
        assert "intervention" in html_of(box_a, "corridors-timeline-body")
        assert "intervention" not in html_of(box_b, "corridors-timeline-body")
    finally:
        rc_a.close()
        rc_b.close()


def _tab(root, name: str) -> None:
    from corridors.app.main import TABS

    tabs = next(w for w in walk(root) if isinstance(w, v.Tabs))
    tabs.v_model = TABS.index(name)


def test_teach_tab_briefing_and_debrief(page):
    select(page, "Speed (days per step)").v_model = "1 month"
    button(page, "To end").click()
    assert "finished" in all_text(page)
    _tab(page, "Teach")
    text = all_text(page)
    assert "Briefing" in text and "trilateral statement" in text
    assert "It is not a forecast" in text
    # the default scenario has lesson cards: walk them to the debrief
    total = int(re.search(r"card 1 of (\d+)", text).group(1))
    for _ in range(total - 1):
        button(page, "Next").click()
    debrief = html_of(page, "lesson-debrief")
    assert "Key events" in debrief and "Your prediction, the run, the record" in debrief
    assert "Nagorno-Karabakh" in debrief and "(no prediction recorded)" in debrief
    assert not re.search(r"\bnan\b", debrief)


def test_plain_teach_tab_without_lesson_cards_has_briefing_and_debrief():
    from corridors.app.main import Page

    session = Session(scenario="template")  # no lesson cards
    box, rc = solara.render(Page(session=session), handle_error=False)
    try:
        session.run_to_end()
        _tab(box, "Teach")
        text = all_text(box)
        assert "It is not a forecast" in text and "Debrief" in text
        assert "What happened" in text and "Why" in text
    finally:
        rc.close()


def test_briefing_lists_questions_and_things_to_try():
    from corridors.app.teaching import briefing_html

    text = briefing_html(
        {
            "title": "T",
            "briefing": "B",
            "questions": ["How long can it hold out?"],
            "things_to_try": [{"text": "Close the road", "set": "links.x.status=closed"}],
        }
    )
    assert "How long can it hold out?" in text
    assert "Close the road" in text and "links.x.status=closed" in text


def test_downloads_tab(page):
    _tab(page, "Downloads")
    labels = all_text(page)
    for what in ("Series (CSV", "Flows (CSV", "Events (CSV", "Scenario (YAML"):
        assert what in labels


def test_compare_tab_runs_both_sides_on_the_same_seeds(page):
    _tab(page, "Compare")
    assert select(page, "A: variant").v_model == "(none)"
    select(page, "B: variant").v_model = "no-blockade"
    seeds = next(w for w in walk(page) if isinstance(w, v.TextField) and "Seeds" in w.label)
    seeds.v_model = "2"
    button(page, "Run comparison").click()
    text = all_text(page)
    assert "outcome (mean over seeds)" in text
    assert select(page, "Series").v_model.endswith("· stress")
    assert any(img for img in images(page))


def test_paired_differences():
    from corridors.app.compare import Side, compare_runs

    comparison = compare_runs(
        Side("lachin-2023"), Side("lachin-2023", ("no-blockade",)), [1, 2], days=90
    )
    paired = comparison.paired("Nagorno-Karabakh · stress")
    assert len(paired) == 91
    assert (paired["diff"] <= 1e-12).all()  # the open road never leaves more stress
    assert paired["diff"].iloc[-1] < -0.1
    table = comparison.outcome_table()
    assert table.loc["NKR.shortage_days", "B − A"] < 0


def _fake_sweep(folder: Path) -> None:
    (folder / "runs").mkdir(parents=True)
    (folder / "outcomes").mkdir()
    rows, outs = [], []
    run_id = 0
    for rise in (0.01, 0.02, 0.03):
        for cap in (200.0, 400.0, 800.0, 1000.0):
            for seed in (1, 2):
                rows.append(
                    {
                        "run_id": run_id,
                        "point": run_id // 2,
                        "replicate": seed - 1,
                        "seed": seed,
                        "status": "ok",
                        "elapsed_s": 0.1 + seed / 100,
                        "parameters.stress_rise_per_day": rise,
                        "links.lachin.capacity_t_per_day": cap,
                    }
                )
                outs.append(
                    {"run_id": run_id, "NKR.peak_stress": rise * 20 - cap / 2000 + seed / 100}
                )
                run_id += 1
    pd.DataFrame(rows).to_parquet(folder / "runs" / "part-000000.parquet")
    pd.DataFrame(outs).to_parquet(folder / "outcomes" / "part-000000.parquet")
    (folder / "manifest.json").write_text(json.dumps({"format": "test"}))
    pd.DataFrame(
        {
            "outcome": ["NKR.peak_stress"] * 2,
            "parameter": ["parameters.stress_rise_per_day", "links.lachin.capacity_t_per_day"],
            "S1": [0.7, 0.2],
            "ST": [0.75, 0.25],
        }
    ).to_csv(folder / "sobol.csv", index=False)


def test_sweep_explorer_reads_a_sweep_directory(tmp_path, monkeypatch):
    from corridors.app import sweep

    _fake_sweep(tmp_path / "out" / "sweeps" / "s1")
    monkeypatch.setenv("CORRIDORS_SWEEP_ROOT", str(tmp_path))
    assert sweep.find_sweeps() == ["out/sweeps/s1"]
    with pytest.raises(sweep.SweepError, match="outside"):
        sweep.resolve_dir("../")
    with pytest.raises(sweep.SweepError, match="outside"):
        sweep.resolve_dir("/etc")
    s = sweep.load(sweep.resolve_dir("out/sweeps/s1"))
    assert set(s.parameters) == {
        "parameters.stress_rise_per_day",
        "links.lachin.capacity_t_per_day",
    }
    assert s.outcomes == ["NKR.peak_stress"]
    table = sweep.heatmap_table(
        s, "links.lachin.capacity_t_per_day", "parameters.stress_rise_per_day", "NKR.peak_stress"
    )
    assert table.shape == (3, 4)
    rho = sweep.rank_sensitivity(s, "NKR.peak_stress")
    assert rho["parameters.stress_rise_per_day"] > 0 > rho["links.lachin.capacity_t_per_day"]

    box, rc = solara.render(sweep.SweepExplorer(), handle_error=False)
    try:
        field = select(box, "Sweep directory")
        assert field.v_model == "out/sweeps/s1"
        button(box, "Open").click()
        assert "24 runs" in all_text(box)
        assert len(images(box)) == 3  # heatmap, distribution, sensitivity
        assert "Indices saved with the sweep (sobol.csv)" in all_text(box)
        field.v_model = "../.."  # a tampered select: only listed directories open
        button(box, "Open").click()
        assert "choose one of the sweep directories listed" in all_text(box)
        assert "24 runs" not in all_text(box)
    finally:
        rc.close()


def eventually(check, timeout: float = 30.0) -> None:
    """Wait for a condition a background thread brings about (the play loop draws the page
    from its own thread)."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {check.__doc__ or check}"
        time.sleep(0.05)


def test_play_and_pause():
    from corridors.app.main import Page

    session = Session()
    box, rc = solara.render(Page(session=session), handle_error=False)
    try:
        button(box, "Play").click()
        eventually(lambda: session.view().day >= 2, timeout=60)
        button(box, "Pause").click()
        assert not session.playing  # once the click returns, no play step starts
        assert session.wait_shown()
        paused = session.view().day
        eventually(lambda: f"Day {paused} of" in all_text(box))
        eventually(lambda: not button(box, "Step").disabled)
        button(box, "Step").click()
        assert session.wait_shown()
        assert session.view().day == paused + 1
        eventually(lambda: f"Day {paused + 1} of" in all_text(box))
    finally:
        rc.close()


# ---------------------------------------------------------------------------- the lesson flow

LESSON = Path(__file__).parent / "fixtures" / "lesson-lachin.yaml"


def test_lesson_flow_records_the_prediction_and_debriefs_against_run_and_record():
    from corridors.app import lesson
    from corridors.app.main import Page

    session = Session()
    data = LESSON.read_bytes()
    with LESSON.open("rb") as fh:
        upload = session.catalog.add_upload(LESSON.name, len(data), fh.read)
    session.configure(upload)
    box, rc = solara.render(Page(session=session), handle_error=False)
    try:
        tab = next(w for w in walk(box) if isinstance(w, v.Tabs))
        tab.v_model = 3  # Teach
        text = all_text(box)
        assert "A model is a small, explicit set of assumptions" in text
        assert "It is not a forecast" in text
        assert "One road in" in text and "card 1 of 6" in text
        button(box, "Next").click()
        assert "When does Nagorno-Karabakh first run short?" in all_text(box)
        toggle = next(w for w in walk(box) if isinstance(w, v.BtnToggle))
        # nothing is chosen for the class: no answer selected, nothing to record yet
        assert not toggle.mandatory and toggle.v_model is None
        assert button(box, "Record the class's prediction").disabled
        toggle.v_model = 1  # "Within three months"
        button(box, "Record the class's prediction").click()
        assert session.predictions == {"1": "Within three months"}
        assert "Recorded: Within three months" in all_text(box)
        # the card and the prediction survive a tab switch
        tab.v_model = 0
        tab.v_model = 3
        assert "Recorded: Within three months" in all_text(box)
        session.run_to_end()
        for _ in range(4):
            button(box, "Next").click()
        debrief = html_of(box, "lesson-debrief")
        # key events first, each saying where it comes from; then prediction, run and record
        assert debrief.index("Key events") < debrief.index("Your prediction, the run")
        assert "scenario assumption" in debrief or "record (" in debrief
        assert "Within three months" in debrief
        shortage = session.summary()["NKR.first_shortage_date"]
        assert shortage and shortage in debrief
        assert "2023-09-19 (ACAPS; RFE/RL (V2))" in debrief  # the record, with its source
        assert "nan" not in debrief
    finally:
        rc.close()
    handout = lesson.handout_html(session.spec)
    assert "When does Azerbaijan attack?" in handout and "☐ Within a month" in handout
    assert "<script" not in handout and "--" not in handout.replace("<!--", "")


def test_projector_map_names_focus_links_and_states_by_name(page):
    m = map_widget(page)
    assert not m.presentation
    focus = {lk["name"] for lk in m.links if lk["focus"]}
    assert {"lachin", "aghdam"} <= focus  # the roads into Nagorno-Karabakh
    lachin = next(lk for lk in m.links if lk["name"] == "lachin")
    assert lachin["width"] >= 9
    assert "t carried today" in lachin["title"] and "open" in lachin["title"]
    # names, never codes, in what the map writes
    assert all(s["label"] == s["name"] and "(" not in s["title"] for s in m.states)
    assert {"Armenia", "Azerbaijan", "Georgia"} <= {c["name"] for c in m.countries}
    x0, _, x1, _ = m.focus_box
    assert x1 - x0 < m.width / 2  # the scenario's area, not the whole map
    assert [s["stress"] for s in m.stress_scale] == [0.0, 0.25, 0.5, 0.75, 1.0]
    next(
        w for w in walk(page) if getattr(w, "label", "").startswith("Projector view")
    ).v_model = True
    assert map_widget(page).presentation


def test_mesa_solaraviz_page_drives_conflict_model(monkeypatch):
    """Mesa's own SolaraViz (Mesa's viz extra, in corridors[app]) steps a ConflictModel."""
    from corridors.app import mesa_page

    made = []
    monkeypatch.setattr(
        mesa_page,
        "new_model",
        lambda: made.append(mesa_page.ConflictModel("lachin-2023", rng=1)) or made[-1],
    )
    box, rc = solara.render(solara.AppLayout(children=[mesa_page.Page()]), handle_error=False)
    try:
        text = all_text(box)
        assert "Corridors with Mesa's SolaraViz" in text or "Step" in text
        step = next(w for w in walk(box) if isinstance(w, v.Btn) and "Step" in all_text(w))
        step.fire_event("click", {})
        assert len(made) == 1 and made[0].steps == 1
    finally:
        rc.close()


def test_a_run_travels_in_a_link_and_replays_deterministically():
    a = Session(seed=3, overrides={"parameters.stress_rise_per_day": 0.05})
    a.step(10)
    a.intervene({"action": "close_link", "link": "lachin", "reason": "class: blockade"})
    a.step(5)
    a.intervene({"action": "open_link", "link": "lachin"})
    a.step(7)
    token = a.state_token()
    b = Session()  # another tab, or another machine running the app
    b.restore(token)
    assert b.run_state() == a.run_state()
    assert b.view().day == 22
    assert b.summary() == a.summary()
    pd.testing.assert_frame_equal(b.view().events, a.view().events)
    # nothing in a link is trusted: a bad one changes nothing and says why
    for bad in ("", "not-a-token", token[:-7] + "AAAAAAA", "x" * 50_000):
        with pytest.raises(Exception) as info:
            b.restore(bad)
        assert "link" in str(info.value) or "not" in str(info.value)
        assert b.view().day == 22
    import base64
    import json
    import zlib

    def forged(**changes):
        state = {**a.run_state(), **changes}
        raw = zlib.compress(json.dumps(state).encode())
        return base64.urlsafe_b64encode(raw).decode()

    for state in (
        {"scenario": "/etc/passwd"},
        {"scenario": "../lachin-2023"},
        {"day": 10**9},
        {"seed": -1},
        {"interventions": [[1, {"action": "close_link", "link": "nowhere"}]]},
        {"overrides": {"meta.title": {"nested": 1}}},
    ):
        with pytest.raises(Exception):  # noqa: B017
            b.restore(forged(**state))
        assert b.run_state() == a.run_state()


def test_the_intervention_form_keeps_its_selection_after_apply(page):
    select(page, "Action").v_model = "Close link"
    select(page, "link").v_model = "aghdam"
    button(page, "Apply now").click()
    assert "link aghdam closed" in all_text(page)
    assert select(page, "link").v_model == "aghdam"
    select(page, "Action").v_model = "Open link"
    select(page, "link").v_model = "aghdam"
    button(page, "Apply now").click()
    assert select(page, "link").v_model == "aghdam"
    assert "link aghdam reopened" in all_text(page)


def test_compare_keeps_results_and_uses_the_run_tabs_seed_and_overrides(monkeypatch):
    from corridors.app import compare
    from corridors.app.main import Page

    calls = []
    real = compare.compare_runs

    def spy(a, b, seeds, days=None, load=compare.load_scenario):
        calls.append((seeds, days, load("lachin-2023").parameters))
        return real(a, b, seeds, days=days, load=load)

    monkeypatch.setattr(compare, "compare_runs", spy)
    session = Session(seed=7, days=30, overrides={"parameters.stress_rise_per_day": 0.05})
    box, rc = solara.render(Page(session=session), handle_error=False)
    try:
        _tab(box, "Compare")
        seeds = next(w for w in walk(box) if isinstance(w, v.TextField) and "Seeds" in w.label)
        assert seeds.v_model == "7-11"  # from the Run tab's seed
        seeds.v_model = "7,8"
        button(box, "Run comparison").click()
        (used_seeds, used_days, parameters), *_ = calls
        assert used_seeds == [7, 8] and used_days == 30
        assert parameters.stress_rise_per_day == 0.05
        table = all_text(box)
        assert "largest difference first" in table and "nan" not in table.lower()
        _tab(box, "Run")
        _tab(box, "Compare")  # the result survives a tab switch
        assert "largest difference first" in all_text(box)
        assert len(calls) == 1
    finally:
        rc.close()
