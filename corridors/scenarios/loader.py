"""Loading scenarios: built-in names or files, ``extends:`` bases, variants, ``--set`` overrides.

Every problem is reported as a :class:`ScenarioError` whose lines read
``FILE:LINE: FIELD.PATH: what is wrong — the fix``; nothing here prints a traceback.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import re
import typing
import unicodedata
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
    note: str = ""
    """Where the fault came from when that is not ``where`` (an ``extends:`` line)."""

    def __str__(self) -> str:
        loc = f"{self.where}: " if self.where else ""
        path = f"{self.path}: " if self.path else ""
        note = f" ({self.note})" if self.note else ""
        return f"{loc}{path}{self.message}{note}"


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


MAX_SHOWN = 60
"""Longest value printed in full in a message; longer ones are cut."""


def _needs_escape(ch: str, mixed: bool) -> bool:
    if ch == " ":
        return False
    if unicodedata.category(ch)[0] in "CZM":  # controls, format (zero-width), odd spaces, marks
        return True
    return mixed and not ch.isascii()


def shown_text(text: str) -> str:
    """Text as a message prints it: invisible characters, and non-ASCII letters mixed into an
    otherwise ASCII name (Cyrillic 'а' in 'Armenia'), escaped; long text cut."""
    mixed = any(c.isascii() and c.isalpha() for c in text) and any(
        not c.isascii() and c.isalpha() for c in text
    )
    out = "".join(
        ch.encode("unicode_escape").decode("ascii") if _needs_escape(ch, mixed) else ch
        for ch in text
    )
    if len(out) > MAX_SHOWN:
        out = f"{out[: MAX_SHOWN - 20]}…({len(text):,} characters)"
    return out


def show_value(value: Any) -> str:
    """A value as a message prints it: text quoted and made visible, dates as ISO, cut."""
    if isinstance(value, str):
        return f"'{shown_text(value)}'"
    if isinstance(value, dt.date):
        return value.isoformat()
    return shown_text(repr(value))


def suggest(word: Any, choices: Iterable[Any]) -> str:
    """`` — did you mean 'X'?`` when one of ``choices`` is close to ``word`` (else empty)."""
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if not close:
        # the same name but for case, spaces or invisible characters
        folded = {_fold(c): c for c in options}
        close = [folded[_fold(str(word))]] if _fold(str(word)) in folded else []
    return f" — did you mean {show_value(close[0])}?" if close else ""


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text.casefold() if unicodedata.category(c)[0] not in "CZ")


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
                f"no scenario named {show_value(text)}: not a built-in "
                f"({', '.join(builtin_names())}) nor an existing file"
                + suggest(text, builtin_names()),
            )
        ]
    )


# ---------------------------------------------------------------------------- merging


def merge(base: Any, overlay: Any, path: str = "") -> Any:
    """Deep-merge ``overlay`` onto ``base``; named lists merge item by item on ``name``."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = LDict(base, where=getattr(base, "where", None))
        out.key_where = dict(getattr(base, "key_where", {}))
        for key, value in overlay.items():
            if key == "extends":
                continue
            sub = f"{path}.{key}" if path else str(key)
            out[key] = merge(base[key], value, sub) if key in base else value
            if hasattr(overlay, "key_where") and key in overlay.key_where:
                out.key_where[key] = overlay.key_where[key]
        return out
    if path in NAMED_LISTS and isinstance(base, list) and isinstance(overlay, list):
        # an empty list says "none of these" (as the override `events=[]` does); merging it
        # item by item would keep every item of the base without a word
        return _merge_named(base, overlay, path) if overlay else overlay
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
                            f"cannot delete {show_value(name)}: the base has no such item"
                            + suggest(str(name), [str(k) for k in index if k]),
                        )
                    ]
                )
            items[index[name]] = None
            continue
        if name is not None and name in index and items[index[name]] is not None:
            items[index[name]] = merge(items[index[name]], item, f"{path}[{name}]")
            wheres[index[name]] = w
        else:
            index[name] = len(items)
            items.append(item)
            wheres.append(w)
    out = LList([i for i in items if i is not None], where=getattr(overlay, "where", None))
    out.item_where = [w for i, w in zip(items, wheres, strict=True) if i is not None]
    return out


