"""Fitting named parameters to a scenario's ``fit`` targets — and to nothing else.

The optimiser is :func:`scipy.optimize.differential_evolution`: derivative-free, bounded, global,
deterministic given its seed, and tolerant of the piecewise-constant losses a stochastic,
day-stepped model produces (a one-day shift in an offensive moves a date target by a whole day),
where gradient or simplex methods stall on flat steps. scipy is already a dependency (SALib needs
it), so fitting adds no package. Every evaluation runs the same seeds (common random numbers), so
the loss is a deterministic function of the parameters.

The loss of a parameter set is the mean over fit targets of the mean over seeds of the squared
error in tolerances, ``min(((x − record) / tolerance)², 25)``; a dated event that does not happen
(or a missing reading) costs the cap, 25 (five tolerances).

The result is written as an overlay (``fitted/<scenario>.yaml`` beside the scenario file, applied
by the loader before variants) with its provenance: when, the command, the optimiser and its
seed, the seeds, the targets, the loss. The check targets are then scored out of sample.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from corridors.analysis.calibration import (
    MIN_READ_SHARE,
    NEVER,
    NOT_READ,
    RunOutputs,
    check_targets,
    measure_all,
    scorecard,
    scored_targets,
)
from corridors.scenarios import Problem, Scenario, ScenarioError, load_scenario
from corridors.scenarios.loader import fitted_overlay_path, read_fitted_overlay

LOSS_CAP = 25.0
"""Squared error (in tolerances) of a missing reading or an event that never happens."""


@dataclass(frozen=True)
class ParamSpec:
    """A parameter to fit: its dotted path, the bounds searched and the scenario's own value."""

    path: str
    low: float
    high: float
    start: float


@dataclass
class FitResult:
    scenario: Scenario
    params: list[ParamSpec]
    values: dict[str, float]
    loss: float
    evaluations: int
    targets: list[str]
    card: pd.DataFrame
    overlay: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def read_path(scenario: Scenario, path: str) -> Any:
    """The value at a dotted path (list items by name, code or index)."""
    node: Any = scenario.model_dump(mode="json")
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            match = [
                item
                for item in node
                if isinstance(item, dict) and part in (item.get("name"), item.get("code"))
            ]
            if match:
                node = match[0]
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise KeyError(path)
        else:
            raise KeyError(path)
    return node


def parse_param(text: str, scenario: Scenario) -> ParamSpec:
    """``PATH`` or ``PATH=LOW:HIGH``; without bounds, ±50% around the scenario's value."""
    path, _, bounds = text.partition("=")
    path = path.strip()
    where = f"--param {text}"
    try:
        start = read_path(scenario, path)
    except KeyError:
        raise ScenarioError(
            [Problem(None, where, f"no field '{path}' in the scenario: give a dotted path")]
        ) from None
    if isinstance(start, bool) or not isinstance(start, int | float):
        raise ScenarioError([Problem(None, where, f"'{path}' is not a number ({start!r})")])
    if bounds:
        try:
            low, high = (float(b) for b in bounds.split(":"))
        except ValueError:
            raise ScenarioError(
                [Problem(None, where, "write bounds as PATH=LOW:HIGH, e.g. =0.001:0.005")]
            ) from None
    elif start:
        low, high = sorted((0.5 * start, 1.5 * start))
    else:
        raise ScenarioError(
            [Problem(None, where, f"'{path}' is 0: give bounds as {path}=LOW:HIGH")]
        )
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ScenarioError([Problem(None, where, "bounds must be finite with LOW < HIGH")])
    return ParamSpec(path, low, high, float(start))


def loss_of(scenario: Scenario, values: pd.DataFrame) -> float:
    """Mean over fit targets of the mean over seeds of capped squared errors in tolerances
    (over the seeds read, for a reading relative to an event, as the scorecard scores it)."""
    per_target = []
    for target in scored_targets(scenario):
        if target.role != "fit":
            continue
        x = values[target.name].to_numpy(dtype=float)
        read = x != NOT_READ
        if read.sum() < MIN_READ_SHARE * x.size:
            per_target.append(LOSS_CAP)  # too few readings: as bad as a miss in every seed
            continue
        x = x[read]
        scale = target.tolerance if target.tolerance > 0 else 1.0
        with np.errstate(invalid="ignore"):
            err = ((x - target.expected()) / scale) ** 2
        err = np.where(np.isfinite(err) & (x != NEVER), np.minimum(err, LOSS_CAP), LOSS_CAP)
        per_target.append(float(err.mean()))
    return float(np.mean(per_target)) if per_target else math.nan


def _evaluate(
    x: np.ndarray, scenario: Scenario, paths: tuple[str, ...], seeds: tuple[int, ...]
) -> float:
    """One parameter set's loss (runs in a worker process)."""
    from corridors.analysis.run import run_scenario

    overrides = {p: float(v) for p, v in zip(paths, x, strict=True)}
    try:
        sc = load_scenario(scenario, overrides=overrides)
    except ScenarioError:
        return LOSS_CAP  # a value the schema refuses (e.g. a fraction above 1)
    rows = []
    for seed in seeds:
        result = run_scenario(sc, seed=seed, record_flows=False)
        rows.append(measure_all(sc, RunOutputs(result.summary, result.series, result.events)))
    return loss_of(sc, pd.DataFrame(rows))


