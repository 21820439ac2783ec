"""Corridors: an agent-based simulator of conflicts in which supply lines decide outcomes.

The public API is imported lazily, so the command line starts fast (``corridors validate``
needs neither Mesa nor pandas).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corridors.analysis import RunResult, run_scenario
    from corridors.model import ConflictModel
    from corridors.scenarios import Scenario, ScenarioError, load_scenario

try:
    __version__ = version("corridors")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

_EXPORTS = {
    "ConflictModel": "corridors.model",
    "RunResult": "corridors.analysis",
    "run_scenario": "corridors.analysis",
    "Scenario": "corridors.scenarios",
    "ScenarioError": "corridors.scenarios",
    "load_scenario": "corridors.scenarios",
}

__all__ = [
    "ConflictModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run_scenario",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'corridors' has no attribute {name!r}")
