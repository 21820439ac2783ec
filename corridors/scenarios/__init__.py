"""Scenario files: schema, safe loading, the built-in library."""

from corridors.scenarios.loader import (
    Problem,
    Provenance,
    ScenarioError,
    builtin_names,
    load_scenario,
    parse_set,
    set_field,
    variant_names,
)
from corridors.scenarios.schema import Scenario

__all__ = [
    "Problem",
    "Provenance",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "load_scenario",
    "parse_set",
    "set_field",
    "variant_names",
]
