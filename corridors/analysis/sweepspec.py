"""Sweep specs: a YAML file naming the scenario, the parameters to vary, the design, the replicates
and the outcomes to keep; validated in full before any run.

Every problem is a :class:`SweepSpecError` (a :class:`ScenarioError`) whose lines read
``FILE:LINE: FIELD: what is wrong — the fix``, like the scenario loader's, so the CLI reports it
as one line and exits 2.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from corridors.scenarios import Problem, Scenario, ScenarioError, load_scenario
from corridors.scenarios.loader import (
    canonical_path,
    describe,
    path_text,
    resolve_scenario_path,
    suggest,
)
from corridors.scenarios.yamlsafe import (
    LDict,
    Where,
    YamlError,
    read_yaml_file,
    to_plain,
    where_of,
)

MAX_RUNS = 5_000_000
"""Most runs one sweep may plan (design points × replicates)."""
MAX_LEVELS = 10_000
"""Most levels one parameter may list."""
IDENTITY_KEYS = frozenset({"scenario", "variants", "seed", "start", "end"})
"""Summary keys that describe the run rather than its outcome; kept out of the outcomes table."""
RUN_COLUMNS = ("run_id", "point", "replicate", "seed", "status", "elapsed_s")
"""Columns of the runs table besides the parameters."""

Scalar = bool | int | float | str | dt.date


class SweepSpecError(ScenarioError):
    """A sweep spec (or the directory it would write to) is invalid; ``str()`` is the first
    problem, ``report()`` all of them."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParameterSpec(_Strict):
    """One swept parameter: explicit ``levels``, or a ``range`` [low, high] (numbers or dates);
    ``steps`` spreads a range evenly for a grid; ``integer`` draws whole numbers."""

    levels: list[Scalar] | None = None
    range: list[int | float | dt.date] | None = None
    steps: int | None = Field(default=None, ge=2, le=MAX_LEVELS)
    integer: bool = False

    @field_validator("levels")
    @classmethod
    def _levels_ok(cls, levels: list[Scalar] | None) -> list[Scalar] | None:
        if levels is None:
            return None
        if not levels:
            raise ValueError("levels is empty; list at least one value")
        if len(levels) > MAX_LEVELS:
            raise ValueError(f"{len(levels):,} levels; the limit is {MAX_LEVELS:,}")
        kinds = {_kind(v) for v in levels}
        if len(kinds) > 1:
            raise ValueError(f"levels mix {' and '.join(sorted(kinds))}; give values of one kind")
        seen: list[Scalar] = []
        for value in levels:
            if value in seen:
                raise ValueError(f"level {value!r} is listed twice")
            seen.append(value)
        return levels

    @model_validator(mode="after")
    def _one_form(self) -> ParameterSpec:
        if (self.levels is None) == (self.range is None):
            raise ValueError(
                "give either levels: [a, b, ...] or range: [low, high] (not both, not neither)"
            )
        if self.range is not None:
            if len(self.range) != 2:
                raise ValueError(f"range needs two values [low, high], got {len(self.range)}")
            low, high = self.range
            if isinstance(low, dt.date) != isinstance(high, dt.date):
                raise ValueError("range mixes a date and a number; give two dates or two numbers")
            if isinstance(low, bool) or isinstance(high, bool):
                raise ValueError("range needs numbers or dates; for true/false use levels")
            if not low < high:
                raise ValueError(f"range low ({low}) must be below high ({high})")
            if self.integer and not (float(low).is_integer() and float(high).is_integer()):
                raise ValueError("an integer range needs whole-number ends")
        elif self.steps is not None:
            raise ValueError("steps applies to a range; with levels, list the values")
        elif self.integer:
            raise ValueError("integer applies to a range; with levels, list the values")
        return self

    @property
    def is_date(self) -> bool:
        return self.range is not None and isinstance(self.range[0], dt.date)

    @property
    def whole(self) -> bool:
        """Draws whole numbers (or whole days)."""
        return self.integer or self.is_date

    def first(self) -> Scalar:
        """The value a run takes when it does not vary this parameter (validation, probe)."""
        if self.levels is not None:
            return self.levels[0]
        assert self.range is not None
        return self.range[0]

    def test_values(self) -> list[tuple[str, Scalar]]:
        """Values checked against the scenario before the sweep: every level, or both ends."""
        if self.levels is not None:
            return [(f"levels[{i}]", v) for i, v in enumerate(self.levels)]
        assert self.range is not None
        return [("range[0]", self.range[0]), ("range[1]", self.range[1])]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "numbers"
    if isinstance(value, dt.date):
        return "dates"
    return "text"


