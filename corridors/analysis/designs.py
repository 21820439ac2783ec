"""Experimental designs: full grid, Latin hypercube (scipy's qmc), Sobol and Morris (SALib).

Every design is drawn in a *problem space* shared with SALib: a range parameter spans
[low, high] (whole-number and date ranges [low, high + 1), floored), a levels parameter spans
[0, n) and takes level ``floor(x)``. The design matrix in that space is what SALib's analysers
need; :func:`to_value` turns a coordinate into the value handed to the scenario.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from corridors.analysis.sweepspec import ParameterSpec, Scalar, SweepSpec


@dataclass
class Design:
    """Design points: ``x`` (points × parameters, problem space) and the values they stand for."""

    kind: str
    names: list[str]
    x: np.ndarray
    values: list[dict[str, Scalar]]
    problem: dict[str, Any]

    def __len__(self) -> int:
        return len(self.values)


def bounds(param: ParameterSpec) -> tuple[float, float]:
    """The parameter's interval in problem space."""
    if param.levels is not None:
        return 0.0, float(len(param.levels))
    assert param.range is not None
    low, high = param.range
    if isinstance(low, dt.date) and isinstance(high, dt.date):
        return 0.0, float((high - low).days + 1)
    if param.integer:
        return float(low), float(high) + 1.0
    return float(low), float(high)


def to_value(param: ParameterSpec, x: float) -> Scalar:
    """The scenario value at problem-space coordinate ``x``."""
    if param.levels is not None:
        return param.levels[min(max(math.floor(x), 0), len(param.levels) - 1)]
    assert param.range is not None
    low, high = param.range
    if isinstance(low, dt.date) and isinstance(high, dt.date):
        days = min(max(math.floor(x), 0), (high - low).days)
        return low + dt.timedelta(days=days)
    if param.integer:
        return int(min(max(math.floor(x), int(low)), int(high)))
    return float(x)


def problem(params: Mapping[str, ParameterSpec]) -> dict[str, Any]:
    """The SALib problem definition."""
    return {
        "num_vars": len(params),
        "names": list(params),
        "bounds": [list(bounds(p)) for p in params.values()],
    }


def _grid_axis(param: ParameterSpec) -> list[float]:
    """Grid coordinates of one parameter: the middle of each level's cell, or the range spread
    evenly over ``steps`` values (whole ones for integer and date ranges)."""
    if param.levels is not None:
        return [i + 0.5 for i in range(len(param.levels))]
    assert param.range is not None and param.steps is not None
    low, high = bounds(param)
    if param.whole:
        top = high - 1.0
        ticks = np.unique(np.round(np.linspace(low, top, param.steps)))
        return [float(t) + 0.5 for t in ticks]
    return [float(t) for t in np.linspace(low, high, param.steps)]


def build_design(spec: SweepSpec) -> Design:
    """The design points of a spec; seeded by the spec's ``seed`` so it is reproducible."""
    params = spec.params()
    names = list(params)
    prob = problem(params)
    kind = spec.design.type
    if kind == "grid":
        axes = [_grid_axis(p) for p in params.values()]
        x = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(names))
    elif kind == "lhs":
        from scipy.stats import qmc

        assert spec.design.samples is not None
        unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(spec.seed)).random(
            spec.design.samples
        )
        lo = np.array([b[0] for b in prob["bounds"]])
        hi = np.array([b[1] for b in prob["bounds"]])
        x = lo + unit * (hi - lo)
    elif kind == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(
            prob,
            spec.design.samples,
            calc_second_order=spec.design.second_order,
            scramble=True,
            seed=spec.seed,
        )
    else:
        from SALib.sample import morris

        x = morris.sample(prob, spec.design.samples, num_levels=spec.design.levels, seed=spec.seed)
    values = [
        {name: to_value(params[name], float(v)) for name, v in zip(names, row, strict=True)}
        for row in x
    ]
    return Design(kind=kind, names=names, x=np.asarray(x, dtype=float), values=values, problem=prob)