def read_mapping(path: Path) -> LDict:
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


def _extends_chain(path: Path) -> list[tuple[Path, LDict, Where | None]]:
    """The files a scenario is built from, base first: (file, its data, where the file that
    extends it says so). A fault in a base names the ``extends:`` line that reached it."""
    chain: list[tuple[Path, LDict, Where | None]] = []
    seen: list[Path] = []
    current, reached_by = path, None
    while True:
        resolved = current.resolve()
        if resolved in seen:
            cycle = " → ".join(p.name for p in (*seen, resolved))
            raise ScenarioError([Problem(reached_by, "extends", f"'extends' cycle: {cycle}")])
        seen.append(resolved)
        try:
            data = read_mapping(current)
        except ScenarioError as exc:
            raise _reached_through(exc, reached_by) from None
        chain.append((current, data, reached_by))
        base_name = data.get("extends")
        if base_name is None:
            break
        here = where_of(data, ("extends",))
        if not isinstance(base_name, str):
            raise _reached_through(
                ScenarioError([Problem(here, "extends", "must be a scenario name or path")]),
                reached_by,
            )
        try:
            base_path = resolve_scenario_path(base_name, relative_to=current.parent)
        except ScenarioError as exc:
            raise _reached_through(
                ScenarioError([Problem(here, "extends", exc.problems[0].message)]), reached_by
            ) from None
        current, reached_by = base_path, here
    chain.reverse()
    return chain


def _reached_through(exc: ScenarioError, reached_by: Where | None) -> ScenarioError:
    if reached_by is None:
        return exc
    note = f"reached through 'extends:' at {reached_by}"
    return type(exc)([dataclasses.replace(p, note=note) for p in exc.problems])


def load_raw(path: Path) -> LDict:
    """Read a scenario file and, recursively, the scenarios it extends; merged, unvalidated."""
    chain = _extends_chain(path)
    data: Any = chain[0][1]
    for _, overlay, _ in chain[1:]:
        data = merge(data, overlay)
    return data


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
    """Index of the item named (or coded) ``part``, or at index ``part`` (0 or more)."""
    if re.fullmatch(r"\d+", part):
        idx = int(part)
        return idx if idx < len(container) else None
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
                message = (
                    f"no item {show_value(part)} here; name the item, or give its position "
                    f"from 0 to {len(node) - 1}"
                    if re.fullmatch(r"-\d+", part)
                    else f"no item {show_value(part)} here" + suggest(part, names)
                )
                raise ScenarioError([Problem(origin, here, message)])
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


def canonical_path(sc: Scenario, path: str) -> str:
    """One spelling per field: keyword form made dotted, list items named by their name (a code
    or a position resolved), so that two spellings of the same field can be told apart."""
    out: list[str] = []
    node: Any = sc
    for part in override_key(path).split("."):
        if isinstance(node, list) and (idx := _find_item(node, part)) is not None:
            name = _labels(node[idx])[0]
            out.append(str(name) if name is not None else str(idx))
            node = node[idx]
            continue
        out.append(part)
        if isinstance(node, BaseModel):
            node = getattr(node, part, None) if part in type(node).model_fields else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
    return ".".join(out)


def parse_set(assignment: str) -> tuple[str, Any]:
    """``'links.lachin.capacity_t_per_day=400'`` → (path, value)."""
    if "=" not in assignment:
        raise ScenarioError(
            [
                Problem(
                    Where("--set"),
                    "",
                    f"{show_value(assignment)} is not PATH=VALUE "
                    "(e.g. --set parameters.stress_rise_per_day=0.05)",
                )
            ]
        )
    path, _, text = assignment.partition("=")
    path = path.strip()
    if not path:
        raise ScenarioError(
            [Problem(Where("--set"), "", f"{show_value(assignment)} has no PATH before '='")]
        )
    try:
        return path, parse_scalar(text)
    except YamlError as exc:
        raise ScenarioError([Problem(Where(f"--set {path}"), path, exc.message)]) from None


