"""One test per class of fault a tester's corpus of broken inputs found (issue 11): each is
refused with exactly one message, naming the file (overlay, variant or ``--set`` option
included) and the line the user wrote; messages stay readable; limits agree with the docs; the
CLI's loose ends (``--version``, ``-h``, progress in a pipe, ``analyze --out``, ``--force``)."""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corridors import ScenarioError, load_scenario
from corridors.analysis.sweepspec import SweepSpecError, load_spec
from corridors.cli import app
from corridors.scenarios import parse_set
from corridors.scenarios.loader import MAX_DAYS, MAX_FLOWS, MAX_LINKS, MAX_STATES
from corridors.scenarios.yamlsafe import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, read_yaml_text

BASE = """\
meta: {title: fault base}
calendar: {start: 2024-01-01, days: 30}
states:
  - {name: Alpha, code: ALP, lat: 0, lon: 0, population: 1000}
  - {name: Beta, code: BET, lat: 1, lon: 1}
  - {name: Gamma, code: GAM, lat: 2, lon: 2}
links:
  - {name: road, mode: road, a: Beta, b: Alpha, capacity_t_per_day: 100}
  - {name: air, mode: air, a: Gamma, b: Alpha, capacity_t_per_day: 10, carries: [food]}
flows:
  - {name: aid, commodity: food, origin: Beta, destination: Alpha, quantity_t_per_day: 10}
events:
  - {name: closure, date: 2024-01-10, action: close_link, link: road}
  - {name: p1, date: 2024-01-11, action: set_parameter,
     path: parameters.capacity_noise_cv, value: 0.2}
  - {name: p2, date: 2024-01-12, action: set_parameter,
     path: parameters.capacity_noise_cv, value: 0.3}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def one_problem(call, *args, **kw):
    """The single problem ``call`` raises (fails if it raises none or several)."""
    with pytest.raises(ScenarioError) as info:
        call(*args, **kw)
    assert len(info.value.problems) == 1, info.value.report()
    return info.value.problems[0]


def line_of(text: str, needle: str) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path, "base.yaml", BASE)


def with_set(path: Path, *assignments: str):
    return load_scenario(path, overrides=dict(parse_set(a) for a in assignments))


# ---------------------------------------------------------------------------- blame


def test_a_fault_an_overlay_brings_into_the_base_is_blamed_on_the_overlay(tmp_path, base):
    text = "extends: base.yaml\nstates:\n  - {name: Beta, delete: true}\n"
    overlay = write(tmp_path, "overlay.yaml", text)
    problem = one_problem(load_scenario, overlay)
    assert problem.where.file == str(overlay)
    assert problem.where.line == line_of(text, "delete")
    assert "unknown state 'Beta'" in problem.message and "base.yaml:" in problem.message


def test_a_variant_fault_names_the_variant(tmp_path, base):
    variant = write(tmp_path, "v.yaml", "states:\n  - {name: Gamma, delete: true}\n")
    problem = one_problem(load_scenario, base, variants=[str(variant)])
    assert problem.where.file == str(variant)
    assert "unknown state 'Gamma'" in problem.message


def test_a_set_option_that_invalidates_other_lines_is_named(base):
    problem = one_problem(with_set, base, "calendar.start=2030-01-01")
    assert problem.where.file == "--set calendar.start"
    assert "2030-01-01 would make the scenario invalid" in problem.message
    assert "outside the calendar" in problem.message and "2 more" in problem.message


def test_a_fault_inside_an_extends_base_names_the_extends_line(tmp_path):
    broken = BASE.replace("lat: 1, lon: 1", 'lat: 1, lon: "east"')
    write(tmp_path, "broken.yaml", broken)
    top = write(tmp_path, "top.yaml", "# my scenario\nextends: broken.yaml\n")
    problem = one_problem(load_scenario, top)
    assert problem.where.file.endswith("broken.yaml")
    assert problem.where.line == line_of(broken, "east")
    assert f"reached through 'extends:' at {top}:2" in str(problem)


def test_a_sweep_variant_fault_names_the_spec_line(tmp_path, base):
    write(tmp_path, "v.yaml", "states:\n  - {name: Gamma, delete: true}\n")
    spec = write(
        tmp_path,
        "spec.yaml",
        "scenario: base.yaml\nvariants: [v.yaml]\ndesign: {type: grid}\nparameters:\n"
        "  parameters.capacity_noise_cv: {levels: [0.1, 0.2]}\noutcomes: [shortage_days]\n",
    )
    with pytest.raises(SweepSpecError) as info:
        load_spec(spec)
    assert len(info.value.problems) == 1, info.value.report()
    text = str(info.value.problems[0])
    assert "v.yaml" in text and f"variants listed at {spec}:2" in text


def test_nesting_and_nul_faults_give_their_line(tmp_path):
    deep = "meta: {title: x}\nstates:\n  - " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    problem = one_problem(load_scenario, write(tmp_path, "deep.yaml", deep))
    assert problem.where.line == 3 and "nesting deeper" in problem.message
    very_deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"  # past Python's recursion limit
    problem = one_problem(load_scenario, write(tmp_path, "deeper.yaml", very_deep))
    assert problem.where.line == 1
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"meta: {title: x}\ncalendar:\n  start: \x00\n")
    problem = one_problem(load_scenario, nul)
    assert problem.where.line == 3 and "NUL" in problem.message


# ---------------------------------------------------------------------------- cascades


def test_one_duplicate_code_is_one_message_whatever_the_events(tmp_path):
    text = BASE.replace("code: GAM", "code: BET")
    problem = one_problem(load_scenario, write(tmp_path, "dup.yaml", text))
    assert problem.message.startswith("duplicate code 'BET'")


def test_a_duplicate_a_set_option_makes_is_blamed_on_the_option(base):
    problem = one_problem(with_set, base, "states.ALP.code=BET")  # Alpha is listed first
    assert problem.where.file == "--set states.ALP.code"
    assert problem.path == "states[0].code" and "duplicate code 'BET'" in problem.message


def test_one_unknown_state_is_one_message(tmp_path):
    text = BASE.replace("a: Gamma, b: Alpha", "a: Gamma, b: Alphaa")
    problem = one_problem(load_scenario, write(tmp_path, "unk.yaml", text))
    assert "unknown state 'Alphaa'" in problem.message


def test_a_bad_set_parameter_event_is_still_caught(tmp_path):
    text = BASE.replace("path: parameters.capacity_noise_cv, value: 0.3", "path: x.y, value: 1")
    problem = one_problem(load_scenario, write(tmp_path, "ev.yaml", text))
    assert problem.path == "events[2].path"


# ---------------------------------------------------------------------------- accepted, now refused


@pytest.mark.parametrize(
    "old, new, fragment",
    [
        ("population: 1000", "population: yes", "'population' needs a number, got true"),
        ("population: 1000", "population: {value: off}", "needs a number, got false"),
        ("capacity_t_per_day: 100", "capacity_t_per_day: on", "needs a number, got true"),
        ("lat: 1, lon: 1}", "lat: 1, lon: 1, patron: Beta}", "cannot be its own patron"),
        (
            "lat: 1, lon: 1}",
            "lat: 1, lon: 1, guarantees: [{protects: Beta}]}",
            "cannot be its own guarantor",
        ),
        ("code: GAM", "code: G.M", "contains '.'"),
    ],
)
def test_values_that_were_accepted_are_refused(tmp_path, old, new, fragment):
    text = BASE.replace(old, new, 1)
    problem = one_problem(load_scenario, write(tmp_path, "bad.yaml", text))
    assert fragment in problem.message
    assert problem.where.line == line_of(text, new.split("\n")[0])


@pytest.mark.parametrize(
    "metric, fragment",
    [
        ("series:Omega:stress", "unknown state, link or flow 'Omega'"),
        ("ZZZ.shortage_days", "unknown state code 'ZZZ'"),
        ("Alpha.shortage_days", "write 'ALP.shortage_days'"),
        ("arms_share.Alpha.Omega", "unknown state 'Omega'"),
        ("link.rood.carried_t", "unknown link 'rood' in the metric — did you mean 'road'?"),
    ],
)
def test_a_target_naming_what_does_not_exist_is_refused(tmp_path, metric, fragment):
    text = BASE + f"targets:\n  - {{name: t, role: check, metric: '{metric}', value: 1}}\n"
    problem = one_problem(load_scenario, write(tmp_path, "t.yaml", text))
    assert problem.path == "targets[0].metric" and fragment in problem.message
    good = BASE + "targets:\n  - {name: t, role: check, metric: 'ALP.shortage_days', value: 1}\n"
    load_scenario(write(tmp_path, "ok.yaml", good))


def test_true_false_set_and_negative_positions_are_refused(base):
    problem = one_problem(with_set, base, "states.ALP.population=no")
    assert problem.where.file == "--set states.ALP.population"
    assert "needs a number" in problem.message
    problem = one_problem(with_set, base, "states.-1.lat=3")
    assert problem.where.file == "--set states.-1.lat" and "position from 0 to 2" in (
        problem.message
    )
    assert with_set(base, "states.2.lat=3").states[2].lat == 3


def test_calendars_past_year_9999_are_refused_not_crashed(base):
    problem = one_problem(with_set, base, "calendar.start=9999-12-20", "events=[]")
    assert "runs past the last date there is" in problem.message
    sc = with_set(base, "calendar.start=9999-12-01", "events=[]")
    assert sc.end_date.isoformat() == "9999-12-31"


@pytest.mark.parametrize(
    "parameters, overrides",
    [
        (["states.Alpha.population", "states.ALP.population"], []),
        (["parameters.capacity_noise_cv", "capacity_noise_cv"], []),
        (["states.Alpha.lat"], ["states.0.lat"]),
    ],
)
def test_a_sweep_that_sets_one_field_twice_is_refused(tmp_path, base, parameters, overrides):
    lines = ["scenario: base.yaml", "design: {type: grid}", "outcomes: [shortage_days]"]
    if overrides:
        lines += ["overrides:"] + [f"  {k}: 1" for k in overrides]
    lines += ["parameters:"] + [f"  {k}: {{levels: [1, 2]}}" for k in parameters]
    spec = write(tmp_path, "spec.yaml", "\n".join(lines) + "\n")
    with pytest.raises(SweepSpecError) as info:
        load_spec(spec)
    assert len(info.value.problems) == 1, info.value.report()
    problem = info.value.problems[0]
    assert "is the same field as" in problem.message
    assert problem.where.line == len(lines)


# ---------------------------------------------------------------------------- bounded reads


def test_special_files_are_refused_also_through_extends(tmp_path):
    top = write(tmp_path, "dev.yaml", "meta: {title: x}\nextends: /dev/zero\n")
    started = time.monotonic()
    problem = one_problem(load_scenario, top)
    assert "not a regular file" in problem.message
    assert f"reached through 'extends:' at {top}:2" in str(problem)
    assert time.monotonic() - started < 30
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    result: list[BaseException] = []

    def load() -> None:
        try:
            load_scenario(fifo)
        except ScenarioError as exc:
            result.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "reading a named pipe blocked"
    assert "not a regular file" in str(result[0])


# ---------------------------------------------------------------------------- readable


def test_invisible_and_look_alike_characters_are_shown_escaped(base):
    problem = one_problem(with_set, base, "links.road.a=Al\u200bpha")
    assert "'Al\\u200bpha'" in problem.message and "did you mean 'Alpha'" in problem.message
    problem = one_problem(with_set, base, "links.road.a=Alph\u0430")  # Cyrillic a
    assert "'Alph\\u0430'" in problem.message and "did you mean 'Alpha'" in problem.message


def test_long_values_are_cut_and_printed_once(base):
    name = "x" * 5000
    problem = one_problem(with_set, base, f"links.road.a={name}")
    assert len(str(problem)) < 300 and "5,000 characters" in str(problem)
    text = BASE.replace("lat: 0, lon: 0,", f"lat: 0, lon: 0, {name}: 1,")
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(base.parent, "long.yaml", text))
    assert len(info.value.report()) < 400


def test_suggestions_come_from_the_same_object(tmp_path, base):
    problem = one_problem(with_set, base, "links.road.capacity=3")
    assert "did you mean 'capacity_t_per_day'" in problem.message
    text = "extends: base.yaml\nevents:\n  - {name: closure, delete: please}\n"
    problem = one_problem(load_scenario, write(tmp_path, "del.yaml", text))
    assert "write 'delete: true'" in problem.message and "'date'" not in problem.message


# ---------------------------------------------------------------------------- limits


def test_limits_agree_with_each_other_and_with_the_docs():
    docs = (Path(__file__).parents[1] / "docs" / "reliability.md").read_text(encoding="utf-8")
    for figure in (MAX_FILE_BYTES, MAX_NODES, MAX_STATES, MAX_LINKS, MAX_FLOWS, MAX_DAYS):
        assert f"{figure:,}" in docs, figure
    assert f"{MAX_DEPTH} levels" in docs
    # the fewest bytes a value can take is two ("1,"): no file within the byte limit reaches
    # the value limit without aliases, so the "alias bomb" message cannot hit an honest file
    assert MAX_NODES >= MAX_FILE_BYTES // 2
    links = "".join(
        f"- {{name: l{i}, mode: road, a: S{i % 50}, b: S{(i + 1) % 50}, capacity_t_per_day: 1}}\n"
        for i in range(MAX_LINKS)
    )
    text = "links:\n" + links
    assert len(text.encode()) <= MAX_FILE_BYTES
    assert len(read_yaml_text(text, "many.yaml")["links"]) == MAX_LINKS


# ---------------------------------------------------------------------------- the CLI


runner = CliRunner()
COMMANDS = ["run", "validate", "schema", "list", "app", "sweep", "analyze", "export", "compare"]


def test_version_and_short_help_on_every_command():
    import corridors

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"corridors {corridors.__version__}"
    for command in [*COMMANDS, "calibrate"]:
        result = runner.invoke(app, [command, "-h"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage: corridors " + command in result.output.replace("  ", " ")


def test_sweep_progress_lines_when_stderr_is_not_a_terminal(tmp_path, monkeypatch, capsys):
    from corridors.analysis.sweep import run_sweep

    monkeypatch.setenv("CORRIDORS_PROGRESS_SECONDS", "0.05")
    spec = write(
        tmp_path,
        "spec.yaml",
        "scenario: template\ndays: 60\ndesign: {type: grid}\nparameters:\n"
        "  parameters.capacity_noise_cv: {levels: [0.0, 0.1, 0.2, 0.3]}\n"
        "replicates: 4\noutcomes: [shortage_days]\n",
    )
    run_sweep(load_spec(spec), tmp_path / "out", workers=1, chunk_size=1, progress=True)
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("sweep: ")]
    assert len(lines) >= 2, lines
    assert lines[-1].startswith("sweep: 16/16 runs (100%)")
    done = [int(re.match(r"sweep: (\d+)/", x).group(1)) for x in lines]
    assert done == sorted(done)


def test_run_directory_is_new_emptied_or_refused(tmp_path, monkeypatch):
    out = tmp_path / "run"
    args = ["run", "template", "--days", "3", "--no-plots", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    stale = out / "stocks.png"
    stale.write_bytes(b"an earlier run's plot")
    keep = out / "notes.txt"
    keep.write_text("mine")
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "give --force" in refused.output
    assert stale.exists()
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert not stale.exists() and keep.exists() and (out / "summary.json").exists()
    # the default directory is the command's own: emptied, not refused
    monkeypatch.chdir(tmp_path)
    default = ["run", "template", "--days", "3", "--no-plots"]
    assert runner.invoke(app, default).exit_code == 0
    (tmp_path / "out" / "template" / "stress.png").write_bytes(b"old")
    assert runner.invoke(app, default).exit_code == 0
    assert not (tmp_path / "out" / "template" / "stress.png").exists()


def test_analyze_writes_where_out_says(tmp_path):
    from corridors.analysis.sweep import run_sweep

    spec = write(
        tmp_path,
        "spec.yaml",
        "scenario: template\ndays: 20\ndesign: {type: grid}\nparameters:\n"
        "  parameters.capacity_noise_cv: {levels: [0.0, 0.2]}\noutcomes: [shortage_days]\n",
    )
    sweep = tmp_path / "sweep"
    run_sweep(load_spec(spec), sweep, workers=1)
    tables = tmp_path / "tables"
    result = runner.invoke(app, ["analyze", str(sweep), "summary", "--out", str(tables)])
    assert result.exit_code == 0, result.output
    assert (tables / "summary.csv").stat().st_size > 0
    assert not (sweep / "summary.csv").exists()