class DesignSpec(_Strict):
    """How design points are chosen. ``samples``: LHS points, Sobol base samples N (runs
    N·(D+2), or N·(2D+2) with ``second_order``) or Morris trajectories (runs N·(D+1))."""

    type: Literal["grid", "lhs", "sobol", "morris"]
    samples: int | None = Field(default=None, ge=1, le=MAX_RUNS)
    levels: int = Field(default=4, ge=2, le=100)
    """Morris: grid levels per parameter."""
    second_order: bool = False
    """Sobol: also sample for second-order indices."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"type": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _samples_fit(self) -> DesignSpec:
        if self.type == "grid":
            if self.samples is not None:
                raise ValueError("samples does not apply to a grid (it runs every combination)")
        elif self.samples is None:
            what = {
                "lhs": "points",
                "sobol": "base samples (a power of 2)",
                "morris": "trajectories",
            }
            raise ValueError(
                f"samples is required for a {self.type} design: the number of {what[self.type]}"
            )
        elif self.type == "sobol" and self.samples & (self.samples - 1):
            lower = 1 << (self.samples.bit_length() - 1)
            raise ValueError(
                f"samples for a sobol design must be a power of 2, got {self.samples} "
                f"(try {lower} or {lower * 2})"
            )
        if self.second_order and self.type != "sobol":
            raise ValueError("second_order applies to a sobol design only")
        return self


class SeriesSpec(_Strict):
    """Daily series to keep per run: every ``stride``-th step (and the last), optionally only
    some entities (``model``, a state or link name) and variables."""

    stride: int = Field(default=1, ge=1)
    entities: list[str] | None = None
    variables: list[str] | None = None


class SweepSpec(_Strict):
    """A validated sweep spec (see ``docs/sweeps.md``)."""

    name: str | None = None
    scenario: str
    variants: list[str] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)
    days: int | None = Field(default=None, ge=1)
    parameters: dict[str, ParameterSpec]
    design: DesignSpec
    replicates: int = Field(default=1, ge=1, le=100_000)
    seed: int = Field(default=0, ge=0)
    common_seeds: bool = False
    """Replicate r of every design point uses the same seed (common random numbers)."""
    outcomes: list[str] | None = None
    """Summary keys to keep; all of them (identity keys aside) when omitted."""
    series: SeriesSpec | None = None

    @field_validator("parameters", mode="before")
    @classmethod
    def _expand(cls, params: Any) -> Any:
        """``PATH: [a, b]`` is short for ``PATH: {levels: [a, b]}``."""
        if isinstance(params, Mapping):
            if not params:
                raise ValueError("no parameters to sweep; name at least one dotted path")
            return {k: {"levels": v} if isinstance(v, list) else v for k, v in params.items()}
        return params

    def params(self) -> dict[str, ParameterSpec]:
        """The swept parameters by dotted path."""
        return dict(self.parameters)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


@dataclass
class LoadedSpec:
    """A sweep spec with everything resolved: the base scenario (parsed once) and a hash."""

    spec: SweepSpec
    file: str
    scenario: Scenario
    scenario_name: str
    summary_keys: list[str]
    spec_hash: str
    scenario_hash: str

    @property
    def label(self) -> str:
        """The sweep's name (a file-name-safe version of it), or the spec file's name."""
        name = self.spec.name or Path(self.file).stem
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "sweep"


# ---------------------------------------------------------------------------- messages

_SPEC_FIELDS = sorted(
    {n for c in (SweepSpec, ParameterSpec, DesignSpec, SeriesSpec) for n in c.model_fields}
)


def spec_path(loc: Sequence[Any]) -> str:
    """A field path in a spec; a parameter's (or override's) dotted path is quoted in brackets:
    ``parameters['events.blockade.fraction'].levels[1]``."""
    if len(loc) >= 2 and loc[0] in ("parameters", "overrides"):
        rest = path_text(loc[2:])
        head = f"{loc[0]}['{loc[1]}']"
        return head + (("" if rest.startswith("[") else ".") + rest if rest else "")
    return path_text(loc)


def _spec_problem(err: Mapping[str, Any], data: Any) -> Problem:
    loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
    if err["type"] == "extra_forbidden":
        message = f"unknown field '{loc[-1]}'" + (
            suggest(str(loc[-1]), _SPEC_FIELDS) or " — see docs/sweeps.md for the spec fields"
        )
    else:
        message = describe(err)
    return Problem(where_of(data, loc), spec_path(loc), message)


def _fail(where: Where | None, path: str, message: str) -> SweepSpecError:
    return SweepSpecError([Problem(where, path, message)])


# ---------------------------------------------------------------------------- loading


def read_spec(path: str | Path) -> tuple[SweepSpec, LDict]:
    """Parse and structurally validate a spec file (no scenario checks)."""
    path = Path(path)
    try:
        data = read_yaml_file(path)
    except YamlError as exc:
        raise SweepSpecError([Problem(exc.where, exc.path, exc.message)]) from None
    if not isinstance(data, dict):
        raise _fail(
            Where(str(path), 1),
            "",
            "a sweep spec must be a mapping (scenario, parameters, design, ...)",
        )
    return parse_spec(data, str(path)), data


def parse_spec(data: Mapping[str, Any], file: str = "<spec>") -> SweepSpec:
    """Validate the structure of spec data (a mapping from YAML, or built in code)."""
    if not isinstance(data, LDict):
        data = LDict(data, where=Where(file))
    try:
        return SweepSpec.model_validate(to_plain(data))
    except ValidationError as exc:
        problems = [_spec_problem(e, data) for e in exc.errors(include_url=False)]
        raise SweepSpecError(problems) from None


def load_spec(
    spec: str | Path | Mapping[str, Any] | SweepSpec, relative_to: Path | None = None
) -> LoadedSpec:
    """Read a spec (file, mapping or :class:`SweepSpec`) and check it against its scenario:
    parameter paths and values, outcome names, series entities and variables, design size.
    Nothing runs until this passes. Raises :class:`SweepSpecError`."""
    if isinstance(spec, SweepSpec):
        parsed, data, file = spec, LDict(spec.model_dump(), where=Where("<spec>")), "<spec>"
    elif isinstance(spec, Mapping):
        parsed, data, file = parse_spec(spec), LDict(spec, where=Where("<spec>")), "<spec>"
    else:
        file = str(spec)
        parsed, data = read_spec(Path(spec))
        relative_to = relative_to or Path(spec).parent
    return check_spec(parsed, data, file, relative_to)


def _resolve_variant(variant: str, relative_to: Path | None) -> str:
    if relative_to is not None and (relative_to / variant).is_file():
        return str(relative_to / variant)
    return variant


def check_spec(
    spec: SweepSpec, data: Any, file: str, relative_to: Path | None = None
) -> LoadedSpec:
    """The cross-checks of :func:`load_spec` on a structurally valid spec."""
    # scenario, variants and fixed overrides: parsed once here, reused by every run
    try:
        path = resolve_scenario_path(spec.scenario, relative_to=relative_to)
    except ScenarioError as exc:
        raise _fail(where_of(data, ("scenario",)), "scenario", exc.problems[0].message) from None
    from corridors.scenarios import builtin_names

    source = spec.scenario if spec.scenario in builtin_names() else str(path)
    variants = [_resolve_variant(v, relative_to) for v in spec.variants]
    try:
        base = load_scenario(source, variants=variants)
    except ScenarioError as exc:
        first = exc.problems[0]
        if first.where is None:  # e.g. an unknown variant: point at the spec
            raise _fail(where_of(data, ("variants",)), "variants", first.message) from None
        if not variants:
            raise
        listed = f"variants listed at {where_of(data, ('variants',))}"
        raise SweepSpecError(
            [p if p.note else dataclasses.replace(p, note=listed) for p in exc.problems]
        ) from None
    if spec.overrides:
        try:
            base = load_scenario(base, overrides=spec.overrides)
        except ScenarioError as exc:
            loc: tuple[Any, ...] = ("overrides",)
            first = exc.problems[0]
            for key, value in spec.overrides.items():  # which one is at fault
                try:
                    load_scenario(base, overrides={key: value})
                except ScenarioError as one:
                    loc, first = ("overrides", key), one.problems[0]
                    break
            detail = f"{first.path}: {first.message}" if first.path else first.message
            raise _fail(where_of(data, loc), spec_path(loc), detail) from None
    scenario_name = base._provenance.name if base._provenance else Path(file).stem

    params = spec.params()
    _check_same_field(base, params, spec.overrides, data)
    _check_parameters(base, params, data)
    _check_design_size(spec, params, data)
    probe_overrides = {k: p.first() for k, p in params.items()}
    summary_keys, entities, variables = _probe(base, probe_overrides)
    _check_outcomes(spec, params, summary_keys, data)
    _check_series(spec, entities, variables, data)

    scenario_json = json.dumps(base.model_dump(mode="json"), sort_keys=True, default=str)
    scenario_hash = hashlib.sha256(scenario_json.encode()).hexdigest()
    identity = {k: v for k, v in spec.to_json().items() if k != "name"}  # the name is a label
    spec_json = json.dumps(identity, sort_keys=True, default=str)
    spec_hash = hashlib.sha256((spec_json + scenario_hash).encode()).hexdigest()
    return LoadedSpec(
        spec=spec,
        file=file,
        scenario=base,
        scenario_name=scenario_name,
        summary_keys=summary_keys,
        spec_hash=spec_hash,
        scenario_hash=scenario_hash,
    )


def _check_same_field(
    base: Scenario, params: Mapping[str, Any], overrides: Mapping[str, Any], data: Any
) -> None:
    """A field varied twice (by name and by code, or also fixed in overrides) would leave it to
    dict order which value a run takes."""
    seen: dict[str, tuple[str, str]] = {}
    for section, keys in (("overrides", overrides), ("parameters", params)):
        for key in keys:
            canon = canonical_path(base, key)
            clash = next(
                (
                    (other, where)
                    for c, (other, where) in seen.items()
                    if c == canon or canon.startswith(c + ".") or c.startswith(canon + ".")
                ),
                None,
            )
            if clash is not None:
                other, where = clash
                raise _fail(
                    where_of(data, (section, key)),
                    spec_path((section, key)),
                    f"'{key}' is the same field as '{other}' ({where}); give it once",
                )
            seen[canon] = (key, f"{section}, {where_of(data, (section, key))}")


_PATH_WORDS = ("unknown field", "no item", "cannot go deeper", "no field or item")


def _check_parameters(base: Scenario, params: dict[str, ParameterSpec], data: Any) -> None:
    """Every parameter path must exist in the scenario; every value (each level, or both ends of
    a range) must make a valid scenario with the other parameters at their first value."""
    name = base._provenance.name if base._provenance else "the scenario"
    problems: list[Problem] = []
    known: list[str] = []
    firsts: dict[str, Any] = {}  # first values valid on their own, the others' context
    for key, param in params.items():
        try:
            load_scenario(base, overrides={key: param.first()})
        except ScenarioError as exc:
            first = exc.problems[0]
            if any(first.message.startswith(w) for w in _PATH_WORDS):
                problems.append(
                    Problem(
                        where_of(data, ("parameters", key)),
                        spec_path(("parameters", key)),
                        f"unknown path in {name}: {first.path}: {first.message}",
                    )
                )
                continue
        else:
            firsts[key] = param.first()
        known.append(key)
    for key in known:
        param = params[key]
        context = {k: v for k, v in firsts.items() if k != key}
        for label, value in param.test_values():
            try:
                load_scenario(base, overrides={**context, key: value})
            except ScenarioError as exc:
                first = exc.problems[0]
                detail = f"{first.path}: {first.message}" if first.path else first.message
                field, index = label.rstrip("]").split("[")
                loc = ("parameters", key, field, int(index))
                problems.append(
                    Problem(
                        where_of(data, loc),
                        spec_path(loc),
                        f"{value!r} is not a valid value here: {detail}",
                    )
                )
    if problems:
        raise SweepSpecError(problems)


def design_points(spec: SweepSpec, params: Mapping[str, ParameterSpec] | None = None) -> int:
    """How many design points the spec's design makes."""
    params = params if params is not None else spec.params()
    design = spec.design
    d = len(params)
    if design.type == "grid":
        total = 1
        for p in params.values():
            total *= len(p.levels) if p.levels is not None else (p.steps or 0)
        return total
    assert design.samples is not None
    if design.type == "lhs":
        return design.samples
    if design.type == "sobol":
        return design.samples * ((2 * d + 2) if design.second_order else (d + 2))
    return design.samples * (d + 1)