# ---------------------------------------------------------------------------- validation


_ACTIONS = sorted(schema.ACTIONS)


def path_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = shown_text(str(part))
            out += f".{text}" if out else text
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Models a field's type holds (through Optional, unions, lists, dicts, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def fields_at(
    loc: Sequence[Any], root: type[BaseModel] = Scenario, scalar: bool = False
) -> list[str]:
    """Field names of the object at a pydantic location (``('links', 0)`` → a Link's), so that a
    misspelled field is matched against its own object's fields only; with ``scalar``, only the
    fields that hold one value, not a list (to suggest for a misspelled field given a number)."""
    models: list[type[BaseModel]] = [root]
    for part in loc:
        if isinstance(part, int) or not models:
            continue
        tagged = [m for m in models if _action_of(m) == part]
        if tagged:
            models = tagged
            continue
        nxt: list[type[BaseModel]] = []
        for model in models:
            info = model.model_fields.get(str(part))
            if info is not None:
                nxt += _models_in(info.annotation)
        if nxt or any(str(part) in m.model_fields for m in models):
            models = nxt
    return sorted(
        {
            name
            for m in models
            for name, info in m.model_fields.items()
            if not (scalar and typing.get_origin(info.annotation) is list)
        }
    )


def _action_of(model: type[BaseModel]) -> Any:
    info = model.model_fields.get("action")
    args = typing.get_args(info.annotation) if info is not None else ()
    return args[0] if len(args) == 1 else None


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop union tags pydantic puts in locations (``events.0.close_link.link``)."""
    return tuple(p for p in loc if p not in _ACTIONS and not str(p).startswith("function-"))


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("greater than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def describe(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    value = err.get("input")
    loc = err["loc"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        if loc[-1] == "delete":
            return (
                "'delete' removes an item of the base in a file that extends another; "
                f"write 'delete: true' (got {show_value(value)})"
            )
        scalar = not isinstance(value, (list, dict))
        fields = (scalar and fields_at(loc[:-1], scalar=True)) or fields_at(loc[:-1])
        return f"unknown field {show_value(loc[-1])}" + (
            suggest(loc[-1], fields) or " — remove it or check the authoring guide"
        )
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag", value)
        return f"unknown action {show_value(tag)} (one of {', '.join(_ACTIONS)})" + suggest(
            tag, _ACTIONS
        )
    if kind == "union_tag_not_found":
        return f"each event needs an 'action' (one of {', '.join(_ACTIONS)})"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        if isinstance(value, dict) and "value" in value:
            extra = sorted(str(k) for k in value if k not in ("value", "source", "mark"))
            if extra:
                return (
                    f"unknown key {show_value(extra[0])} in a sourced number; "
                    "it takes only value, source and mark" + suggest(extra[0], ["source", "mark"])
                )
        return f"expected a number, got {show_value(value)}"
    bound = _BOUNDS.get(kind)
    if bound is not None:
        word, key = bound
        limit = err.get("ctx", {}).get(key)
        shown = f"{limit:g}" if isinstance(limit, float) else str(limit)
        return f"must be {word} {shown}, got {show_value(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping of fields (key: value), got {show_value(value)}"
    if kind == "list_type":
        return f"expected a list (items starting with '- '), got {type(value).__name__}"
    if kind == "invalid_key":
        return f"key {show_value(value)} must be text; quote it: {show_value(str(value))}"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"expected a date like 2023-09-19, got {show_value(value)}"
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        options = re.findall(r"'([^']+)'", str(expected))
        return f"{show_value(value)} is not allowed; expected {expected}" + suggest(
            str(value), options
        )
    if kind == "finite_number":
        return "must be a finite number (not NaN or infinity)"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _field_named_first(err: Mapping[str, Any]) -> str | None:
    """The field a model-level check's message starts with (``end ... must be after start``),
    when the input has it; so the problem can point at that field's line."""
    value = err.get("input")
    words = describe(err).split()
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
        problems.append(Problem(where_of(data, loc), path_text(loc), describe(err)))
    return problems


