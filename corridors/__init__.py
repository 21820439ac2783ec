"""Corridors: an agent-based simulator of conflicts in which supply lines decide outcomes."""

from importlib.metadata import PackageNotFoundError, version

from corridors.analysis import RunResult, run_scenario
from corridors.model import ConflictModel
from corridors.scenarios import Scenario, ScenarioError, load_scenario

try:
    __version__ = version("corridors")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ConflictModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run_scenario",
]
