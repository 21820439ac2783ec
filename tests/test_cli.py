"""The `corridors` command end to end (as a subprocess, as users run it)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

CLI = str(Path(sys.executable).parent / "corridors")


def corridors(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("run") / "lachin"
    return corridors("run", "lachin-2023", "--seed", "1", "--out", str(out)), out


def test_run_writes_every_output(default_run):
    proc, out = default_run
    assert proc.returncode == 0, proc.stderr
    for name in (
        "summary.json",
        "series.parquet",
        "flows.parquet",
        "events.jsonl",
        "scenario.yaml",
        "stocks.png",
        "stress.png",
        "flows_by_link.png",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    # the file describes this run: its seed, and dates that span the days it says it ran
    assert summary["seed"] == 1
    span = dt.date.fromisoformat(summary["end"]) - dt.date.fromisoformat(summary["start"])
    assert span.days == summary["days"] > 0
    assert summary["NKR.shortage_days"] > 200
    series = pd.read_parquet(out / "series.parquet")
    assert list(series.columns) == ["step", "date", "entity", "variable", "value"]
    flows = pd.read_parquet(out / "flows.parquet")
    assert set(flows.link) >= {"lachin", "btc_pipeline"}
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "event" and e["subject"] == "lachin" for e in events)


def test_run_prints_dated_timeline_and_summary(default_run):
    proc, _ = default_run
    assert "2022-12-12" in proc.stdout and "throttled" in proc.stdout
    assert "food stock exhausted" in proc.stdout
    assert "Summary" in proc.stdout and "NKR.shortage_days" in proc.stdout


def test_scenario_as_run_reloads_and_reproduces(default_run, tmp_path):
    _, out = default_run
    proc = corridors("run", str(out / "scenario.yaml"), "--seed", "1", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    first = json.loads((out / "summary.json").read_text())
    again = json.loads((tmp_path / "summary.json").read_text())
    drop = ("scenario",)
    assert {k: v for k, v in first.items() if k not in drop} == {
        k: v for k, v in again.items() if k not in drop
    }


def test_variant_and_set_lift_the_blockade(tmp_path):
    proc = corridors(
        "run", "lachin-2023", "--variant", "no-blockade", "--out", str(tmp_path / "v"), "--no-plots"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "v" / "summary.json").read_text())["NKR.shortage_days"] == 0
    proc = corridors(
        "run", "lachin-2023", "--set", "events=[]", "--out", str(tmp_path / "s"), "--no-plots"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "s" / "summary.json").read_text())["NKR.shortage_days"] == 0


def test_days_option_shortens_the_run(tmp_path):
    proc = corridors("run", "lachin-2023", "--days", "20", "--out", str(tmp_path), "--no-plots")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["days"] == 20 and summary["end"] == "2022-12-21"


def test_default_output_directory_is_named_after_the_scenario(tmp_path):
    proc = corridors("run", "lachin-2023", "--days", "3", "--no-plots", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "lachin-2023" / "summary.json").exists()


def test_list_validate_schema():
    listed = corridors("list")
    assert listed.returncode == 0
    assert "lachin-2023" in listed.stdout and "no-blockade" in listed.stdout
    ok = corridors("validate", "lachin-2023", "--variant", "no-blockade")
    assert ok.returncode == 0 and ok.stdout.startswith("OK:")
    schema = json.loads(corridors("schema").stdout)
    assert {"meta", "calendar", "states", "links", "flows", "events"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_list_shows_titles_and_what_variants_change_not_templates():
    listed = corridors("list")
    assert listed.returncode == 0, listed.stderr
    out = " ".join(listed.stdout.split())
    assert "Lachin corridor blockade" in out
    # each variant with what it changes, in words
    line = next(x for x in listed.stdout.splitlines() if x.strip().startswith("- no-blockade:"))
    assert len(line.split(":", 1)[1].split()) > 8  # what it changes, in a sentence or more
    # the template is offered to copy, not as a scenario to run
    names = [line.split()[0] for line in listed.stdout.splitlines() if line and line[0] != " "]
    assert "template" not in names and "lachin-2023" in names
    assert "copy the template" in out


def test_brief_prints_briefing_and_questions():
    brief = corridors("brief", "lachin-2023")
    assert brief.returncode == 0, brief.stderr
    assert brief.stdout.startswith("# Lachin corridor blockade")
    assert "## Briefing" in brief.stdout and "## Questions" in brief.stdout
    bad = corridors("brief", "no-such-scenario")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_report_is_one_offline_file_with_outcomes_events_and_plots(default_run, tmp_path):
    proc, out = default_run
    assert proc.returncode == 0, proc.stderr
    html_path = tmp_path / "report.html"
    made = corridors("report", str(out), "--out", str(html_path))
    assert made.returncode == 0, made.stderr
    text = html_path.read_text(encoding="utf-8")
    # self-contained: no script, nothing fetched
    assert "<script" not in text and "src=" not in text and "@import" not in text
    assert "Key outcomes" in text and "Nagorno-Karabakh: first shortage" in text
    assert "scenario assumption" in text or "record (" in text  # where each event comes from
    assert "model" in text and not re.search(r"\bnan\b", text, re.IGNORECASE)
    for plot in ("plot-map", "plot-stocks", "plot-humanitarian-stress", "plot-flows-by-link"):
        assert plot in text
    md = html_path.with_suffix(".md").read_text(encoding="utf-8")
    assert md.startswith("# Lachin corridor blockade") and "| date | day |" in md
    missing = corridors("report", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_compare_rank_names_the_variant_whose_outcome_is_finely_balanced(tmp_path):
    # a Russia not at war lowers P(offensive) from ~0.85 to ~0.3 over 20 seeds: a
    # probability that single runs disagree on, and the warning says which lever it is about
    out = corridors(
        "compare", "lachin-2023", "--rank", "--variant", "russia-not-at-war",
        "--variant", "no-blockade", "--seeds", "20", "--workers", "1",
        "--out", str(tmp_path / "levers"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert warnings
    assert all("russia-not-at-war" in w and " variant " not in w for w in warnings)
    assert (tmp_path / "levers" / "levers.csv").exists()