def _reference_problems(sc: Scenario, data: Any) -> list[Problem]:
    """Cross-references pydantic cannot see: names, routes, dates, limits."""
    problems: list[Problem] = []

    def add(loc: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(where_of(data, loc), path_text(loc), message))

    state_names = [s.name for s in sc.states]
    link_names = [lk.name for lk in sc.links]

    def check_state(loc: tuple[Any, ...], name: str | None) -> None:
        if name is not None and name not in state_names:
            add(loc, f"unknown state {show_value(name)}" + suggest(name, state_names))

    def check_link(loc: tuple[Any, ...], name: str) -> None:
        if name not in link_names:
            add(loc, f"unknown link {show_value(name)}" + suggest(name, link_names))

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
                # blame the one a --set option changed, when it is the earlier of the two
                first, second = seen[value], i
                origin = where_of(data, (section, first, key))
                if origin is not None and origin.file.startswith("--set"):
                    first, second = second, first
                add(
                    (section, second, key),
                    f"duplicate {key} {show_value(value)} (also {section}[{first}])",
                )
            seen.setdefault(value, i)
    seen_events: dict[str, int] = {}
    for i, ev in enumerate(sc.events):
        if ev.name is not None:
            if ev.name in seen_events:
                add(("events", i, "name"), f"duplicate event name {show_value(ev.name)}")
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
        if st.patron == st.name:
            add(("states", i, "patron"), "a state cannot be its own patron")
        for j, g in enumerate(st.guarantees):
            if g.protects == st.name:
                add(
                    ("states", i, "guarantees", j, "protects"),
                    "a state cannot be its own guarantor; name the state it protects",
                )
        if "." in st.code:
            add(
                ("states", i, "code"),
                f"code {show_value(st.code)} contains '.', which separates the parts of a "
                "path (--set states.CODE.FIELD); use letters and digits",
            )
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
                f"link {show_value(lk.name)} joins {show_value(lk.a)} to itself; "
                "a link needs two different endpoints",
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
                    f"{show_value(ev.state)} sells no arms (it has no "
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
    for i, tg in enumerate(sc.targets):
        if tg.date is not None and not start <= tg.date <= end:
            add(("targets", i, "date"), f"{tg.date} is outside the calendar ({start} to {end})")
        message = _metric_problem(sc, tg.metric)
        if message is not None:
            add(("targets", i, "metric"), message)
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
    if not problems:
        # judged only on an otherwise valid scenario, or every such event repeats its fault
        for i, ev in enumerate(sc.events):
            if isinstance(ev, schema.SetParameter):
                message = _set_parameter_problem(sc, ev.path, ev.value)
                if message is not None:
                    add(("events", i, message[0]), message[1])
    return problems


_STATE_KEYED = ("arms_share", "arms_delivered_by_supplier")
"""Summary keys whose later parts are state names."""