def fit(
    scenario: str | Path,
    params: Sequence[str] = (),
    seeds: int = 10,
    seed: int = 0,
    maxiter: int = 10,
    popsize: int = 6,
    workers: int | None = None,
    variants: Sequence[str] = (),
    progress: Callable[[int, int, float], None] | None = None,
    command: str = "",
) -> FitResult:
    """Fit ``params`` (default: every parameter the fit targets name) to the fit targets."""
    from scipy.optimize import differential_evolution

    base = load_scenario(scenario, variants=variants, fitted=False)
    check_targets(base)
    fit_targets = [t for t in base.targets if t.role == "fit"]
    if not fit_targets:
        raise ScenarioError(
            [Problem(None, "targets", "no target has role 'fit': there is nothing to fit to")]
        )
    declared = {p for t in fit_targets for p in t.fitted}
    texts = list(params) or sorted(declared)
    specs = [parse_param(text, base) for text in texts]
    for spec in specs:
        if spec.path not in declared:
            raise ScenarioError(
                [
                    Problem(
                        None,
                        f"--param {spec.path}",
                        "no fit target lists this parameter in 'fitted': add it to the targets "
                        "it is fitted to, so the scorecard says what was fitted to what",
                    )
                ]
            )
    used = [t for t in fit_targets if set(t.fitted) & {s.path for s in specs}]
    fit_only = base.model_copy(update={"targets": used})
    fit_only._provenance = base._provenance
    paths = tuple(s.path for s in specs)
    objective = functools.partial(
        _evaluate, scenario=fit_only, paths=paths, seeds=tuple(range(seeds))
    )
    workers = workers if workers is not None else 2
    generation = 0

    def on_generation(intermediate_result: Any) -> None:  # scipy passes by this name
        nonlocal generation
        generation += 1
        if progress:
            progress(generation, maxiter, float(intermediate_result.fun))

    bounds = [(s.low, s.high) for s in specs]
    kwargs: dict[str, Any] = {
        "bounds": bounds,
        "seed": seed,
        "maxiter": maxiter,
        "popsize": popsize,
        "polish": False,
        "init": "latinhypercube",
        "updating": "deferred",
        "tol": 1e-6,
        "callback": on_generation,
        "x0": np.array([min(max(s.start, s.low), s.high) for s in specs]),
    }
    if workers > 1:
        methods = mp.get_all_start_methods()
        context = mp.get_context("forkserver" if "forkserver" in methods else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            result = differential_evolution(objective, workers=pool.map, **kwargs)
    else:
        result = differential_evolution(objective, workers=1, **kwargs)
    values = {s.path: float(v) for s, v in zip(specs, result.x, strict=True)}

    # score everything with the fitted values: the checks out of sample
    from corridors.analysis.calibration import run_seeds

    fitted_sc = load_scenario(base, overrides=values)
    card = scorecard(fitted_sc, run_seeds(fitted_sc, range(seeds), workers=workers))
    checks = card[card.role == "check"]
    overlay = {
        "scenario": base._provenance.name if base._provenance else str(scenario),
        "made": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "command": command,
        "optimiser": f"scipy.optimize.differential_evolution (popsize {popsize}, maxiter "
        f"{maxiter}, latin hypercube start, no polish)",
        "seed": seed,
        "seeds": seeds,
        "evaluations": int(result.nfev),
        "loss": round(float(result.fun), 6),
        "targets": [t.name for t in used],
        "parameters": {
            s.path: {"value": values[s.path], "low": s.low, "high": s.high, "start": s.start}
            for s in specs
        },
        "checks": [
            {"target": r["target"], "coverage": r["coverage"], "result": r["result"]}
            for r in checks.to_dict("records")
        ],
    }
    return FitResult(
        fitted_sc,
        specs,
        values,
        float(result.fun),
        int(result.nfev),
        [t.name for t in used],
        card,
        overlay,
    )


def write_overlay(result: FitResult, out: Path | None = None) -> Path:
    """Write the overlay (default: ``fitted/<stem>.yaml`` beside the scenario file)."""
    prov = result.scenario._provenance
    if out is None:
        if prov is None or not prov.file or prov.file.startswith("<"):
            raise ScenarioError([Problem(None, "--out", "give --out: the scenario has no file")])
        out = fitted_overlay_path(Path(prov.file))
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Written by `corridors fit`: fitted parameter values and their provenance.\n"
        "# The loader applies `parameters` to the scenario beside this folder, before variants.\n"
        "# Refit rather than edit by hand.\n"
    )
    out.write_text(header + yaml.safe_dump(result.overlay, sort_keys=False, allow_unicode=True))
    read_fitted_overlay(out)  # what we wrote must read back
    result.path = out
    return out


def describe_overlay(path: Path) -> str:
    """Markdown lines on an applied overlay, for scorecards."""
    overlay = read_fitted_overlay(path)
    lines = [
        f"Fitted values from `{path.name}` ({overlay.made}; {overlay.optimiser}, seed "
        f"{overlay.seed}, {overlay.seeds} seeds, {overlay.evaluations} evaluations, loss "
        f"{overlay.loss:.4g}) to the targets {', '.join(overlay.targets)}:",
        "",
    ]
    for name, value in overlay.parameters.items():
        lines.append(f"- `{name}` = {value.value:.6g} (searched {value.low:g} … {value.high:g})")
    return "\n".join(lines)
