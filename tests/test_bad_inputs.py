"""Broken scenario input gets one clear error: file, line, field path, what is wrong (and the
closest valid name for a misspelling); the CLI exits 2 without a traceback, the API raises
``ScenarioError``.

Each case starts from a small valid scenario and breaks it in exactly one place. The line the
loader should report is marked in the broken file with ``# <-- fault`` (a YAML comment), so
expected line numbers are found in the written text rather than hard-coded.

CLI runs are subprocesses of the installed ``corridors`` script. Start-up is slow (the package
imports Mesa and pandas), so the module starts all the CLI runs its selected tests need at once,
in parallel, and each test then checks its own run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import corridors
import corridors.cli
from corridors import ScenarioError, load_scenario
from corridors.scenarios import Problem, parse_set
from corridors.scenarios.yamlsafe import MAX_FILE_BYTES, MAX_NODES

MARK = "  # <-- fault"
"""Appended to the line a case expects the error to point at."""

ANY_LINE = -1
"""The loader reports a line, but which one is not meaningful for the case (alias bomb)."""

BASE: dict[str, Any] = {
    "meta": {"title": "Tiny"},
    "calendar": {"start": dt.date(2023, 1, 1), "end": dt.date(2023, 2, 1)},
    "states": [
        {"name": "Armenia", "code": "ARM", "lat": 40.0, "lon": 44.0, "population": 1000},
        {"name": "Karabakh", "code": "NKR", "lat": 39.8, "lon": 46.7, "population": 100},
    ],
    "links": [
        {
            "name": "lachin",
            "mode": "road",
            "a": "Armenia",
            "b": "Karabakh",
            "capacity_t_per_day": 100,
        }
    ],
    "flows": [
        {
            "name": "food_in",
            "commodity": "food",
            "origin": "Armenia",
            "destination": "Karabakh",
            "quantity_t_per_day": 10,
        }
    ],
    "events": [
        {"name": "blockade", "date": dt.date(2023, 1, 10), "action": "close_link", "link": "lachin"}
    ],
}
BASE_TEXT = yaml.safe_dump(BASE, sort_keys=False)


def broken(old: str, new: str, text: str = BASE_TEXT) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the base"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based number of the one line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Billion laughs: ``width ** levels`` values from a few hundred bytes."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    """One broken scenario: the files to write (the first is loaded), what the error must say."""

    id: str
    files: Mapping[str, str | bytes]
    fragments: tuple[str, ...]
    path: str
    """Expected field path of the problem ('' when the problem is about the whole file)."""
    has_line: bool = True
    """Whether the loader can know the line; if so, it is the ``MARK`` line of ``err_file``."""
    err_file: str | None = None
    """The file the error names, when not the loaded one (e.g. the other half of a cycle)."""
    variants: tuple[str, ...] = ()
    """Files among ``files`` applied as variants."""
    line_varies: bool = False
    """A line is reported but which one is not meaningful (an alias bomb's)."""

    @property
    def main(self) -> str:
        return next(iter(self.files))

    @property
    def named_file(self) -> str:
        return self.err_file or self.main

    @property
    def line(self) -> int | None:
        if not self.has_line:
            return None
        if self.line_varies:
            return ANY_LINE
        text = self.files[self.named_file]
        assert isinstance(text, str), f"{self.id}: mark the faulty line with MARK"
        return line_of(text, MARK)

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            target = folder / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        return folder / self.main


def case(
    id: str,
    text: str | bytes,
    *fragments: str,
    path: str = "",
    has_line: bool = True,
    line_varies: bool = False,
) -> Case:
    return Case(id, {f"{id}.yaml": text}, fragments, path, has_line, line_varies=line_varies)


_UNCLOSED = broken("  title: Tiny\ncalendar:\n", f"  title: [Tiny\ncalendar:{MARK}\n")
_DUP_KEY = broken("  lat: 40.0\n", f"  lat: 40.0\n  lat: 41.0{MARK}\n")
_SET_PARAM_EVENT = (
    BASE_TEXT
    + "- name: more_capacity\n  date: 2023-01-20\n  action: set_parameter\n"
    + f"  path: links.lachn.capacity_t_per_day{MARK}\n  value: 500\n"
)

CASES: list[Case] = [
    case(
        "yaml_syntax_error",
        broken("  title: Tiny\n", f"  title: Tiny: again{MARK}\n"),
        "YAML syntax error: mapping values are not allowed here",
    ),
    case(
        "yaml_unclosed_bracket",
        _UNCLOSED,
        "YAML syntax error",
        f"flow sequence started on line {line_of(_UNCLOSED, '[Tiny')}",
    ),
    case("empty_file", "", "file is empty", has_line=False),
    case("comments_only", "# nothing here yet\n", "file is empty", has_line=False),
    case(
        "top_level_not_mapping",
        f"- meta{MARK}\n- states\n",
        "a scenario file must be a mapping of sections",
    ),
    case(
        "unknown_top_level_field",
        BASE_TEXT + f"evnts: []{MARK}\n",
        "unknown field 'evnts' — did you mean 'events'?",
        path="evnts",
    ),
    case(
        "unknown_state_field",
        broken("  population: 1000\n", f"  populaton: 1000{MARK}\n"),
        "unknown field 'populaton' — did you mean 'population'?",
        path="states[0].populaton",
    ),
    case(
        "string_for_number",
        broken("capacity_t_per_day: 100\n", f"capacity_t_per_day: lots{MARK}\n"),
        "expected a number, got 'lots'",
        path="links[0].capacity_t_per_day",
    ),
    case(
        "negative_capacity",
        broken("capacity_t_per_day: 100\n", f"capacity_t_per_day: -5{MARK}\n"),
        "must be at least 0, got -5",
        path="links[0].capacity_t_per_day",
    ),
    case(
        "nan_capacity",
        broken("capacity_t_per_day: 100\n", f"capacity_t_per_day: .nan{MARK}\n"),
        "must be a finite number (not NaN or infinity)",
        path="links[0].capacity_t_per_day",
    ),
    case(
        "sourced_number_typo",
        broken(
            "capacity_t_per_day: 100\n",
            f"capacity_t_per_day: {{value: 100, sorce: ACAPS}}{MARK}\n",
        ),
        "unknown key 'sorce' in a sourced number",
        "did you mean 'source'?",
        path="links[0].capacity_t_per_day",
    ),
    case(
        "misspelled_link_endpoint",
        broken("  a: Armenia\n", f"  a: Armenja{MARK}\n"),
        "unknown state 'Armenja' — did you mean 'Armenia'?",
        path="links[0].a",
    ),
    case(
        "markup_like_state_name",
        broken("  a: Armenia\n", f"  a: '[/bold]'{MARK}\n"),
        "unknown state '[/bold]'",
        path="links[0].a",
    ),
    case(
        "misspelled_event_link",
        broken("  link: lachin\n", f"  link: lachn{MARK}\n"),
        "unknown link 'lachn' — did you mean 'lachin'?",
        path="events[0].link",
    ),
    case(
        "duplicate_state_name",
        broken("links:\n", f"- name: Armenia{MARK}\n  code: AR2\n  lat: 1.0\n  lon: 1.0\nlinks:\n"),
        "duplicate name 'Armenia' (also states[0])",
        path="states[2].name",
    ),
    case(
        "link_joins_state_to_itself",
        broken("  b: Karabakh\n", f"  b: Armenia{MARK}\n"),
        "link 'lachin' joins 'Armenia' to itself",
        path="links[0].b",
    ),
    case(
        "unknown_event_action",
        broken("  action: close_link\n", f"  action: close_lnk{MARK}\n"),
        "unknown action 'close_lnk'",
        "did you mean 'close_link'?",
        path="events[0].action",
    ),
    case(
        "event_date_outside_calendar",
        broken("  date: 2023-01-10\n", f"  date: 2024-01-10{MARK}\n"),
        "2024-01-10 is outside the calendar (2023-01-01 to 2023-01-31)",
        path="events[0].date",
    ),
    case(
        "impossible_date",
        broken("  date: 2023-01-10\n", f"  date: 2023-02-30{MARK}\n"),
        "'2023-02-30' is not a valid date",
        path="events[0].date",
    ),
    case(
        "calendar_end_before_start",
        broken("  end: 2023-02-01\n", f"  end: 2022-12-01{MARK}\n"),
        "end 2022-12-01 must be after start 2023-01-01",
        path="calendar.end",
    ),
    case(
        "missing_required_field",
        broken("- name: lachin\n  mode: road\n", f"- name: lachin{MARK}\n"),
        "required field is missing",
        path="links[0].mode",
    ),
    case(
        "duplicate_yaml_key",
        _DUP_KEY,
        f"duplicate key 'lat' (first given on line {line_of(_DUP_KEY, '  lat: 40.0')})",
        path="states[0].lat",
    ),
    case(
        "python_object_apply_tag",
        broken(
            "  title: Tiny\n", f"  title: !!python/object/apply:os.system ['touch PWNED']{MARK}\n"
        ),
        "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
        "plain data only",
        path="meta.title",
    ),
    case(
        "python_name_tag",
        broken("  title: Tiny\n", f"  title: !!python/name:os.system{MARK}\n"),
        "tag 'tag:yaml.org,2002:python/name:os.system' is not allowed",
        path="meta.title",
    ),
    case(
        "alias_bomb",
        alias_bomb(),
        f"document expands to more than {MAX_NODES:,} values once its aliases",
        line_varies=True,
    ),
    case(
        "binary_garbage",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe",
        "binary data, not a YAML text file",
        line_varies=True,
    ),
    case("not_utf8", b"meta:\n  title: caf\xe9\n", "not UTF-8 text", has_line=False),
    case(
        "over_size_limit",
        b"# " + b"x" * MAX_FILE_BYTES + b"\n",
        f"the limit is {MAX_FILE_BYTES:,} bytes",
        has_line=False,
    ),
    case(
        "extends_missing_base",
        f"extends: missing-base.yaml{MARK}\n" + BASE_TEXT,
        "no scenario named 'missing-base.yaml'",
        path="extends",
    ),
    Case(
        "extends_cycle",
        {
            "first.yaml": "extends: second.yaml\nmeta: {title: First}\n",
            "second.yaml": f"extends: first.yaml{MARK}\nmeta: {{title: Second}}\n",
        },
        ("'extends' cycle: first.yaml → second.yaml → first.yaml",),
        path="extends",
        err_file="second.yaml",
    ),
    case(
        "flow_without_route",
        broken(
            "  mode: road\n",
            "  mode: air\n",
            broken("- name: food_in\n", f"- name: food_in{MARK}\n"),
        ),
        "no chain of links can carry food from 'Armenia' to 'Karabakh'",
        path="flows[0]",
    ),
    Case(
        "variant_deletes_missing_name",
        {
            "base.yaml": BASE_TEXT,
            "variant.yaml": f"events:\n- {{name: blokade, delete: true}}{MARK}\n",
        },
        ("cannot delete 'blokade': the base has no such item", "did you mean 'blockade'?"),
        path="events[0]",
        err_file="variant.yaml",
        variants=("variant.yaml",),
    ),
    Case(
        "extends_deletes_missing_name",
        {
            "child.yaml": f"extends: base.yaml\nflows:\n- {{name: food_inn, delete: true}}{MARK}\n",
            "base.yaml": BASE_TEXT,
        },
        ("cannot delete 'food_inn'", "did you mean 'food_in'?"),
        path="flows[0]",
    ),
    case(
        "set_parameter_event_unknown_link",
        _SET_PARAM_EVENT,
        "no item 'lachn' here — did you mean 'lachin'?",
        path="events[1].path",
    ),
]
CASE_IDS = [c.id for c in CASES]
assert len(set(CASE_IDS)) == len(CASE_IDS) >= 20
BY_ID = {c.id: c for c in CASES}

RUN_CASES = [
    "yaml_syntax_error",
    "misspelled_link_endpoint",
    "python_object_apply_tag",
    "alias_bomb",
    "variant_deletes_missing_name",
]
"""Cases also checked through ``corridors run`` (slower, so only a handful)."""

SET_CASES: list[tuple[str, str, str]] = [
    # (--set argument, what the error names, fragment)
    (
        "parameters.stress_rise_per_day",
        "--set",
        "'parameters.stress_rise_per_day' is not PATH=VALUE",
    ),
    ("=0.5", "--set", "has no PATH before '='"),
    (
        "parameters.stress_rise_per_da=0.1",
        "--set parameters.stress_rise_per_da",
        "unknown field 'stress_rise_per_da' — did you mean 'stress_rise_per_day'?",
    ),
    (
        "parameters.stress_rise_per_day=abc",
        "--set parameters.stress_rise_per_day",
        "expected a number, got 'abc'",
    ),
    (
        "parameters.stress_rise_per_day=5",
        "--set parameters.stress_rise_per_day",
        "must be at most 1, got 5",
    ),
    (
        "links.lachin.capacity_t_per_day=-1",
        "--set links.lachin.capacity_t_per_day",
        "must be at least 0, got -1",
    ),
    (
        "links.lachn.capacity_t_per_day=400",
        "--set links.lachn.capacity_t_per_day",
        "no item 'lachn' here — did you mean 'lachin'?",
    ),
    (
        "calendar.start=[2023",
        "--set calendar.start",
        "YAML syntax error",
    ),
]


# ---------------------------------------------------------------------------- CLI plumbing


def corridors_script() -> str:
    beside = Path(sys.executable).parent / "corridors"
    found = str(beside) if beside.exists() else shutil.which("corridors")
    assert found, "the corridors script is not installed next to this Python nor on PATH"
    return found


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_cli(args: list[str], cwd: Path) -> Ran:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "PYTHONIOENCODING": "utf-8",
        "COLUMNS": "100",
        "MPLBACKEND": "Agg",
    }
    for name in ("FORCE_COLOR", "CORRIDORS_DEBUG", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    proc = subprocess.run(
        [corridors_script(), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )
    return Ran(proc.returncode, ANSI.sub("", proc.stdout), ANSI.sub("", proc.stderr))


def cli_jobs(root: Path) -> dict[tuple[str, str], tuple[list[str], Path]]:
    """Every CLI run the tests below check, keyed by (test name, parameter id)."""
    jobs: dict[tuple[str, str], tuple[list[str], Path]] = {}
    for c in CASES:
        folder = root / c.id
        main = c.write(folder)
        variant_args = [a for v in c.variants for a in ("--variant", str(folder / v))]
        jobs["test_cli_validate_reports_one_error", c.id] = (
            ["validate", str(main), *variant_args],
            folder,
        )
        if c.id in RUN_CASES:
            out = folder / "out"
            jobs["test_cli_run_reports_one_error", c.id] = (
                ["run", str(main), *variant_args, "--out", str(out), "--no-plots"],
                folder,
            )
    base = root / "valid" / "base.yaml"
    base.parent.mkdir()
    base.write_text(BASE_TEXT, encoding="utf-8")
    jobs["test_cli_validates_the_base_scenario", ""] = (["validate", str(base)], root)
    for assignment, _, _ in SET_CASES:
        jobs["test_cli_bad_set_value", assignment] = (
            ["validate", str(base), "--set", assignment],
            root,
        )
    jobs["test_cli_bad_option", "unknown_variant"] = (
        ["validate", "lachin-2023", "--variant", "no-blockad"],
        root,
    )
    jobs["test_cli_bad_option", "unknown_scenario"] = (["validate", "lachin-2032"], root)
    jobs["test_cli_bad_option_zero_days", ""] = (
        ["run", str(base), "--days", "0", "--out", str(root / "zero-days")],
        root,
    )
    return jobs


@pytest.fixture(scope="module")
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Runs, in parallel, the CLI jobs of the tests selected in this session; returns a lookup
    ``(test name, parameter id) -> Ran``."""
    jobs = cli_jobs(tmp_path_factory.mktemp("cli"))
    wanted = set()
    for item in request.session.items:
        if item.module is sys.modules[__name__]:
            params_id = item.callspec.id if hasattr(item, "callspec") else ""
            wanted.add((item.originalname, params_id))
    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: dict[tuple[str, str], Future[Ran]] = {
            key: pool.submit(run_cli, *jobs[key]) for key in sorted(wanted & set(jobs))
        }

        def get(test: str, param: str) -> Ran:
            key = (test, param)
            if key not in futures:  # not pre-selected (e.g. re-run); run it now
                futures[key] = pool.submit(run_cli, *jobs[key])
            return futures[key].result()

        yield get


def assert_clean_failure(ran: Ran, *fragments: str) -> str:
    """Exit 2, one ``error:`` line on stderr holding every fragment, nothing on stdout and no
    traceback anywhere; returns the line."""
    assert "Traceback" not in ran.out + ran.err, ran.err
    assert ran.code == 2, (ran.code, ran.err)
    assert ran.out.strip() == ""
    assert len(ran.error_lines) == 1, ran.err
    line = ran.error_lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


# ---------------------------------------------------------------------------- the API


@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_load_scenario_raises_one_clear_problem(
    c: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = c.write(tmp_path)
    monkeypatch.chdir(tmp_path)  # where a `touch PWNED` would land, were a tag ever executed
    variants = [str(tmp_path / v) for v in c.variants]
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(main, variants=variants)
    elapsed = time.perf_counter() - started

    exc = info.value
    assert isinstance(exc, corridors.ScenarioError)
    assert len(exc.problems) == 1, exc.report()
    problem = exc.problems[0]
    assert isinstance(problem, Problem)
    message = str(exc)
    assert message == str(problem)
    for fragment in c.fragments:
        assert fragment in problem.message, (fragment, problem.message)
        assert fragment in message
    assert problem.path == c.path, message

    assert problem.where is not None, message
    assert Path(problem.where.file).name == c.named_file, message
    if c.line is None:
        assert problem.where.line is None, message
        assert f"{c.named_file}: " in message
    elif c.line == ANY_LINE:
        assert problem.where.line is not None, message
    else:
        assert problem.where.line == c.line, message
        assert f"{c.named_file}:{c.line}: " in message
    if c.path:
        assert f": {c.path}: " in message

    assert not (tmp_path / "PWNED").exists(), "a YAML tag ran a shell command"
    assert elapsed < 10, f"took {elapsed:.1f}s to reject"


def test_base_scenario_is_valid(tmp_path: Path) -> None:
    """Each case breaks this in one place; it must itself load (else the cases prove nothing)."""
    path = tmp_path / "base.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    sc = load_scenario(path)
    assert [s.name for s in sc.states] == ["Armenia", "Karabakh"]
    assert sc.calendar.n_days == 31


def test_alias_bomb_fails_fast_without_expanding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(levels=12, width=12), encoding="utf-8")  # 12**12 values
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match="alias bomb"):
        load_scenario(path)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("assignment, names, fragment", SET_CASES, ids=[s[0] for s in SET_CASES])
def test_bad_set_value_raises(assignment: str, names: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "base.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        key, value = parse_set(assignment)
        load_scenario(path, overrides={key: value})
    assert len(info.value.problems) == 1, info.value.report()
    problem = info.value.problems[0]
    assert problem.where is not None
    assert problem.where.file == names
    assert fragment in problem.message
    assert str(info.value).startswith(f"{names}: ")


def test_unknown_variant_and_scenario_raise() -> None:
    with pytest.raises(ScenarioError, match=r"did you mean 'no-blockade'\?"):
        load_scenario("lachin-2023", variants=["no-blockad"])
    with pytest.raises(ScenarioError, match=r"no scenario named 'lachin-2032'.*'lachin-2023'"):
        load_scenario("lachin-2032")


# ---------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_cli_validate_reports_one_error(c: Case, cli: Any) -> None:
    ran = cli("test_cli_validate_reports_one_error", c.id)
    line = assert_clean_failure(ran, *c.fragments, c.named_file)
    if c.line not in (None, ANY_LINE):
        assert f"{c.named_file}:{c.line}: " in line
    if c.path:
        assert f": {c.path}: " in line


@pytest.mark.parametrize("c", [BY_ID[i] for i in RUN_CASES], ids=RUN_CASES)
def test_cli_run_reports_one_error(c: Case, cli: Any) -> None:
    ran = cli("test_cli_run_reports_one_error", c.id)
    assert_clean_failure(ran, *c.fragments, c.named_file)
    assert "Wrote" not in ran.out


def test_cli_validates_the_base_scenario(cli: Any) -> None:
    ran = cli("test_cli_validates_the_base_scenario", "")
    assert ran.code == 0, ran.err
    assert ran.out.startswith("OK: Tiny — 2 states, 1 links, 1 flows, 1 events, 31 days")


@pytest.mark.parametrize("assignment, names, fragment", SET_CASES, ids=[s[0] for s in SET_CASES])
def test_cli_bad_set_value(assignment: str, names: str, fragment: str, cli: Any) -> None:
    ran = cli("test_cli_bad_set_value", assignment)
    line = assert_clean_failure(ran, fragment)
    assert line.startswith(f"error: {names}: "), line


@pytest.mark.parametrize(
    "option, fragments",
    [
        ("unknown_variant", ("no variant 'no-blockad'", "did you mean 'no-blockade'?")),
        ("unknown_scenario", ("no scenario named 'lachin-2032'", "did you mean 'lachin-2023'?")),
    ],
    ids=["unknown_variant", "unknown_scenario"],
)
def test_cli_bad_option(option: str, fragments: tuple[str, ...], cli: Any) -> None:
    assert_clean_failure(cli("test_cli_bad_option", option), *fragments)


def test_cli_bad_option_zero_days(cli: Any) -> None:
    ran = cli("test_cli_bad_option_zero_days", "")
    assert "Traceback" not in ran.out + ran.err
    assert ran.code == 2, ran.err
    assert "--days" in ran.err
    assert "Wrote" not in ran.out


# ---------------------------------------------------------------------------- internal errors


def _main_with(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["corridors", *argv])
    with pytest.raises(SystemExit) as info:
        corridors.cli.main()
    code = info.value.code
    assert isinstance(code, int)
    return code


def test_unexpected_exception_exits_1_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom\n  in [bold]two[/] lines")

    monkeypatch.delenv("CORRIDORS_DEBUG", raising=False)
    monkeypatch.setattr(corridors.cli, "load_scenario", explode)
    assert _main_with(["validate", "lachin-2023"], monkeypatch) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("internal error: RuntimeError: boom in [bold]two[/] lines")
    assert "CORRIDORS_DEBUG=1" in lines[0]


def test_unexpected_exception_reraised_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setenv("CORRIDORS_DEBUG", "1")
    monkeypatch.setattr(corridors.cli, "load_scenario", explode)
    monkeypatch.setattr(sys, "argv", ["corridors", "validate", "lachin-2023"])
    with pytest.raises(RuntimeError, match="boom"):
        corridors.cli.main()


def test_scenario_error_escaping_a_command_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_library() -> list[str]:
        raise ScenarioError([Problem(None, "", "library folder is unreadable [x]")])

    monkeypatch.setattr(corridors.cli, "builtin_names", broken_library)
    assert _main_with(["list"], monkeypatch) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert [line for line in err.splitlines() if line.strip()] == [
        "error: library folder is unreadable [x]"
    ]