def _metric_problem(sc: Scenario, metric: str) -> str | None:
    """A target's metric that names a state, link or flow the scenario lacks can never be read."""
    names = [s.name for s in sc.states]
    codes = [s.code for s in sc.states]
    entities = [*names, *codes, *(lk.name for lk in sc.links), *(f.name for f in sc.flows)]
    if metric.startswith("series:"):
        parts = metric.split(":")
        if len(parts) == 3 and parts[1] not in (*entities, "model"):
            return f"unknown state, link or flow {show_value(parts[1])} in the metric" + suggest(
                parts[1], entities
            )
        return None
    head, _, rest = metric.partition(".")
    if not rest:
        return None
    if head in ("flow", "link"):
        known = [f.name for f in sc.flows] if head == "flow" else [lk.name for lk in sc.links]
        name = rest.rpartition(".")[0]
        if name and name not in known:
            return f"unknown {head} {show_value(name)} in the metric" + suggest(name, known)
        return None
    if head in _STATE_KEYED:
        for part in rest.split("."):
            if part not in names:
                return f"unknown state {show_value(part)} in the metric" + suggest(part, names)
        return None
    if head in names and head not in codes:
        code = codes[names.index(head)]
        return f"state outcomes are named by code: write {show_value(code + '.' + rest)}"
    if re.fullmatch(r"[A-Z0-9]{2,8}", head) and head not in codes:
        return f"unknown state code {show_value(head)} in the metric" + suggest(head, codes)
    return None


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
        return "value", f"{path}: {describe(exc.errors(include_url=False)[0])}"
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
                    f"no chain of links can carry {fl.commodity} from {show_value(fl.origin)} to "
                    f"{show_value(fl.destination)}; add a link or change the flow",
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
                    f"an event cannot change {show_value(parts[0])}; it can change "
                    f"{', '.join(RUNTIME_SECTIONS)}" + suggest(parts[0], RUNTIME_SECTIONS),
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
                    None,
                    path,
                    f"{show_value(parts[2])} cannot change during a run; other items refer to it",
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
                        [
                            Problem(
                                None,
                                path,
                                f"no item {show_value(part)} here" + suggest(part, names),
                            )
                        ]
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
                    fields = list(type(node).model_fields)
                    if last:  # a value goes here: suggest a field that holds one, not a list
                        values = [f for f in fields if not isinstance(getattr(node, f), list)]
                        fields = values or fields
                    raise _PathError(
                        [
                            Problem(
                                None,
                                path,
                                f"unknown field {show_value(part)}" + suggest(part, fields),
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
        raise ScenarioError([Problem(None, path, describe(exc.errors()[0]))]) from None
    except KeyError:
        raise _PathError(
            [Problem(None, path, f"no field or item {show_value(part)} here")]
        ) from None


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
                f"no variant {show_value(variant)} for scenario {show_value(base_name)} "
                f"(variants: {', '.join(known) or 'none'})" + suggest(variant, known),
            )
        ]
    )


def _tracked(value: Any, where: Where) -> Any:
    """Plain data as LDict/LList (a copy), so that overrides applied to it are located."""
    if isinstance(value, dict):
        out = LDict({k: _tracked(v, where) for k, v in value.items()}, where=where)
        out.key_where = dict.fromkeys(out, where)
        return out
    if isinstance(value, list):
        return LList([_tracked(v, where) for v in value], where=where)
    return value


@dataclass
class _Layer:
    """One step of building a scenario: a file, a variant or a ``--set`` option. ``apply``
    returns the data with this step applied on top of ``data`` (``None`` for the first)."""

    label: str
    where: Where
    origins: frozenset[str]
    apply: Any
    note: str = ""


class _FileStep:
    """Applies one file of an ``extends:`` chain: the data read the first time, then a fresh
    read (overrides change data in place, and attribution builds the layers again)."""

    def __init__(self, file: Path, raw: LDict, first: bool) -> None:
        self.file, self.raw, self.first = file, raw, first

    def __call__(self, data: Any) -> Any:
        fresh, self.raw = (
            (self.raw, None) if self.raw is not None else (read_mapping(self.file), None)
        )
        return fresh if self.first else merge(data, fresh)


def _file_layers(path: Path) -> list[_Layer]:
    layers = []
    for i, (file, raw, reached_by) in enumerate(_extends_chain(path)):
        note = f"reached through 'extends:' at {reached_by}" if reached_by else ""
        layers.append(
            _Layer(
                f"the changes in {file} make",
                Where(str(file)),
                frozenset({str(file)}),
                _FileStep(file, raw, first=i == 0),
                note,
            )
        )
    return layers


