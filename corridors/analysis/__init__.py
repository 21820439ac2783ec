"""Runs, outputs and plots; sweeps and comparisons build on these."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from corridors.analysis.run import RunResult, collect_result, run_scenario, series_frame, summarise

if TYPE_CHECKING:
    from corridors.analysis.compare import Comparison, compare_variant
    from corridors.analysis.storage import Sweep, load_sweep, open_sweep
    from corridors.analysis.sweep import SweepReport, run_sweep
    from corridors.analysis.sweepspec import SweepSpecError, load_spec

_LAZY = {
    "Comparison": "corridors.analysis.compare",
    "compare_variant": "corridors.analysis.compare",
    "Sweep": "corridors.analysis.storage",
    "load_sweep": "corridors.analysis.storage",
    "open_sweep": "corridors.analysis.storage",
    "SweepReport": "corridors.analysis.sweep",
    "run_sweep": "corridors.analysis.sweep",
    "SweepSpecError": "corridors.analysis.sweepspec",
    "load_spec": "corridors.analysis.sweepspec",
}

__all__ = [
    "Comparison",
    "RunResult",
    "Sweep",
    "SweepReport",
    "SweepSpecError",
    "collect_result",
    "compare_variant",
    "load_spec",
    "load_sweep",
    "open_sweep",
    "run_scenario",
    "run_sweep",
    "series_frame",
    "summarise",
]


def __getattr__(name: str) -> Any:
    """Sweep and comparison functions load on first use (they pull in SALib, scipy, pyarrow)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'corridors.analysis' has no attribute {name!r}")
