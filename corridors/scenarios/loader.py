"""Loading scenarios: built-in names or files, ``extends:`` bases, variants, ``--set`` overrides.

Every problem is reported as a :class:`ScenarioError` whose lines read
``FILE:LINE: FIELD.PATH: what is wrong — the fix``; nothing here prints a traceback.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from corridors.scenarios import schema
from corridors.scenarios.schema import Scenario
from corridors.scenarios.yamlsafe import (
    LDict,
    LList,
    Where,
    YamlError,
    parse_scalar,
    read_yaml_file,
    to_plain,
    where_of,
)

NAMED_LISTS = ("states", "links", "flows", "events", "targets")
"""Top-level lists whose items are merged by ``name`` when a scenario extends another."""

MAX_STATES = 5_000
MAX_LINKS = 20_000
MAX_FLOWS = 20_000
MAX_DAYS = 36_500


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario."""

    where: Where | None
    path: str
    message: str

    def __str__(self) -> str:
        loc = f"{self.where}: " if self.where else ""
        path = f"{self.path}: " if self.path else ""
        return f"{loc}{path}{self.message}"


class ScenarioError(ValueError):
    """A scenario (file, variant or override) is invalid. ``str()`` is the first problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid scenario"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))

    def report(self) -> str:
        """All problems, one per line."""
        return "\n".join(str(p) for p in self.problems)


@dataclass
class Provenance:
    """How a scenario was put together, so a run can be reproduced."""

    name: str
    file: str
    variants: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    fitted: str | None = None
    """The fitted-parameter overlay applied (``fitted/<stem>.yaml`` beside the file), if any."""


# ---------------------------------------------------------------------------- finding files


def library_dir() -> Path:
    return Path(str(resources.files("corridors.scenarios") / "library"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in library_dir().glob("*.yaml"))


def variant_names(name: str) -> list[str]:
    folder = library_dir() / "variants" / name
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def resolve_scenario_path(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    """A built-in name or a file path → the file."""
    text = str(name_or_path)
    if text in builtin_names():
        return library_dir() / f"{text}.yaml"
    candidate = Path(text)
    if not candidate.is_absolute() and relative_to is not None:
        candidate = relative_to / candidate
    if candidate.exists():
        return candidate
    if candidate.suffix == "" and candidate.with_suffix(".yaml").exists():
        return candidate.with_suffix(".yaml")
    raise ScenarioError(
        [
            Problem(
                None,
                "",
                f"no scenario named '{text}': not a built-in "
                f"({', '.join(builtin_names())}) nor an existing file"
                + _suggest(text, builtin_names()),
            )
        ]
    )


# ---------------------------------------------------------------------------- merging


def _merge(base: Any, overlay: Any, path: str = "") -> Any:
    """Deep-merge ``overlay`` onto ``base``; named lists merge item by item on ``name``."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = LDict(base, where=getattr(base, "where", None))
        out.key_where = dict(getattr(base, "key_where", {}))
        for key, value in overlay.items():
            if key == "extends":
                continue
            sub = f"{path}.{key}" if path else str(key)
            out[key] = _merge(base[key], value, sub) if key in base else value
            if hasattr(overlay, "key_where") and key in overlay.key_where:
                out.key_where[key] = overlay.key_where[key]
        return out
    if path in NAMED_LISTS and isinstance(base, list) and isinstance(overlay, list):
        return _merge_named(base, overlay, path)
    return overlay


def _item_name(item: Any) -> str | int | float | None:
    """The ``name`` of a list item, when it has a plain (hashable) one."""
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str | int | float) else None


