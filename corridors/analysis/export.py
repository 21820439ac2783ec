"""Writing a run's outputs: JSON, Parquet, JSON Lines, YAML and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from corridors.analysis.run import RunResult


def scenario_yaml(result: RunResult) -> str:
    """The scenario as run (variants and overrides applied) as YAML."""
    data = result.scenario.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


RUN_FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".yaml", ".png", ".csv")
"""Kinds of file a run writes into its directory; ``--force`` removes these (and only these,
only at the top level) so that no earlier run's plot or table is left beside new data."""


class RunDirError(ValueError):
    """The output directory holds an earlier run's files and replacing them was not asked for."""


def prepare_run_dir(out: Path, force: bool = False) -> None:
    """Make ``out`` ready for a run: new, or emptied of the files a run writes (``force``), or
    refused with :class:`RunDirError` naming what it holds."""
    if out.exists() and not out.is_dir():
        raise RunDirError(f"{out} exists and is not a directory; give another --out")
    if not out.exists():
        out.mkdir(parents=True)
        return
    old = sorted(
        p
        for p in out.iterdir()
        if p.is_file() and not p.is_symlink() and p.suffix in RUN_FILE_SUFFIXES
    )
    if not old:
        return
    if not force:
        shown = ", ".join(p.name for p in old[:4]) + (
            f" and {len(old) - 4} more" if len(old) > 4 else ""
        )
        raise RunDirError(
            f"{out} already holds output files ({shown}); give --force to replace them, "
            "or another --out"
        )
    for path in old:
        path.unlink()


def write_run(result: RunResult, out: Path, plots: bool = True) -> dict[str, Path]:
    """Write every output of a run into ``out``; returns the paths by kind."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "summary": out / "summary.json",
        "series": out / "series.parquet",
        "flows": out / "flows.parquet",
        "events": out / "events.jsonl",
        "scenario": out / "scenario.yaml",
    }
    paths["summary"].write_text(json.dumps(result.summary, indent=2, default=str) + "\n")
    result.series.to_parquet(paths["series"], index=False)
    result.flows.to_parquet(paths["flows"], index=False)
    with paths["events"].open("w", encoding="utf-8") as fh:
        for record in result.events.to_dict(orient="records"):
            fh.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    paths["scenario"].write_text(scenario_yaml(result), encoding="utf-8")
    if plots:
        from corridors.analysis.plots import write_plots

        paths.update(write_plots(result, out))
    return paths
