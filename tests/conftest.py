"""Shared fixtures."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every CI run: a failure is reproducible, not a flake
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def lachin_result():
    """The default scenario run once with seed 1 (shared; do not mutate)."""
    from corridors import run_scenario

    return run_scenario("lachin-2023", seed=1, keep_model=True)