def _merge_named(base: list, overlay: list, path: str) -> LList:
    items = list(base)
    wheres = list(getattr(base, "item_where", [None] * len(base)))
    owheres = list(getattr(overlay, "item_where", [None] * len(overlay)))
    index = {_item_name(item): i for i, item in enumerate(items) if _item_name(item) is not None}
    for j, (item, w) in enumerate(zip(overlay, owheres, strict=True)):
        name = _item_name(item)
        if isinstance(item, dict) and item.get("delete") is True:
            if name is None:
                raise ScenarioError(
                    [
                        Problem(
                            w,
                            f"{path}[{j}]",
                            "'delete: true' needs the 'name' (text) of the item to delete",
                        )
                    ]
                )
            if name not in index:
                raise ScenarioError(
                    [
                        Problem(
                            w,
                            f"{path}[{j}]",
                            f"cannot delete '{name}': the base has no such item"
                            + _suggest(str(name), [str(k) for k in index if k]),
                        )
                    ]
                )
            items[index[name]] = None
            continue
        if name is not None and name in index and items[index[name]] is not None:
            items[index[name]] = _merge(items[index[name]], item, f"{path}[{name}]")
            wheres[index[name]] = w
        else:
            index[name] = len(items)
            items.append(item)
            wheres.append(w)
    out = LList([i for i in items if i is not None], where=getattr(overlay, "where", None))
    out.item_where = [w for i, w in zip(items, wheres, strict=True) if i is not None]
    return out


def _read_mapping(path: Path) -> LDict:
    try:
        data = read_yaml_file(path)
    except YamlError as exc:
        raise ScenarioError([Problem(exc.where, exc.path, exc.message)]) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                Problem(
                    Where(str(path), 1),
                    "",
                    "a scenario file must be a mapping of sections "
                    "(meta, calendar, states, links, flows, parameters, events, targets)",
                )
            ]
        )
    return data


def load_raw(path: Path, _chain: tuple[Path, ...] = ()) -> LDict:
    """Read a scenario file and, recursively, the scenarios it extends; merged, unvalidated."""
    resolved = path.resolve()
    if resolved in _chain:
        cycle = " → ".join(p.name for p in (*_chain, resolved))
        raise ScenarioError([Problem(Where(str(path)), "extends", f"'extends' cycle: {cycle}")])
    data = _read_mapping(path)
    base_name = data.get("extends")
    if base_name is None:
        return data
    if not isinstance(base_name, str):
        raise ScenarioError(
            [Problem(where_of(data, ("extends",)), "extends", "must be a scenario name or path")]
        )
    try:
        base_path = resolve_scenario_path(base_name, relative_to=path.parent)
    except ScenarioError as exc:
        raise ScenarioError(
            [Problem(where_of(data, ("extends",)), "extends", exc.problems[0].message)]
        ) from None
    chain = (*_chain, resolved)
    if base_path.resolve() in chain:
        cycle = " → ".join(p.name for p in (*chain, base_path.resolve()))
        raise ScenarioError(
            [Problem(where_of(data, ("extends",)), "extends", f"'extends' cycle: {cycle}")]
        )
    base = load_raw(base_path, chain)
    return _merge(base, data)


# ---------------------------------------------------------------------------- overrides


def override_key(key: str) -> str:
    """Keyword parameter → dotted path: ``links__lachin__status`` → ``links.lachin.status``;
    a bare model parameter name → ``parameters.NAME``."""
    if "." in key:
        return key
    if "__" in key:
        return key.replace("__", ".")
    if key in schema.Parameters.model_fields:
        return f"parameters.{key}"
    return key


def _labels(item: Any) -> tuple[Any, Any]:
    """``name`` and ``code`` of a list item, raw data or a loaded model alike."""
    if isinstance(item, dict):
        return item.get("name"), item.get("code")
    return getattr(item, "name", None), getattr(item, "code", None)


def _find_item(container: list, part: str) -> int | None:
    if re.fullmatch(r"-?\d+", part):
        idx = int(part)
        return idx if -len(container) <= idx < len(container) else None
    for i, item in enumerate(container):
        if part in _labels(item):
            return i
    return None


