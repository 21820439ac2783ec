"""The app never trusts the browser (issue 18), without a browser: every id goes through the
session's catalog, uploads stay with their session, inputs are bounded before any work, the
downloaded YAML cannot be subverted, the sweep explorer reads only regular files in its root,
errors are one line, and no diagnostic route or Dask listener is open to the network.

The same attacks through Chromium are in ``test_app_hostile.py``."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("solara")

from corridors.app import limits
from corridors.app.catalog import Catalog, CatalogError
from corridors.app.errors import error_text, guarded
from corridors.app.session import Session, parse_overrides
from corridors.app.yamlout import comment, emit_yaml
from corridors.scenarios import ScenarioError, load_scenario
from corridors.scenarios.schema import Scenario

LIBRARY = Path(__file__).resolve().parents[1] / "corridors" / "scenarios" / "library"
TEMPLATE = LIBRARY / "template.yaml"


def all_text(root) -> str:
    """Every string shown under a widget (children, labels, HTML)."""
    import ipywidgets as widgets

    parts, stack, seen = [], [root], set()
    while stack:
        w = stack.pop()
        if id(w) in seen or not isinstance(w, widgets.Widget):
            continue
        seen.add(id(w))
        for name in w.keys:
            value = getattr(w, name, None)
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, widgets.Widget):
                stack.append(value)
            elif isinstance(value, list | tuple):
                for x in value:
                    (parts.append(x) if isinstance(x, str) else stack.append(x))
            elif isinstance(value, dict):
                stack.extend(value.values())
    return "\n".join(parts)


def add(catalog: Catalog, data: bytes, name: str = "mine.yaml") -> str:
    return catalog.add_upload(name, len(data), io.BytesIO(data).read)


# ---------------------------------------------------------------------------- ids, not paths

SECRET = "TOP-SECRET-LINE-18"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.yaml"
    path.write_text(f"{SECRET}: 1\n")
    return path


@pytest.mark.parametrize(
    "tampered",
    [
        "/etc/passwd",
        "/etc/shadow",
        "../../../../etc/passwd",
        "README.md",
        "pyproject",
        str(TEMPLATE),
        "lachin-2023.yaml",
        "lachin-2023/../template",
        "",
        None,
        42,
        ["lachin-2023"],
        {"name": "lachin-2023"},
    ],
)
def test_a_scenario_id_that_is_not_in_the_catalog_opens_nothing(tampered, secret_file):
    session = Session()
    before = session.spec
    with pytest.raises(CatalogError, match="choose a built-in scenario") as info:
        session.configure(tampered)
    assert session.spec is before and session.scenario == "lachin-2023"
    assert SECRET not in str(info.value) and "root:" not in str(info.value)
    with pytest.raises(CatalogError):
        session.configure(str(secret_file))


@pytest.mark.parametrize(
    "variants",
    [
        ["/etc/passwd"],
        ["../../../../etc/passwd"],
        [str(LIBRARY / "variants" / "lachin-2023" / "no-blockade.yaml")],
        ["no-airlift"],  # a real variant, of another scenario
        "no-blockade",  # a string, not a list
        [["no-blockade"]],
        ["no-blockade"] * (limits.MAX_VARIANTS + 1),
    ],
)
def test_variants_are_only_the_scenarios_own(variants):
    session = Session()
    with pytest.raises(CatalogError):
        session.configure("lachin-2023", variants=variants)
    assert session.variants == ()


def test_uploads_belong_to_their_session_and_go_with_it(tmp_path: Path):
    data = TEMPLATE.read_bytes()
    mine, theirs = Catalog(root=tmp_path), Catalog(root=tmp_path)
    upload_id = add(mine, data, "island.yaml")
    assert upload_id == "island (upload 1)" and upload_id in mine.scenario_ids()
    assert upload_id not in theirs.scenario_ids()
    with pytest.raises(CatalogError):
        theirs.source(upload_id)
    # the other session's file on disk is not reachable by its path either
    (stored,) = list(tmp_path.rglob("island.yaml"))
    with pytest.raises(CatalogError):
        theirs.source(str(stored))
    with pytest.raises(CatalogError):
        mine.source(str(stored))  # not even by the session that uploaded it
    # the same label in another session names that session's own file
    other_id = add(theirs, data.replace(b'title: "Template', b'title: "Theirs', 1), "island.yaml")
    assert other_id == upload_id
    assert mine.load(upload_id).meta.title != theirs.load(other_id).meta.title
    # closing a session deletes its uploads and nothing else
    session = Session(scenario=upload_id, catalog=mine)
    session.close()
    assert not stored.exists()
    assert theirs.load(other_id) is not None
    with pytest.raises(CatalogError):
        mine.source(upload_id)


def test_upload_errors_name_the_file_not_the_server_path(tmp_path: Path):
    catalog = Catalog(root=tmp_path)
    with pytest.raises(ScenarioError) as info:
        add(catalog, b"extends: lachin-2023\nlinks: [{name: lachin, capacity_t_per_day: -1}]\n")
    assert str(tmp_path) not in info.value.report()
    assert "mine.yaml" in info.value.report()


def test_an_upload_may_extend_only_a_builtin(tmp_path: Path, secret_file):
    catalog = Catalog(root=tmp_path)
    for base in (str(secret_file), "../secret", "/etc/passwd"):
        with pytest.raises(ScenarioError, match="only a built-in scenario"):
            add(catalog, f"extends: {base}\n".encode())


# ---------------------------------------------------------------------------- bounds


def test_a_huge_seed_range_is_refused_before_it_is_expanded():
    tracemalloc.start()
    started = time.perf_counter()
    for text in ("1-30000000", "1-9999999999", "0-4000000000", "30000000"):
        with pytest.raises(limits.LimitError, match="between 1 and 50 seeds"):
            limits.parse_seeds(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - started < 0.5
    assert peak < 1_000_000, peak
    with pytest.raises(limits.LimitError, match="characters"):
        limits.parse_seeds(",".join(["1"] * 1_000_000))
    with pytest.raises(limits.LimitError):
        limits.parse_seeds("1," * 60)
    assert limits.parse_seeds("3-5") == [3, 4, 5]
    assert limits.parse_seeds("1,2,7") == [1, 2, 7]


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_seed_text_gives_a_few_seeds_or_a_clear_refusal(text):
    try:
        seeds = limits.parse_seeds(text)
    except limits.LimitError as exc:
        assert str(exc).startswith("seeds:")
    else:
        assert 1 <= len(seeds) <= limits.MAX_SEEDS
        assert all(0 <= s <= limits.MAX_SEED for s in seeds)


@pytest.mark.parametrize("seed", [-1, 2**64, "1" * 5000, "1e9", True, 1.5, None, [1]])
def test_seeds_and_days_from_a_tampered_widget(seed):
    session = Session()
    with pytest.raises(limits.LimitError):
        session.configure("lachin-2023", seed=seed)
    with pytest.raises(limits.LimitError):
        session.configure("lachin-2023", days=10**9)
    assert session.seed == 1


def test_overrides_are_bounded_and_cannot_set_extends():
    with pytest.raises(limits.LimitError, match="the limit is"):
        parse_overrides("parameters.x=" + "a" * 1_000_000)
    with pytest.raises(limits.LimitError, match="lines"):
        parse_overrides("\n".join(f"parameters.p{i}=1" for i in range(100)))
    session = Session()
    for path in ("extends", "extends.x"):
        with pytest.raises(ScenarioError, match="cannot be set by an override"):
            session.configure("lachin-2023", overrides={path: "/etc/passwd"})
    with pytest.raises(ScenarioError, match="cannot be set by an override"):
        load_scenario("lachin-2023", overrides={"extends": "template"})
    with pytest.raises(CatalogError, match="at most"):
        session.configure("lachin-2023", overrides={"calendar.end": "2060-01-01"})


def test_reasons_and_names_of_interventions_are_bounded():
    session = Session()
    event = {"action": "close_link", "link": "lachin"}
    with pytest.raises(limits.LimitError, match="reason"):
        session.intervene({**event, "reason": "x" * 1_000_000})
    with pytest.raises(limits.LimitError, match="name"):
        session.intervene({**event, "name": "x" * 10_000})
    assert session.interventions == []


def _states(n: int, flow_style: bool) -> bytes:
    if flow_style:
        items = ",".join(f"{{name: s{i}}}" for i in range(n))
        return f"meta: {{title: many}}\nstates: [{items}]\n".encode()
    return (
        "meta: {title: many}\nstates:\n" + "".join(f"- name: s{i}\n" for i in range(n))
    ).encode()


@pytest.mark.parametrize("flow_style", [False, True])
def test_too_many_states_are_counted_before_a_full_parse(tmp_path: Path, flow_style: bool):
    catalog = Catalog(root=tmp_path)
    data = _states(30_000, flow_style)
    assert len(data) < limits.MAX_UPLOAD_BYTES
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match="states: more than 200 items"):
        add(catalog, data)
    assert time.perf_counter() - started < 1.0  # a full parse takes several seconds
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_alias_and_value_counts_are_bounded_before_a_full_parse(tmp_path: Path):
    catalog = Catalog(root=tmp_path)
    data = ("meta: {title: x}\nnotes: [" + ",".join(["1"] * 60_000) + "]\n").encode()
    with pytest.raises(ScenarioError, match="more than 50,000 values"):
        add(catalog, data)


def test_an_oversized_upload_is_not_read(tmp_path: Path):
    def never(_: int) -> bytes:
        raise AssertionError("read although too big")

    with pytest.raises(ScenarioError, match="the limit is"):
        Catalog(root=tmp_path).add_upload("big.yaml", limits.MAX_UPLOAD_BYTES + 1, never)
    with pytest.raises(ScenarioError):
        Catalog(root=tmp_path).add_upload("big.yaml", "12", never)


# ---------------------------------------------------------------------------- downloads

INJECTIONS = [
    "x\nextends: /etc/passwd",
    "x\r\nextends: /etc/passwd",
    "x\u2028extends: /etc/passwd",
    "x\x85extends: /etc/passwd",
    "# comment\n---\nstates: []",
    "a: b",
    "&anchor *alias !!python/object:os.system",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_downloaded_yaml_keeps_text_as_text(text):
    session = Session(overrides={"meta.title": text})
    session.step(2)
    session.intervene({"action": "close_link", "link": "lachin", "reason": text})
    out = session.scenario_yaml()
    data = yaml.safe_load(out)
    assert "extends" not in data
    assert data["meta"]["title"] == text
    assert data["events"][-1]["reason"] == text
    assert set(data) <= set(Scenario.model_fields)
    for line in out.splitlines():
        assert not line.startswith("extends")
    Scenario.model_validate(data)


@given(st.text(max_size=80))
@settings(max_examples=150, deadline=None)
def test_any_text_round_trips_through_the_emitter(text):
    doc = {"meta": {"title": text, "tags": [text]}, "events": [{"reason": text}]}
    out = emit_yaml(doc)
    assert yaml.safe_load(out) == doc
    assert yaml.safe_load(comment(text) + out) == doc


# ---------------------------------------------------------------------------- sweeps


def _sweep(folder: Path) -> None:
    import pandas as pd

    (folder / "runs").mkdir(parents=True)
    (folder / "outcomes").mkdir()
    runs = pd.DataFrame({"run_id": range(6), "parameters.a": [1.0, 2, 3, 1, 2, 3]})
    outs = pd.DataFrame({"run_id": range(6), "y": [1.0, 2, 3, 2, 3, 4]})
    runs.to_parquet(folder / "runs" / "part-0.parquet")
    outs.to_parquet(folder / "outcomes" / "part-0.parquet")


def test_the_sweep_explorer_reads_no_link_out_of_its_root(tmp_path: Path, monkeypatch):
    from corridors.app import sweep

    root, outside = tmp_path / "root", tmp_path / "outside"
    _sweep(root / "good")
    _sweep(outside / "elsewhere")
    (outside / "secret.csv").write_text(f"outcome,{SECRET}\ny,1\n")
    monkeypatch.setenv("CORRIDORS_SWEEP_ROOT", str(root))
    # a linked folder is not offered, and cannot be opened
    (root / "linked").symlink_to(outside / "elsewhere", target_is_directory=True)
    assert sweep.find_sweeps() == ["good"]
    with pytest.raises(sweep.SweepError):
        sweep.load(sweep.resolve_dir("linked"))
    assert sweep.load(sweep.resolve_dir("good")).parameters == ["parameters.a"]
    # a file inside a sweep that links out of the root stops the whole sweep being read
    (root / "good" / "sobol.csv").symlink_to(outside / "secret.csv")
    with pytest.raises(sweep.SweepError, match="not a regular file inside"):
        sweep.load(sweep.resolve_dir("good"))
    (root / "good" / "sobol.csv").unlink()
    (root / "good" / "outcomes" / "part-1.parquet").symlink_to(
        outside / "elsewhere" / "outcomes" / "part-0.parquet"
    )
    with pytest.raises(sweep.SweepError, match="not a regular file inside"):
        sweep.load(sweep.resolve_dir("good"))
    (root / "good" / "outcomes" / "part-1.parquet").unlink()
    os.mkfifo(root / "good" / "sensitivity.csv")
    with pytest.raises(sweep.SweepError, match="not a regular file inside"):
        sweep.load(sweep.resolve_dir("good"))


# ---------------------------------------------------------------------------- errors


def test_unexpected_errors_are_one_line_without_internals():
    shown: list[str] = []

    @guarded(shown.append)
    def boom() -> None:
        raise RuntimeError("/srv/secret/path.py line 3")

    boom()
    (text,) = shown
    assert "Traceback" not in text and "/srv" not in text
    assert "RuntimeError" in text
    assert error_text(ScenarioError([])).startswith("invalid scenario")
    assert len(error_text(ValueError("x" * 100_000))) < limits.MAX_TEXT * 20


def test_names_with_markup_are_drawn_literally():
    """A '$' in a name is not mathtext: a bad formula once replaced the page with a traceback."""
    import pandas as pd

    from corridors.app.charts import figure_png
    from corridors.app.compare import Comparison, Side, difference_figure

    dates = pd.date_range("2023-01-01", periods=3)
    rows = [
        {"seed": 1, "side": s, "date": d, "key": r"$\frac{$ · stress", "value": 1.0}
        for s in ("A", "B")
        for d in dates
    ]
    comparison = Comparison(Side("$\\x"), Side("$^$"), [1], pd.DataFrame(rows), pd.DataFrame())
    assert figure_png(difference_figure(comparison, r"$\frac{$ · stress"))


# ---------------------------------------------------------------------------- sessions


def test_sessions_past_the_cap_get_a_message_and_seats_come_back(monkeypatch):
    import solara

    from corridors.app.main import Page

    monkeypatch.setenv("CORRIDORS_MAX_SESSIONS", "2")
    monkeypatch.setattr(limits, "SEATS", limits.Seats())
    monkeypatch.setattr("corridors.app.main.SEATS", limits.SEATS)
    opened = [solara.render(Page(), handle_error=False) for _ in range(2)]
    assert limits.SEATS.taken == 2
    box, rc = solara.render(Page(), handle_error=False)
    try:
        assert "The app is full" in all_text(box)
    finally:
        rc.close()
    assert limits.SEATS.taken == 2
    opened[0][1].close()
    assert limits.SEATS.taken == 1
    box, rc = solara.render(Page(), handle_error=False)
    try:
        assert "The app is full" not in all_text(box)
        assert "Day 0 of" in all_text(box)
    finally:
        rc.close()
        opened[1][1].close()
    assert limits.SEATS.taken == 0


def test_closing_a_page_deletes_its_uploads(tmp_path: Path, monkeypatch):
    import solara

    from corridors.app.main import Page

    monkeypatch.setenv("CORRIDORS_UPLOAD_ROOT", str(tmp_path))
    captured: list[Session] = []
    real = Session.__init__

    def spy(self, *a, **kw):
        real(self, *a, **kw)
        captured.append(self)

    monkeypatch.setattr(Session, "__init__", spy)
    _, rc = solara.render(Page(), handle_error=False)
    (session,) = captured
    add(session.catalog, TEMPLATE.read_bytes())
    assert list(tmp_path.rglob("*.yaml"))
    rc.close()
    assert not [p for p in tmp_path.rglob("*") if p.exists()]


# ---------------------------------------------------------------------------- listeners


def test_diagnostic_routes_answer_only_loopback_clients(monkeypatch):
    import asyncio

    from corridors.app import asgi

    assert asgi.is_loopback("127.0.0.1") and asgi.is_loopback("::1")
    assert not asgi.is_loopback("192.0.2.7") and not asgi.is_loopback("testclient")
    passed: list[str] = []

    async def solara_app(scope, receive, send):
        passed.append(scope["path"])

    monkeypatch.setattr(asgi, "solara_app", solara_app)

    def get(path: str, client: str) -> int | None:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "path": path, "client": (client, 50000)}
        asyncio.run(asgi.app(scope, receive, send))
        return sent[0]["status"] if sent else None

    for path in ("/resourcez", "/resourcez/", "/_solara/api/evict/abc"):
        assert get(path, "192.0.2.7") == 404, path
        assert get(path, "127.0.0.1") is None  # handed to Solara
    assert get("/", "192.0.2.7") is None
    assert passed == ["/resourcez", "/resourcez/", "/_solara/api/evict/abc", "/"]


def test_serve_defaults_end_sessions_and_stay_on_loopback():
    from corridors.app import serve

    env = serve.offline_env({})
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == serve.SESSION_TIMEOUT
    assert env["SOLARA_SESSION_SECRET_KEY"] != "change me"
    assert serve.offline_env({}, session_timeout="45s")["SOLARA_KERNEL_CULL_TIMEOUT"] == "45s"
    cmd = serve.command()
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and serve.ASGI_APP in cmd
    with pytest.raises(ValueError):
        serve.parse_timeout("3m; rm -rf /")
    assert serve.serve(host="0.0.0.0", dev=True) == 2


def test_the_embedded_dask_cluster_listens_only_for_its_own_comms():
    pytest.importorskip("distributed")
    import psutil

    from corridors.analysis.executors import open_executor

    with open_executor(workers=1, dask="local") as (executor, _):
        info = executor._client.scheduler_info()
        comms = {info["address"]} | set(info["workers"])
        comms |= {w["nanny"] for w in info["workers"].values() if w.get("nanny")}
        comm_ports = {int(a.rsplit(":", 1)[1]) for a in comms}
        me = psutil.Process()
        listening = set()
        for proc in [me, *me.children(recursive=True)]:
            try:
                conns = proc.net_connections(kind="tcp")
            except psutil.Error:
                continue
            listening |= {(c.laddr.ip, c.laddr.port) for c in conns if c.status == "LISTEN"}
    assert listening, "found no listener at all"
    assert all(ip == "127.0.0.1" for ip, _ in listening), listening
    # no dashboard on :8787, no HTTP server anywhere: only the scheduler's, nannies' and
    # workers' own comm ports
    assert {port for _, port in listening} <= comm_ports, (listening, comms)


@given(st.text(max_size=200) | st.binary(max_size=50).map(lambda b: b.decode("latin-1")))
@settings(max_examples=200, deadline=None)
def test_no_text_but_a_catalog_id_names_a_scenario(text):
    catalog = Catalog()
    if text in catalog.builtins():
        assert catalog.source(text) == text
        return
    with pytest.raises(CatalogError):
        catalog.source(text)
    with pytest.raises(CatalogError):
        catalog.check_variants("lachin-2023", [text])


def test_a_component_that_fails_to_draw_shows_one_line(monkeypatch):
    import solara

    from corridors.app import main

    @solara.component
    def Broken(*args, **kwargs):  # noqa: N802 - a component
        raise RuntimeError("/srv/corridors/secret.py: boom")

    monkeypatch.setattr(main, "RunTab", Broken)
    box, rc = solara.render(main.Page(), handle_error=False)
    try:
        text = all_text(box)
        assert "something went wrong on the server (RuntimeError)" in text
        assert "Traceback" not in text and "/srv" not in text
        assert "Try again" in text
    finally:
        rc.close()