def _check_design_size(spec: SweepSpec, params: dict[str, ParameterSpec], data: Any) -> None:
    if spec.design.type == "grid":
        for key, p in params.items():
            if p.levels is None and p.steps is None:
                raise _fail(
                    where_of(data, ("parameters", key)),
                    spec_path(("parameters", key)),
                    "a grid design needs levels for every parameter: give levels: [...] "
                    "or steps: N with the range",
                )
    elif spec.design.type in ("sobol", "morris") and len(params) < 2:
        raise _fail(
            where_of(data, ("parameters",)),
            "parameters",
            f"a {spec.design.type} design needs at least two parameters",
        )
    runs = design_points(spec, params) * spec.replicates
    if runs > MAX_RUNS:
        raise _fail(
            where_of(data, ("design",)),
            "design",
            f"{runs:,} runs planned; the limit is {MAX_RUNS:,} (fewer levels or samples)",
        )


def _probe(base: Scenario, overrides: Mapping[str, Any]) -> tuple[list[str], set[str], set[str]]:
    """A one-day run: the summary keys, series entities and variables a run produces."""
    from corridors.analysis.run import series_frame, summarise
    from corridors.model import ConflictModel

    model = ConflictModel(base, rng=0, overrides=overrides, days=1, record_flows=False)
    model.step()
    series = series_frame(model)
    return list(summarise(model, 0)), set(series["entity"]), set(series["variable"])


