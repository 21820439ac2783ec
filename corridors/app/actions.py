"""The event actions an intervention can take, read from the scenario schema.

Scripted events and interventions are the same objects (``corridors.scenarios.schema.Event``),
so the interventions panel builds its forms from that union: a new action in the schema appears
in the app without code changes. Each field gets a widget by its name and type: link names pick
from the scenario's links, state names from its states, fractions get a slider.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from corridors.scenarios import schema

BASE_FIELDS = frozenset({"date", "name", "actor", "reason", "sources", "source", "action"})
"""Fields every event has; the panel shows actor and reason separately (an intervention is
never the record, so it cites no source)."""

STATE_FIELD_NAMES = frozenset(
    {
        "state",
        "to",
        "supplier",
        "recipient",
        "guarantor",
        "origin",
        "destination",
        "target",
        "protects",
        "claimant",
        "from_state",
        "to_state",
    }
)


@dataclass(frozen=True)
class FieldSpec:
    """One field of an event form."""

    name: str
    kind: str
    """``link``, ``state``, ``fraction``, ``number``, ``integer``, ``bool``, ``choice``,
    ``multi`` (several of ``choices``), ``list`` (comma-separated text), ``path``, ``value``
    (YAML text) or ``text``."""
    required: bool
    default: Any = None
    choices: tuple[str, ...] = ()
    description: str = ""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class ActionSpec:
    action: str
    fields: tuple[FieldSpec, ...]
    doc: str = ""
    cls: type[BaseModel] | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        return self.action.replace("_", " ").capitalize()


def event_classes() -> list[type[BaseModel]]:
    """The event classes of the schema's ``Event`` union, in the schema's order."""
    event = schema.Event
    args = get_args(event)
    union = args[0] if args and get_origin(event) is typing.Annotated else event
    members = get_args(union) or (union,)
    return [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner type, optional?) of ``X | None`` and ``Annotated[X, ...]``."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(members) < len(get_args(annotation))
            if len(members) != 1:
                return annotation, optional
            annotation = members[0]
        else:
            return annotation, optional


def _bounds(info: Any) -> tuple[float | None, float | None]:
    lo = hi = None
    for meta in info.metadata:
        for attr in ("ge", "gt"):
            if getattr(meta, attr, None) is not None:
                lo = getattr(meta, attr)
        for attr in ("le", "lt"):
            if getattr(meta, attr, None) is not None:
                hi = getattr(meta, attr)
    return lo, hi


def field_spec(name: str, info: Any) -> FieldSpec:
    annotation, optional = _unwrap(info.annotation)
    required = info.is_required()
    default = None if required else info.get_default(call_default_factory=True)
    description = info.description or ""
    text = f"{name} {description}".lower()
    kind = "text"
    choices: tuple[str, ...] = ()
    if get_origin(annotation) is Literal:
        kind, choices = "choice", tuple(str(a) for a in get_args(annotation))
    elif get_origin(annotation) in (list, tuple, set, frozenset):
        inner = _unwrap((get_args(annotation) or (str,))[0])[0]
        if get_origin(inner) is Literal:
            kind, choices = "multi", tuple(str(a) for a in get_args(inner))
        elif isinstance(inner, type) and issubclass(inner, StrEnum):
            kind, choices = "multi", tuple(str(m.value) for m in inner)
        else:
            kind = "list"
    elif isinstance(annotation, type) and issubclass(annotation, StrEnum):
        kind, choices = "choice", tuple(str(m.value) for m in annotation)
    elif annotation is bool:
        kind = "bool"
    elif annotation in (int,):
        kind = "integer"
    elif annotation in (float,):
        lo, hi = _bounds(info)
        kind = "fraction" if (lo == 0 and hi == 1) else "number"
    elif annotation is str:
        if "link" in name:
            kind = "link"
        elif name in STATE_FIELD_NAMES or "state" in text.split():
            kind = "state"
        elif name == "path":
            kind = "path"
    elif annotation is Any or annotation is object:
        kind = "value"
    return FieldSpec(name, kind, required and not optional, default, choices, description)


@lru_cache(maxsize=1)
def event_actions() -> tuple[ActionSpec, ...]:
    """Every action the schema offers, with its form fields."""
    out = []
    for cls in event_classes():
        action_field = cls.model_fields.get("action")
        if action_field is None:
            continue
        values = get_args(_unwrap(action_field.annotation)[0])
        if not values:
            continue
        fields = tuple(
            field_spec(name, info)
            for name, info in cls.model_fields.items()
            if name not in BASE_FIELDS
        )
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out.append(ActionSpec(str(values[0]), fields, doc, cls))
    return tuple(out)


def action_spec(action: str) -> ActionSpec:
    return next(a for a in event_actions() if a.action == action)


def parameter_paths(spec: schema.Scenario) -> list[str]:
    """``parameters.NAME`` for every plain-valued model parameter (for set_parameter)."""
    out = []
    for name, value in spec.parameters.model_dump().items():
        if isinstance(value, int | float | bool | str):
            out.append(f"parameters.{name}")
    return out


def build_event(action: str, values: dict[str, Any], reason: str = "", actor: str | None = None):
    """The event dict for ``model.intervene``: the chosen action and its filled-in fields
    (``value`` fields are parsed as YAML, like ``--set``)."""
    from corridors.scenarios import parse_set

    spec = action_spec(action)
    event: dict[str, Any] = {"action": action}
    for f in spec.fields:
        value = values.get(f.name)
        if value is None or value == "" or (f.kind in ("multi", "list") and not value):
            continue
        if f.kind == "value" and isinstance(value, str):
            value = parse_set(f"x={value}")[1]
        elif f.kind == "list" and isinstance(value, str):
            value = [x.strip() for x in value.split(",") if x.strip()]
        elif f.kind == "multi":
            value = list(value)
        event[f.name] = value
    if reason:
        event["reason"] = reason
    if actor:
        event["actor"] = actor
    return event