def _locate_change(layer: _Layer, problems: Sequence[Problem]) -> Where:
    """The line of a layer that most likely caused problems found elsewhere: an item of the
    layer whose name the problems quote (a deleted state, a renamed link), else the file."""
    if layer.where.line is not None or layer.where.file.startswith("--set"):
        return layer.where
    try:
        raw = read_mapping(Path(layer.where.file))
    except ScenarioError:
        return layer.where
    text = " ".join(p.message for p in problems)
    first: Where | None = None
    for section in NAMED_LISTS:
        items = raw.get(section)
        if not isinstance(items, LList):
            continue
        for item, w in zip(items, items.item_where, strict=True):
            name = _item_name(item)
            if name is not None and f"{show_value(name)}" in text:
                if isinstance(item, dict) and item.get("delete") is True:
                    return w
                first = first or w
    if first is not None:
        return first
    keys = [k for k in raw if k not in ("extends", "meta")]
    return raw.key_where.get(keys[0], layer.where) if keys else layer.where


def _attribute(final: ScenarioError, layers: Sequence[_Layer], file: str) -> ScenarioError:
    """Name the file or option that introduced each problem. A problem that shows up only once
    an overlay, variant or ``--set`` is applied, but lies in lines of an earlier file (a base
    whose links now name a deleted state), is reported once, against that layer."""
    last = layers[-1]
    if len(layers) == 1 or all(
        p.where is not None and p.where.file in last.origins for p in final.problems
    ):
        return final
    seen: list[set[tuple[Any, str]]] = []
    data: Any = None
    for layer in layers:
        data = layer.apply(data)
        try:
            validate_data(data, file)
            seen.append(set())
        except ScenarioError as exc:
            seen.append({(p.where, p.message) for p in exc.problems})
    kept: list[Problem] = []
    grouped: dict[int, list[Problem]] = {}
    for problem in final.problems:
        k = next(
            (i for i, keys in enumerate(seen) if (problem.where, problem.message) in keys),
            len(layers) - 1,
        )
        origin = problem.where.file if problem.where is not None else None
        if origin in layers[k].origins or k == 0:
            owner = next((la for la in layers if origin in la.origins), None)
            if owner is not None and owner.note and not problem.note:
                kept.append(dataclasses.replace(problem, note=owner.note))
            else:
                kept.append(problem)
        else:
            grouped.setdefault(k, []).append(problem)
    for k, problems in grouped.items():
        layer = layers[k]
        more = len(problems) - 1
        kept.append(
            Problem(
                _locate_change(layer, problems),
                "",
                f"{layer.label} the scenario invalid: {problems[0]}"
                + (f" (and {more} more problem{'s' * (more > 1)} it causes)" if more else ""),
            )
        )
    return type(final)(kept)


def fitted_overlay_path(scenario_file: Path) -> Path:
    """Where ``corridors fit`` writes, and the loader reads, a scenario's fitted values."""
    return scenario_file.parent / "fitted" / f"{scenario_file.stem}.yaml"