def apply_override(data: LDict, path: str, value: Any) -> None:
    """Set ``value`` at dotted ``path`` (list items by name, code or index)."""
    origin = Where(f"--set {path}")
    parts = path.split(".")
    if parts[0] == "extends":
        # which files a scenario reads is the file's own choice, never an override's
        raise ScenarioError(
            [Problem(origin, "extends", "cannot be set by an override; write it in the file")]
        )
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            idx = _find_item(node, part)
            if idx is None:
                names = [str(i.get("name")) for i in node if isinstance(i, dict)]
                raise ScenarioError(
                    [Problem(origin, here, f"no item '{part}' here" + _suggest(part, names))]
                )
            if last:
                node[idx] = value
                if isinstance(node, LList):
                    node.item_where[idx] = origin
                return
            node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                if isinstance(node, LDict):
                    node.key_where[part] = origin
                return
            if part not in node:
                node[part] = LDict(where=origin)
                if isinstance(node, LDict):
                    node.key_where[part] = origin
            node = node[part]
        else:
            raise ScenarioError(
                [Problem(origin, here, "cannot go deeper: this field holds a plain value")]
            )


def parse_set(assignment: str) -> tuple[str, Any]:
    """``'links.lachin.capacity_t_per_day=400'`` → (path, value)."""
    if "=" not in assignment:
        raise ScenarioError(
            [
                Problem(
                    Where("--set"),
                    "",
                    f"'{assignment}' is not PATH=VALUE "
                    "(e.g. --set parameters.stress_rise_per_day=0.05)",
                )
            ]
        )
    path, _, text = assignment.partition("=")
    path = path.strip()
    if not path:
        raise ScenarioError([Problem(Where("--set"), "", f"'{assignment}' has no PATH before '='")])
    try:
        return path, parse_scalar(text)
    except YamlError as exc:
        raise ScenarioError([Problem(Where(f"--set {path}"), path, exc.message)]) from None


# ---------------------------------------------------------------------------- validation


_ALL_FIELDS = sorted(
    {
        name
        for cls in vars(schema).values()
        if isinstance(cls, type) and issubclass(cls, BaseModel)
        for name in cls.model_fields
    }
)
_ACTIONS = sorted(schema.ACTIONS)


def _path_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop union tags pydantic puts in locations (``events.0.close_link.link``)."""
    return tuple(p for p in loc if p not in _ACTIONS and not str(p).startswith("function-"))


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("greater than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def _describe(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    value = err.get("input")
    loc = err["loc"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f"unknown field '{loc[-1]}'" + (
            _suggest(loc[-1], _ALL_FIELDS) or " — remove it or check the authoring guide"
        )
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag", value)
        return f"unknown action '{tag}' (one of {', '.join(_ACTIONS)})" + _suggest(tag, _ACTIONS)
    if kind == "union_tag_not_found":
        return f"each event needs an 'action' (one of {', '.join(_ACTIONS)})"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        if isinstance(value, dict) and "value" in value:
            extra = sorted(str(k) for k in value if k not in ("value", "source", "mark"))
            if extra:
                return (
                    f"unknown key '{extra[0]}' in a sourced number; "
                    "it takes only value, source and mark" + _suggest(extra[0], ["source", "mark"])
                )
        return f"expected a number, got {value!r}"
    bound = _BOUNDS.get(kind)
    if bound is not None:
        word, key = bound
        limit = err.get("ctx", {}).get(key)
        shown = f"{limit:g}" if isinstance(limit, float) else str(limit)
        return f"must be {word} {shown}, got {value!r}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping of fields (key: value), got {value!r}"
    if kind == "list_type":
        return f"expected a list (items starting with '- '), got {type(value).__name__}"
    if kind == "invalid_key":
        return f"key {value!r} must be text; quote it: '{value}'"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"expected a date like 2023-09-19, got {value!r}"
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        options = re.findall(r"'([^']+)'", str(expected))
        return f"{value!r} is not allowed; expected {expected}" + _suggest(str(value), options)
    if kind == "finite_number":
        return "must be a finite number (not NaN or infinity)"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _field_named_first(err: Mapping[str, Any]) -> str | None:
    """The field a model-level check's message starts with (``end ... must be after start``),
    when the input has it; so the problem can point at that field's line."""
    value = err.get("input")
    words = _describe(err).split()
    if err["type"] != "value_error" or not isinstance(value, dict) or not words:
        return None
    first = words[0].strip("'\"")
    return first if first in value else None


