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
