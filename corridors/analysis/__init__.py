"""Runs, outputs and plots; sweeps and comparisons build on these."""

from corridors.analysis.run import RunResult, collect_result, run_scenario, series_frame, summarise

__all__ = ["RunResult", "collect_result", "run_scenario", "series_frame", "summarise"]