def _problems_from_validation(exc: ValidationError, data: Any) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]))
        if err["type"] == "invalid_key":
            loc = (*loc[:-1], str(loc[-1])) if loc else loc
        elif err["type"] == "union_tag_invalid":
            loc = (*loc, "action")  # point at the misspelled action, not the event
        elif (name := _field_named_first(err)) is not None:
            loc = (*loc, name)
        problems.append(Problem(where_of(data, loc), _path_text(loc), _describe(err)))
    return problems


def _reference_problems(sc: Scenario, data: Any) -> list[Problem]:
    """Cross-references pydantic cannot see: names, routes, dates, limits."""
    problems: list[Problem] = []

    def add(loc: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(where_of(data, loc), _path_text(loc), message))

    state_names = [s.name for s in sc.states]
    link_names = [lk.name for lk in sc.links]

    def check_state(loc: tuple[Any, ...], name: str | None) -> None:
        if name is not None and name not in state_names:
            add(loc, f"unknown state '{name}'" + _suggest(name, state_names))

    def check_link(loc: tuple[Any, ...], name: str) -> None:
        if name not in link_names:
            add(loc, f"unknown link '{name}'" + _suggest(name, link_names))

    for section, items, key in (
        ("states", sc.states, "name"),
        ("states", sc.states, "code"),
        ("links", sc.links, "name"),
        ("flows", sc.flows, "name"),
        ("targets", sc.targets, "name"),
    ):
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            value = getattr(item, key)
            if value in seen:
                add((section, i, key), f"duplicate {key} '{value}' (also {section}[{seen[value]}])")
            seen.setdefault(value, i)
    seen_events: dict[str, int] = {}
    for i, ev in enumerate(sc.events):
        if ev.name is not None:
            if ev.name in seen_events:
                add(("events", i, "name"), f"duplicate event name '{ev.name}'")
            seen_events.setdefault(ev.name, i)

    for limit, items, section in (
        (MAX_STATES, sc.states, "states"),
        (MAX_LINKS, sc.links, "links"),
        (MAX_FLOWS, sc.flows, "flows"),
    ):
        if len(items) > limit:
            add((section,), f"{len(items):,} {section}; the limit is {limit:,}")
    if sc.calendar.n_days > MAX_DAYS:
        add(("calendar",), f"{sc.calendar.n_days:,} days; the limit is {MAX_DAYS:,}")

    for i, st in enumerate(sc.states):
        for other in st.relations:
            check_state(("states", i, "relations", other), other)
        for j, other in enumerate(st.denies_transit_to):
            if isinstance(other, str):
                check_state(("states", i, "denies_transit_to", j), other)
            else:
                check_state(("states", i, "denies_transit_to", j, "state"), other.state)
        hub_names = [h.name for h in st.hubs]
        for j, name in enumerate(hub_names):
            if "/" in name or not name.strip():
                add(
                    ("states", i, "hubs", j, "name"),
                    f"hub name '{name}' must be non-empty without '/'",
                )
            elif name in hub_names[:j]:
                add(("states", i, "hubs", j, "name"), f"{st.name} has two hubs named '{name}'")
        for j, g in enumerate(st.guarantees):
            check_state(("states", i, "guarantees", j, "protects"), g.protects)
            for k, link in enumerate(g.links):
                check_link(("states", i, "guarantees", j, "links", k), link)
        check_state(("states", i, "patron"), st.patron)
        for other in st.threatens:
            check_state(("states", i, "threatens", other), other)
        for other in st.initial_tension:
            check_state(("states", i, "initial_tension", other), other)
        for j, response in enumerate(st.responses):
            check_state(("states", i, "responses", j, "toward"), response.toward)
        if st.arms_supplier is not None:
            for j, other in enumerate(st.arms_supplier.embargoes):
                check_state(("states", i, "arms_supplier", "embargoes", j), other)
        for j, claim in enumerate(st.claims):
            check_state(("states", i, "claims", j, "target"), claim.target)
            if claim.target == st.name:
                add(("states", i, "claims", j, "target"), "a state cannot claim itself")
            target = next((t for t in sc.states if t.name == claim.target), None)
            if st.military is None or (target is not None and target.military is None):
                add(
                    ("states", i, "claims", j, "target"),
                    f"a claim needs a 'military' section on both {st.name} and "
                    f"{claim.target}; add one",
                )

    hubs_of = {s.name: {h.name for h in s.hubs} for s in sc.states}
    for i, lk in enumerate(sc.links):
        for end, state, hub in (("a", lk.a, lk.a_hub), ("b", lk.b, lk.b_hub)):
            # 'State/Hub' with an unknown state: report the name as written
            unknown = hub is not None and state not in state_names
            check_state(("links", i, end), f"{state}/{hub}" if unknown else state)
        for end, state, hub in (("a", lk.a, lk.a_hub), ("b", lk.b, lk.b_hub)):
            if hub is not None and state in hubs_of and hub not in hubs_of[state]:
                known = ", ".join(sorted(hubs_of[state])) or "none"
                add(
                    ("links", i, end),
                    f"link '{lk.name}' attaches to hub '{hub}' of {state}, which has no such "
                    f"hub (its hubs: {known}); add it under the state's 'hubs:'",
                )
        if lk.a == lk.b and lk.a_hub == lk.b_hub:
            add(
                ("links", i, "b"),
                f"link '{lk.name}' joins '{lk.a}' to itself; a link needs two different endpoints",
            )
        for j, name in enumerate(lk.crosses):
            check_state(("links", i, "crosses", j), name)
        check_state(("links", i, "controlled_by"), lk.controlled_by)
        if lk.status == "throttled" and lk.throttle >= 1:
            add(
                ("links", i, "throttle"),
                "status is 'throttled' but throttle is 1; "
                "give the usable fraction, e.g. throttle: 0.1",
            )

    start, end = sc.calendar.start, sc.end_date
    for i, fl in enumerate(sc.flows):
        check_state(("flows", i, "origin"), fl.origin)
        check_state(("flows", i, "destination"), fl.destination)
        if fl.origin == fl.destination:
            add(("flows", i, "destination"), "a flow needs a destination other than its origin")

    for i, ev in enumerate(sc.events):
        if not start <= ev.date < end:
            add(
                ("events", i, "date"),
                f"{ev.date} is outside the calendar ({start} to {end - dt.timedelta(days=1)})",
            )
        if hasattr(ev, "link"):
            check_link(("events", i, "link"), ev.link)
        if hasattr(ev, "state"):
            check_state(("events", i, "state"), ev.state)
            check_state(("events", i, "to"), getattr(ev, "to", None))
        check_state(("events", i, "actor"), ev.actor)
        if isinstance(ev, schema.Embargo | schema.LiftEmbargo):
            supplier = next((st for st in sc.states if st.name == ev.state), None)
            if supplier is not None and supplier.arms_supplier is None:
                add(
                    ("events", i, "state"),
                    f"'{ev.state}' sells no arms (it has no "
                    "'arms_supplier' section), so it cannot embargo any",
                )
        if isinstance(ev, schema.OrderOffensive):
            claimant = next((st for st in sc.states if st.name == ev.state), None)
            if claimant is not None and all(c.target != ev.to for c in claimant.claims):
                add(
                    ("events", i, "to"),
                    f"'{ev.state}' has no claim on '{ev.to}' (no 'claims' entry with that "
                    "target), so it has no offensive to order",
                )
        if isinstance(ev, schema.SetParameter):
            message = _set_parameter_problem(sc, ev.path, ev.value)
            if message is not None:
                add(("events", i, message[0]), message[1])
    for i, tg in enumerate(sc.targets):
        if tg.date is not None and not start <= tg.date <= end:
            add(("targets", i, "date"), f"{tg.date} is outside the calendar ({start} to {end})")
        last = end - dt.timedelta(days=1)
        if tg.window is not None and not start <= tg.window.start <= tg.window.end <= last:
            add(
                ("targets", i, "window"),
                f"{tg.window.start} … {tg.window.end} is not within the simulated days ({start} "
                f"to {last}): a sum over days the run does not have would be short",
            )
        for j, point in enumerate(tg.points):
            # a point after the end is allowed: it reads nothing, a visible miss, until the
            # calendar reaches it
            if point.date < start:
                add(("targets", i, "points", j, "date"), f"{point.date} is before the start")

    if not problems:
        problems += _route_problems(sc, data)
    return problems