def read_fitted_overlay(path: Path) -> schema.FittedOverlay:
    """A validated fitted-parameter overlay (raises :class:`ScenarioError`)."""
    data = read_mapping(path)
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
    file. Raises :class:`ScenarioError`; a problem that an overlay, variant or override brings
    into another file's lines is reported once, against the overlay, variant or option. A
    fitted-parameter overlay written by ``corridors fit`` (``fitted/<stem>.yaml`` beside the
    file) is applied before variants unless ``fitted=False``.
    """
    overrides = dict(overrides or {})
    applied: str | None = None
    if isinstance(name_or_path, Scenario):
        if not variants and not overrides:
            return name_or_path
        dumped = name_or_path.model_dump(mode="json", exclude_none=True)
        prov = getattr(name_or_path, "_provenance", None)
        base_name = prov.name if prov else "<scenario>"
        file = prov.file if prov else "<scenario>"
        applied = prov.fitted if prov else None
        layers = [
            _Layer(
                "the scenario makes",
                Where(file),
                frozenset({file}),
                lambda _: _tracked(dumped, Where(file)),
            )
        ]
    else:
        path = resolve_scenario_path(name_or_path)
        layers = _file_layers(path)
        base_name = str(name_or_path) if str(name_or_path) in builtin_names() else path.stem
        file = str(path)
        overlay_path = fitted_overlay_path(path)
        if fitted and overlay_path.is_file():
            applied = str(overlay_path)

            def fit_step(data: Any, path: Path = path) -> Any:
                _apply_fitted(data, path)
                return data

            layers.append(
                _Layer(
                    f"the fitted values in {overlay_path} make",
                    Where(applied),
                    frozenset({applied}),
                    fit_step,
                )
            )
    for variant in variants:
        vpath = resolve_variant_path(base_name, variant)
        layers.append(
            _Layer(
                f"variant '{variant}' ({vpath}) makes",
                Where(str(vpath)),
                frozenset({str(vpath)}),
                lambda data, vpath=vpath: merge(data, read_mapping(vpath)),
            )
        )
    for key, value in overrides.items():
        dotted = override_key(key)
        origin = f"--set {dotted}"

        def set_one(data: Any, dotted: str = dotted, value: Any = value) -> Any:
            apply_override(data, dotted, copy.deepcopy(value))
            return data

        layers.append(
            _Layer(
                f"{show_value(value)} would make",
                Where(origin),
                frozenset({origin}),
                set_one,
            )
        )
    data: Any = None
    for layer in layers:
        data = layer.apply(data)
    try:
        sc = validate_data(data, file)
    except ScenarioError as exc:
        raise _attribute(exc, layers, file) from None
    _refuse_shadowed_capacity(sc, [override_key(k) for k in overrides])
    sc._provenance = Provenance(base_name, file, list(variants), dict(overrides), applied)
    return sc


def _refuse_shadowed_capacity(sc: Scenario, paths: Sequence[str]) -> None:
    """An override of a field that a dated ``set_parameter`` event or a link's
    ``capacity_schedule`` replaces within the run would hold only until then, silently: refuse
    it and say what to set instead."""
    problems = []
    for dotted in paths:
        setters = [
            ev
            for ev in sc.events
            if getattr(ev, "action", None) == "set_parameter"
            and ev.path == dotted
            and ev.date < sc.end_date
        ]
        if setters:
            names = ", ".join(f"{ev.name or '(unnamed)'} ({ev.date})" for ev in setters[:4])
            named = next((ev.name for ev in setters if ev.name), None)
            hint = f"events.{named}.value=…" if named else "the events' values"
            problems.append(
                Problem(
                    Where(f"--set {dotted}"),
                    "",
                    f"dated events set {dotted} during the run ({names}"
                    f"{', …' if len(setters) > 4 else ''}), so this override would hold only "
                    f"until the first of them: change the events instead ({hint}), or delete "
                    "them in a variant file",
                )
            )
            continue
        parts = dotted.split(".")
        if len(parts) != 3 or parts[0] != "links" or parts[2] != "capacity_t_per_day":
            continue
        key = parts[1]
        link = next(
            (lk for i, lk in enumerate(sc.links) if key in (lk.name, str(i))),
            None,
        )
        steps = [st for st in link.capacity_schedule if st.date < sc.end_date] if link else []
        if not steps:
            continue
        first = link.capacity_schedule.index(steps[0])
        field = "capacity_t_per_day" if steps[0].capacity_t_per_day is not None else "vehicles"
        problems.append(
            Problem(
                Where(f"--set {dotted}"),
                "",
                f"link '{link.name}' has a capacity_schedule whose steps replace "
                f"capacity_t_per_day from {max(steps[0].date, sc.calendar.start)}, so this "
                "override would hold only before then: set the steps instead "
                f"(links.{link.name}.capacity_schedule.{first}.{field}, …), or drop the "
                f"schedule with links.{link.name}.capacity_schedule=[]",
            )
        )
    if problems:
        raise ScenarioError(problems)
