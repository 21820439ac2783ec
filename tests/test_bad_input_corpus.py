"""The bad-input corpus (tests/bad_inputs/): every broken file or value gets one clear line.

Each scenario and sweep-spec file holds exactly one fault and names the message it must produce
on its first line (``# expect: …``); ``set_values.tsv`` lists bad ``--set`` values the same way.
For each: the Python API raises :class:`corridors.ScenarioError` (sweep specs: its subclass
``SweepSpecError``) with that message, naming the file and, where it can be known, the line; the
CLI exits 2 with one ``error:`` line on stderr, writes nothing, and never shows a traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from corridors import ScenarioError, load_scenario
from corridors.analysis.sweepspec import SweepSpecError, load_spec
from corridors.scenarios import parse_set
from corridors.scenarios.yamlsafe import MAX_FILE_BYTES

CORPUS = Path(__file__).parent / "bad_inputs"
CLI = str(Path(sys.executable).parent / "corridors")
SCENARIOS = sorted((CORPUS / "scenarios").glob("*.yaml"))
SWEEPS = sorted((CORPUS / "sweeps").glob("*.yaml"))
SETS = [
    tuple(line.split("\t"))
    for line in (CORPUS / "set_values.tsv").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]
NO_LINE = {"empty-file", "only-comments", "binary-garbage", "not-utf8"}
"""Faults where no line can be named (the file as a whole is wrong)."""


def expected(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), path
    return first.removeprefix("# expect: ")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def assert_one_clear_error(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert fragment in lines[0], (fragment, lines[0])


def test_the_corpus_covers_at_least_forty_distinct_faults() -> None:
    faults = {p.stem.removesuffix("-a").removesuffix("-b") for p in SCENARIOS}
    faults |= {f"sweep:{p.stem}" for p in SWEEPS}
    faults |= {f"set:{arg}" for arg, _ in SETS}
    assert len(faults) >= 40, len(faults)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_api_raises_one_clear_problem(path: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a tag that ran a command would leave PWNED here
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert expected(path) in message
    assert "\n" not in message
    assert len(info.value.problems) == 1, info.value.report()
    if path.stem not in NO_LINE:
        assert re.search(r"\.yaml:\d+: ", message), message
    assert path.name in message or "extends-cycle" in message
    assert not (tmp_path / "PWNED").exists()


def test_cli_validate_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        procs = list(pool.map(lambda p: cli("validate", str(p), cwd=tmp_path), SCENARIOS))
    for path, proc in zip(SCENARIOS, procs, strict=True):
        assert_one_clear_error(proc, expected(path))
        assert not proc.stdout
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "name", ["python-object-tag", "misspelled-link-endpoint", "flow-with-no-route", "alias-bomb"]
)
def test_cli_run_refuses_without_writing(name: str, tmp_path: Path) -> None:
    path = CORPUS / "scenarios" / f"{name}.yaml"
    proc = cli("run", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_clear_error(proc, expected(path))
    assert not (tmp_path / "out").exists()


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * (MAX_FILE_BYTES + 10) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="the limit is"):
        load_scenario(path)
    assert_one_clear_error(cli("validate", str(path)), "the limit is")


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_bad_sweep_specs_raise_before_any_run(path: Path) -> None:
    with pytest.raises(SweepSpecError) as info:
        load_spec(path)
    assert expected(path) in str(info.value)
    assert len(info.value.problems) == 1, info.value.report()
    assert isinstance(info.value, ScenarioError)


def test_cli_sweep_refuses_bad_specs(tmp_path: Path) -> None:
    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return cli("sweep", str(path), "--out", str(tmp_path / path.stem), cwd=tmp_path)

    with ThreadPoolExecutor(4) as pool:
        procs = list(pool.map(run, SWEEPS))
    for path, proc in zip(SWEEPS, procs, strict=True):
        assert_one_clear_error(proc, expected(path))
        assert not (tmp_path / path.stem).exists()
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(("arg", "fragment"), SETS, ids=[a for a, _ in SETS])
def test_bad_set_values(arg: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        path, value = parse_set(arg)
        load_scenario("lachin-2023", overrides={path: value})
    assert fragment in str(info.value)
    assert str(info.value).startswith("--set")


def test_cli_set_values_exit_2() -> None:
    with ThreadPoolExecutor(4) as pool:
        procs = list(pool.map(lambda s: cli("validate", "lachin-2023", "--set", s[0]), SETS))
    for (_, fragment), proc in zip(SETS, procs, strict=True):
        assert_one_clear_error(proc, fragment)
        assert "--set" in proc.stderr


def test_no_code_paths_that_run_or_unpickle_input() -> None:
    """No eval/exec, no unsafe YAML, no pickle loads, no shell=True anywhere in the package."""
    package = Path(__file__).resolve().parents[1] / "corridors"
    banned = re.compile(
        r"\b(eval|exec)\(|yaml\.(load|unsafe_load|full_load)\(|pickle\.loads?\(|shell=True"
        r"|__import__\("
    )
    offenders = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in package.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if banned.search(line)
    ]
    assert offenders == []


def _minimal(n_states: int, days: int) -> dict:
    return {
        "meta": {"title": "limits"},
        "calendar": {"start": "2024-01-01", "days": days},
        "states": [{"name": f"S{i}", "code": f"S{i}", "lat": 0, "lon": 0} for i in range(n_states)],
    }


@pytest.mark.parametrize(
    ("n_states", "days", "fragment"),
    [(5_001, 10, "5,001 states; the limit is 5,000"), (2, 36_501, "must be at most 36500")],
)
def test_documented_limits_give_clear_errors(n_states: int, days: int, fragment: str) -> None:
    from corridors.scenarios.loader import validate_data

    with pytest.raises(ScenarioError) as info:
        validate_data(_minimal(n_states, days), "<limits>")
    assert fragment in str(info.value)


def test_sweep_run_limit(tmp_path: Path) -> None:
    spec = tmp_path / "huge.yaml"
    spec.write_text(
        "scenario: lachin-2023\nparameters:\n"
        "  parameters.stress_rise_per_day: {range: [0.01, 0.05], steps: 10000}\n"
        "  parameters.stress_recovery_per_day: {range: [0.01, 0.05], steps: 10000}\n"
        "design: grid\noutcomes: [NKR.shortage_days]\n",
        encoding="utf-8",
    )
    with pytest.raises(SweepSpecError, match="the limit is 5,000,000"):
        load_spec(spec)