def _set_parameter_problem(sc: Scenario, path: str, value: Any) -> tuple[str, str] | None:
    """What is wrong with a set_parameter event (field, message), judged on the scenario it
    would produce (events aside), so that a change invalid only in context is caught at load."""
    candidate = sc.model_copy(deep=True)
    try:
        set_field(candidate, path, value)
    except ScenarioError as exc:
        if isinstance(exc, _PathError):
            return "path", exc.problems[0].message
        return "value", f"{path}: {exc.problems[0].message}"
    data = candidate.model_dump(mode="python", warnings=False)
    data["events"] = []
    try:
        changed = Scenario.model_validate(data)
    except ValidationError as exc:
        return "value", f"{path}: {_describe(exc.errors(include_url=False)[0])}"
    problems = _reference_problems(changed, None)
    if problems:
        return "value", f"{path} would make the scenario invalid: {problems[0]}"
    return None


def _route_problems(sc: Scenario, data: Any) -> list[Problem]:
    """A flow with no path at all over the network (whatever the links' status) is a mistake."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.add_nodes_from(s.name for s in sc.states)
    problems = []
    for i, fl in enumerate(sc.flows):
        usable = nx.DiGraph()
        usable.add_nodes_from(s.name for s in sc.states)
        for lk in sc.links:
            if fl.commodity not in lk.goods():
                continue
            usable.add_edge(lk.a, lk.b)
            if lk.bidirectional:
                usable.add_edge(lk.b, lk.a)
        if not nx.has_path(usable, fl.origin, fl.destination):
            problems.append(
                Problem(
                    where_of(data, ("flows", i)),
                    f"flows[{i}]",
                    f"no chain of links can carry {fl.commodity} from '{fl.origin}' to "
                    f"'{fl.destination}'; add a link or change the flow",
                )
            )
    return problems


class _PathError(ScenarioError):
    """``set_field`` found nothing at the path (as opposed to a bad value)."""


RUNTIME_SECTIONS = ("states", "links", "flows", "parameters")
"""Sections an event may change while a run is under way."""


def _check_runtime_path(path: str, parts: list[str]) -> None:
    """Refuse changes an agent could not follow mid-run (renames, whole items, the calendar)."""
    if parts[0] not in RUNTIME_SECTIONS:
        raise _PathError(
            [
                Problem(
                    None,
                    path,
                    f"an event cannot change '{parts[0]}'; it can change "
                    f"{', '.join(RUNTIME_SECTIONS)}" + _suggest(parts[0], RUNTIME_SECTIONS),
                )
            ]
        )
    if parts[0] != "parameters" and len(parts) < 3:
        raise _PathError(
            [
                Problem(
                    None,
                    path,
                    f"name one field of the item, e.g. {parts[0]}.NAME.FIELD "
                    "(whole items cannot be replaced during a run)",
                )
            ]
        )
    if parts[0] != "parameters" and parts[2] in ("name", "code", "a", "b"):
        raise _PathError(
            [
                Problem(
                    None, path, f"'{parts[2]}' cannot change during a run; other items refer to it"
                )
            ]
        )


def set_field(sc: Scenario, path: str, value: Any) -> None:
    """Set a field of a loaded scenario by dotted path, validated (used by events at run time)."""
    parts = path.split(".")
    _check_runtime_path(path, parts)
    node: Any = sc
    try:
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if isinstance(node, list):
                idx = _find_item(node, part)
                if idx is None:
                    names = [str(n) for n, _ in map(_labels, node) if n is not None]
                    raise _PathError(
                        [Problem(None, path, f"no item '{part}' here" + _suggest(part, names))]
                    )
                if last:
                    node[idx] = value
                    return
                node = node[idx]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                    return
                node = node[part]
            elif isinstance(node, BaseModel):
                if part not in type(node).model_fields:
                    raise _PathError(
                        [
                            Problem(
                                None,
                                path,
                                f"unknown field '{part}'" + _suggest(part, type(node).model_fields),
                            )
                        ]
                    )
                if last:
                    setattr(node, part, value)
                    return
                node = getattr(node, part)
            else:
                raise KeyError(part)
    except ValidationError as exc:
        raise ScenarioError([Problem(None, path, _describe(exc.errors()[0]))]) from None
    except KeyError:
        raise _PathError([Problem(None, path, f"no field or item '{part}' here")]) from None


def validate_data(data: Any, file: str) -> Scenario:
    """Validate merged data into a Scenario, or raise ScenarioError with every problem."""
    try:
        sc = Scenario.model_validate(to_plain(data))
    except ValidationError as exc:
        raise ScenarioError(_problems_from_validation(exc, data)) from None
    problems = _reference_problems(sc, data)
    if problems:
        raise ScenarioError(problems)
    return sc


# ---------------------------------------------------------------------------- public API


def resolve_variant_path(base_name: str, variant: str) -> Path:
    folder = library_dir() / "variants" / base_name
    candidate = folder / f"{variant}.yaml"
    if candidate.exists():
        return candidate
    if Path(variant).exists():
        return Path(variant)
    known = variant_names(base_name)
    raise ScenarioError(
        [
            Problem(
                None,
                "",
                f"no variant '{variant}' for scenario '{base_name}' "
                f"(variants: {', '.join(known) or 'none'})" + _suggest(variant, known),
            )
        ]
    )


def fitted_overlay_path(scenario_file: Path) -> Path:
    """Where ``corridors fit`` writes, and the loader reads, a scenario's fitted values."""
    return scenario_file.parent / "fitted" / f"{scenario_file.stem}.yaml"