def _check_outcomes(
    spec: SweepSpec, params: Mapping[str, ParameterSpec], keys: Sequence[str], data: Any
) -> None:
    if spec.outcomes is None:
        return
    if not spec.outcomes:
        raise _fail(where_of(data, ("outcomes",)), "outcomes", "is empty; list outcomes or omit it")
    problems = []
    for i, name in enumerate(spec.outcomes):
        where = where_of(data, ("outcomes", i))
        if name in RUN_COLUMNS or name in IDENTITY_KEYS or name in params:
            problems.append(
                Problem(
                    where,
                    f"outcomes[{i}]",
                    f"'{name}' is recorded in the runs table already; it is not an outcome",
                )
            )
        elif name not in keys:
            choices = [k for k in keys if k not in IDENTITY_KEYS]
            problems.append(
                Problem(
                    where,
                    f"outcomes[{i}]",
                    f"unknown outcome '{name}'"
                    + (
                        suggest(name, choices)
                        or " — outcomes are keys of a run's summary (summary.json of "
                        "`corridors run`)"
                    ),
                )
            )
        elif name in spec.outcomes[:i]:
            problems.append(Problem(where, f"outcomes[{i}]", f"outcome '{name}' listed twice"))
    if problems:
        raise SweepSpecError(problems)


def _check_series(spec: SweepSpec, entities: set[str], variables: set[str], data: Any) -> None:
    if spec.series is None:
        return
    for field, word, known in (
        ("entities", "entity", entities),
        ("variables", "variable", variables),
    ):
        for i, name in enumerate(getattr(spec.series, field) or []):
            if name not in known:
                raise _fail(
                    where_of(data, ("series", field, i)),
                    f"series.{field}[{i}]",
                    f"unknown {word} '{name}'"
                    + (suggest(name, sorted(known)) or f" (one of {', '.join(sorted(known))})"),
                )
