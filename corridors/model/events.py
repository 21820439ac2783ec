"""Events: dated scenario events and interactive interventions are the same objects.

An event changes the world (a link's status, a transit permission, any field of the scenario)
and writes to the event log why it happened. Scheduled events fire at the start of their day;
``apply_event(model, event, intervention=True)`` applies one immediately, mid-run.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from corridors.scenarios import schema
from corridors.scenarios.loader import Problem, ScenarioError, Where, set_field, validate_data

if TYPE_CHECKING:
    from corridors.model.conflict_model import ConflictModel

EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(schema.Event)
"""Validates a dict into the right event class by its ``action``."""


class EventSchedule:
    """Scenario events by day index."""

    def __init__(self, events: list[Any], start: Any) -> None:
        self.by_day: dict[int, list[Any]] = defaultdict(list)
        for ev in events:
            self.by_day[(ev.date - start).days].append(ev)

    def due(self, day: int) -> list[Any]:
        return self.by_day.get(day, [])


def _season_dates(season: schema.Season, start: dt.date, end: dt.date) -> list[tuple]:
    """(opens, closes) date pairs of a yearly season overlapping start … end."""
    out = []
    for year in range(start.year - 1, end.year + 1):
        opens = _month_day(season.opens, year)
        closes = _month_day(season.closes, year if season.closes > season.opens else year + 1)
        if opens <= end and closes > start:
            out.append((opens, closes))
    return out


def _month_day(text: str, year: int) -> dt.date:
    month, day = int(text[:2]), int(text[3:])
    if (month, day) == (2, 29) and not calendar.isleap(year):
        day = 28
    return dt.date(year, month, day)


def _capacity_event(
    link: str, capacity_t_per_day: float, date: dt.date, reason: str, source: str
) -> schema.SetParameter:
    """The dated ``set_parameter`` event that seasons and capacity schedules become."""
    return schema.SetParameter(
        action="set_parameter",
        path=f"links.{link}.capacity_t_per_day",
        value=capacity_t_per_day,
        date=date,
        reason=reason,
        source=source,
    )


def seasonal_events(spec: schema.Scenario, start: dt.date, end: dt.date) -> list[Any]:
    """Open and close events for links that run only in seasons, between start and end.

    A link with seasons starts closed unless the first day falls in one; on each season's first
    day it opens (at the season's capacity, if it has one) and on its closing day it closes."""
    events: list[Any] = []
    for link in spec.links:
        if not link.seasons:
            continue
        windows = [
            (w, season) for season in link.seasons for w in _season_dates(season, start, end)
        ]
        open_at_start = any(a <= start < b for (a, b), _ in windows)
        if not open_at_start:
            events.append(
                schema.CloseLink(
                    action="close_link", link=link.name, date=start, reason="out of season"
                )
            )
        for (opens, closes), season in sorted(windows, key=lambda item: item[0]):
            if opens > start:
                if season.capacity_t_per_day is not None:
                    events.append(
                        _capacity_event(
                            link.name,
                            season.capacity_t_per_day,
                            opens,
                            "seasonal capacity",
                            season.source,
                        )
                    )
                events.append(
                    schema.OpenLink(
                        action="open_link",
                        link=link.name,
                        date=opens,
                        reason=f"season opens ({season.opens})",
                        source=season.source,
                    )
                )
            elif season.capacity_t_per_day is not None and opens <= start < closes:
                events.append(
                    _capacity_event(
                        link.name,
                        season.capacity_t_per_day,
                        start,
                        "seasonal capacity",
                        season.source,
                    )
                )
            if closes <= end:
                events.append(
                    schema.CloseLink(
                        action="close_link",
                        link=link.name,
                        date=closes,
                        reason=f"season closes ({season.closes})",
                        source=season.source,
                    )
                )
    # on a day one season closes and the next opens, close first
    order = {"close_link": 0, "set_parameter": 1, "open_link": 2}
    return sorted(events, key=lambda ev: (ev.date, order[ev.action]))


def capacity_schedule_events(spec: schema.Scenario, start: dt.date, end: dt.date) -> list[Any]:
    """``set_parameter`` events for links' dated capacity steps between start and end.

    A step dated before the start applies from the first day if it is the latest such step;
    steps after the end are dropped. On a day a season opens, the step comes after the season's
    own capacity (the caller puts these events after the seasonal ones)."""
    events: list[Any] = []
    for link in spec.links:
        steps = [s for s in link.capacity_schedule if s.date <= end]
        earlier = [s for s in steps if s.date <= start]
        due = ([earlier[-1]] if earlier else []) + [s for s in steps if s.date > start]
        for step in due:
            how = (
                f"{step.vehicles:g} vehicles × {step.payload_t:g} t × {step.trips_per_day:g} "
                "trips a day"
                if step.capacity_t_per_day is None
                else "capacity schedule"
            )
            events.append(
                _capacity_event(link.name, step.capacity(), max(step.date, start), how, step.source)
            )
    return sorted(events, key=lambda ev: ev.date)


def _by(event: Any) -> str:
    return f" by {event.actor}" if event.actor else ""


def _why(event: Any) -> str:
    return f": {event.reason}" if event.reason else ""


Outcome = tuple[str, str, dict[str, Any]]
"""What an event did: the subject it acted on, the log message, and data for the log."""


def _link_status(model: ConflictModel, event: Any) -> Outcome:
    link = model.link(event.link)
    before = link.status
    if event.action == "close_link":
        link.set_status("closed")
        what = f"link {link.name} closed"
    elif event.action == "open_link":
        link.set_status("open", throttle=1.0)
        what = f"link {link.name} reopened"
    else:
        link.set_status("throttled", throttle=event.fraction)
        what = (
            f"link {link.name} throttled to {event.fraction:.0%} of capacity "
            f"({link.capacity_t_per_day * event.fraction:,.0f} of "
            f"{link.capacity_t_per_day:,.0f} t/day)"
        )
    if before == "closed" and link.status != "closed" and link.spec.changes_borders:
        for end in (link.a, link.b):
            model.diplomacy.on_border_change(end, f"{link.name} opens")
    return link.name, what, {"before": before, "after": link.status}


def _transit(model: ConflictModel, event: Any) -> Outcome:
    state, target = model.state(event.state), model.state(event.to)
    allow = event.action == "grant_transit"
    goods = list(event.goods) if event.goods else [None]
    modes = [str(m) for m in event.modes] if getattr(event, "modes", None) else []
    for good in goods:
        if modes:
            for mode in modes:
                model.transit_mode_overrides[(state.name, target.name, good, mode)] = allow
        else:
            model.transit_overrides[(state.name, target.name, good)] = allow
            # a later rule for every mode replaces earlier rules for some modes
            for key in [
                k for k in model.transit_mode_overrides if k[:3] == (state.name, target.name, good)
            ]:
                del model.transit_mode_overrides[key]
    model.network_changed()
    verb = "grants" if allow else "denies"
    what = ", ".join(event.goods) if event.goods else "goods"
    if modes == ["air"]:
        message = f"{state.name} {verb} transit through its airspace to {what} for or from "
    elif modes:
        message = f"{state.name} {verb} transit by {' and '.join(modes)} to {what} for or from "
    else:
        message = f"{state.name} {verb} transit to {what} for or from "
    return (
        state.name,
        message + target.name,
        {"to": target.name, **({"modes": modes} if modes else {})},
    )


def _embargo(model: ConflictModel, event: Any) -> Outcome:
    supplier, buyer = model.state(event.state), model.state(event.to)
    if event.action == "embargo":
        model.procurement.embargo(supplier.name, buyer.name)
        message = f"{supplier.name} embargoes arms to {buyer.name}"
    else:
        model.procurement.lift_embargo(supplier.name, buyer.name)
        message = f"{supplier.name} lifts its arms embargo on {buyer.name}"
    return supplier.name, message, {"to": buyer.name}


def _withdraw(model: ConflictModel, event: Any) -> Outcome:
    guarantor, protected = model.state(event.state), model.state(event.to)
    if model.diplomacy.withdraw(guarantor.name, protected.name) is None:
        message = f"{guarantor.name} has no guarantee for {protected.name}; nothing to withdraw"
    else:
        message = f"{guarantor.name} withdraws its peacekeepers from {protected.name}"
    return guarantor.name, message, {"to": protected.name}


def _escort(model: ConflictModel, event: Any) -> Outcome:
    guarantor, link = model.state(event.state), model.link(event.link)
    g = model.diplomacy.escort(guarantor.name, link.name, event.fraction, event.days)
    if g is None:
        message = f"{guarantor.name} gives no guarantee; it cannot escort convoys on {link.name}"
    else:
        message = (
            f"{guarantor.name} escorts convoys through {link.name} at {event.fraction:.0%} of "
            f"capacity for {event.days} day(s)"
        )
    return guarantor.name, message, {"link": link.name, "fraction": event.fraction}


def _protest(model: ConflictModel, event: Any) -> Outcome:
    guarantor, protected = model.state(event.state), model.state(event.to)
    g = model.diplomacy.protest(guarantor.name, protected.name)
    if g is None:
        message = f"{guarantor.name} protests on behalf of {protected.name} (no guarantee)"
    else:
        message = (
            f"{guarantor.name} protests on behalf of {protected.name} (credibility "
            f"{g.credibility:.2f})"
        )
    return guarantor.name, message, {"to": protected.name}


def _reinforce(model: ConflictModel, event: Any) -> Outcome:
    guarantor, protected = model.state(event.state), model.state(event.to)
    g = model.diplomacy.reinforce(guarantor.name, protected.name, event.personnel)
    if g is None:
        message = f"{guarantor.name} has no guarantee for {protected.name}; nothing to reinforce"
    else:
        message = (
            f"{guarantor.name} reinforces its presence protecting {protected.name} with "
            f"{event.personnel:,.0f} personnel (now {g.personnel:,.0f})"
        )
    return guarantor.name, message, {"to": protected.name, "personnel": event.personnel}


def _offensive(model: ConflictModel, event: Any) -> Outcome:
    """A claimant's order: launch now, hold (the rule stops firing), or back to the rule.
    The decisions module reads ``model.held_offensives``."""
    attacker, target = model.state(event.state), model.state(event.to)
    key = (attacker.name, target.name)
    claim = next((c for c in attacker.spec.claims if c.target == target.name), None)
    if claim is None:
        raise ScenarioError(
            [
                Problem(
                    Where(f"event on {event.date}"),
                    "to",
                    f"{attacker.name} has no claim on "
                    f"{target.name}, so it has no offensive to order",
                )
            ]
        )
    if event.order == "hold":
        model.held_offensives.add(key)
        return attacker.name, f"{attacker.name} holds its offensive on {target.name}", {}
    if event.order == "rule":
        model.held_offensives.discard(key)
        return (
            attacker.name,
            f"{attacker.name}'s decision on {target.name} is left to its rule again",
            {},
        )
    model.held_offensives.add(key)  # launched by order: the rule does not decide any more
    combat = model.combat
    if target.fallen or attacker.fallen or combat.engaged(*key) or combat.concluded(*key):
        message = f"{attacker.name} orders an offensive on {target.name}: too late, the war has "
        return attacker.name, message + "already begun or ended", {"target": target.name}
    model.combat.start(attacker, target, claim)
    return (
        attacker.name,
        f"{attacker.name} launches an offensive on {target.name} (ordered)",
        {"target": target.name},
    )


def _set_parameter(model: ConflictModel, event: Any) -> Outcome:
    before = _current(model.spec, event.path)
    candidate = model.spec.model_copy(deep=True)
    set_field(candidate, event.path, event.value)
    checked = validate_data(
        # warnings=False: the raw value just set may be a plain dict where a model is due;
        # it is dumped as it is and validated right here.
        candidate.model_dump(mode="python", warnings=False),
        f"event on {event.date}",
    )
    # Store the validated value, not the raw one: set_field puts a dict entry in as given
    # (``states.X.stocks.food: {...}`` stayed a plain dict and the agents, which read
    # typed fields, crashed on it).
    set_field(model.spec, event.path, _current(checked, event.path))
    model.spec_changed(event.path)
    message = f"{event.path} changed from {before!r} to {event.value!r}"
    return event.path, message, {"before": before, "after": event.value}


HANDLERS = {
    "close_link": _link_status,
    "open_link": _link_status,
    "throttle_link": _link_status,
    "deny_transit": _transit,
    "grant_transit": _transit,
    "embargo": _embargo,
    "lift_embargo": _embargo,
    "withdraw_peacekeepers": _withdraw,
    "escort_convoy": _escort,
    "protest": _protest,
    "reinforce": _reinforce,
    "order_offensive": _offensive,
    "set_parameter": _set_parameter,
}
"""What each action does; every action of the schema has one (a test checks)."""


def apply_event(model: ConflictModel, event: Any, intervention: bool = False) -> str:
    """Apply one event now and log it (as an intervention if asked); returns the message.
    Raises ScenarioError for an event that would make the scenario invalid."""
    subject, what, data = HANDLERS[event.action](model, event)
    by = _by(event) if event.actor and event.actor != subject else ""
    message = what + by + _why(event)
    origin = "intervention" if intervention else "record" if event.source else "scenario"
    model.log_event(
        "intervention" if intervention else "event",
        subject,
        message,
        origin=origin,
        action=event.action,
        actor=event.actor,
        source=event.sources,
        record_source=event.source,
        **data,
    )
    return message


def _list_item(items: list[Any], part: str) -> Any:
    """A list item by index, name or code, as the loader's paths address them."""
    if re.fullmatch(r"-?\d+", part):
        index = int(part)
        return items[index] if -len(items) <= index < len(items) else None
    return next(
        (x for x in items if part in (getattr(x, "name", None), getattr(x, "code", None))), None
    )


def _current(root: Any, path: str) -> Any:
    """The value at a dotted path of a scenario, or None. List items may be given by index
    (``links.0.capacity_t_per_day``): looking them up by name only logged "changed from None"."""
    node: Any = root
    for part in path.split("."):
        if isinstance(node, list):
            node = _list_item(node, part)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = getattr(node, part, None)
        if node is None:
            return None
    return node


def make_event(model: ConflictModel, event: Any) -> Any:
    """An event object from an event or a dict; the date defaults to today."""
    if isinstance(event, dict):
        data = {"date": model.today, **event}
        return EVENT_ADAPTER.validate_python(data)
    return event