def read_fitted_overlay(path: Path) -> schema.FittedOverlay:
    """A validated fitted-parameter overlay (raises :class:`ScenarioError`)."""
    data = _read_mapping(path)
    try:
        return schema.FittedOverlay.model_validate(to_plain(data))
    except ValidationError as exc:
        raise ScenarioError(_problems_from_validation(exc, data)) from None


def _apply_fitted(data: LDict, path: Path) -> str | None:
    overlay_path = fitted_overlay_path(path)
    if not overlay_path.is_file():
        return None
    overlay = read_fitted_overlay(overlay_path)
    for key, fitted in overlay.parameters.items():
        try:
            apply_override(data, override_key(key), fitted.value)
        except ScenarioError as exc:
            raise ScenarioError(
                [
                    Problem(Where(str(overlay_path)), f"parameters.{key}", p.message)
                    for p in exc.problems
                ]
            ) from None
    return str(overlay_path)


def load_scenario(
    name_or_path: str | Path | Scenario,
    variants: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    fitted: bool = True,
) -> Scenario:
    """A validated scenario from a built-in name or a file, with variants and overrides applied.

    ``overrides`` maps dotted paths (``links.lachin.status``) — or keyword-style names
    (``links__lachin__status``, a bare parameter name) — to values; they are validated like the
    file. Raises :class:`ScenarioError`. A fitted-parameter overlay written by ``corridors fit``
    (``fitted/<stem>.yaml`` beside the file) is applied before variants unless ``fitted=False``.
    """
    overrides = dict(overrides or {})
    applied: str | None = None
    if isinstance(name_or_path, Scenario):
        if not variants and not overrides:
            return name_or_path
        data: Any = LDict(
            name_or_path.model_dump(mode="json", exclude_none=True), where=Where("<scenario>")
        )
        prov = getattr(name_or_path, "_provenance", None)
        base_name = prov.name if prov else "<scenario>"
        file = prov.file if prov else "<scenario>"
        applied = prov.fitted if prov else None
    else:
        path = resolve_scenario_path(name_or_path)
        data = load_raw(path)
        base_name = str(name_or_path) if str(name_or_path) in builtin_names() else path.stem
        file = str(path)
        if fitted:
            applied = _apply_fitted(data, path)
    for variant in variants:
        vpath = resolve_variant_path(base_name, variant)
        data = _merge(data, _read_mapping(vpath))
    for key, value in overrides.items():
        apply_override(data, override_key(key), value)
    sc = validate_data(data, file)
    sc._provenance = Provenance(base_name, file, list(variants), dict(overrides), applied)
    return sc
