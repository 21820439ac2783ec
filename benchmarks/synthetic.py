"""Synthetic scenarios of any size, for the scaling benchmark.

``synthetic_scenario(n)`` builds a valid scenario dict with ``n`` states and links, flows and
events growing in proportion, and :func:`build` validates it with the loader
(``corridors.scenarios.loader.validate_data``), as a file would be.

The world: states in rows on a grid; every tenth state is a *hub* that produces what it ships;
the others are dependent populations with food, fuel and medicine stocks. Links: a road from
each state to the next (a chain through everything), a road from each state to its hub (every
fifth crossing a neighbour, whose permission it needs), a railway between consecutive hubs, and
an air bridge from every seventh state to its hub — about 2.2 links per state. Flows: each
dependent state gets food, fuel and medicine from its hub (every third one its fuel from the
*next* hub: two hops or more) — about 2.7 flows per state. Capacities are ample (at least twice what
crosses them) except where an event throttles a link.

Events (so that routing is exercised): on every ``event_every`` days, ``close_share`` of the
spokes and chain roads close (the flows on them reroute over the chain, the railway or an air
bridge, or lose their route) and reopen ``reopen_after`` days later; a number of spokes are
throttled to 20 % (congestion: these links fill up and capacity sharing has to ration them);
and a few states deny transit to a neighbour. Closures grow in proportion to the size; the
number of throttled links is ``throttled`` (fixed by default, or a share of the links with
``throttle_share``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

from corridors.scenarios import Scenario
from corridors.scenarios.loader import validate_data

START = dt.date(2030, 1, 1)
HUB_EVERY = 10


def _name(i: int) -> str:
    return f"S{i:04d}"


def synthetic_scenario(
    n_states: int,
    days: int = 60,
    seed: int = 0,
    event_every: int = 10,
    close_share: float = 0.03,
    reopen_after: int = 5,
    throttled: int = 4,
    throttle_share: float | None = None,
) -> dict[str, Any]:
    """A scenario dict with ``n_states`` states (at least 2)."""
    if n_states < 2:
        raise ValueError("a synthetic scenario needs at least 2 states")
    rnd = random.Random(seed)
    names = [_name(i) for i in range(n_states)]
    hub_of = [HUB_EVERY * (i // HUB_EVERY) for i in range(n_states)]
    hubs = sorted(set(hub_of))
    states: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        state: dict[str, Any] = {
            "name": name,
            "code": name,
            "lat": -60.0 + 120.0 * (i // 100) / max(1, (n_states - 1) // 100),
            "lon": -170.0 + 3.4 * (i % 100),
        }
        if hub_of[i] != i:
            population = rnd.choice([20_000, 50_000, 120_000])
            need = population / 1000.0  # t a day for every 1,000 people
            state["population"] = population
            state["stocks"] = {
                "food": {"initial_t": 20 * need, "consumption_t_per_day": need},
                "fuel": {"initial_t": 20 * need / 2, "consumption_t_per_day": need / 2},
                "medicine": {"initial_t": 30 * need / 10, "consumption_t_per_day": need / 10},
            }
        states.append(state)
    deniers = list(range(3, n_states, 50))
    for i in deniers:  # a few states refuse passage to a neighbour of theirs
        states[i]["denies_transit_to"] = [names[(i + 2) % n_states]]

    links: list[dict[str, Any]] = []
    spokes: list[str] = []
    chain: list[str] = []
    for i in range(n_states - 1):
        links.append(_link(f"chain_{i}", "road", names[i], names[i + 1], 4000.0, 1))
        chain.append(f"chain_{i}")
    for i in range(n_states):
        if hub_of[i] == i:
            continue
        link = _link(f"spoke_{i}", "road", names[hub_of[i]], names[i], 2000.0, 1)
        if i % 5 == 0 and i + 1 < n_states and hub_of[i + 1] != i + 1:
            link["crosses"] = [names[i + 1]]
        links.append(link)
        spokes.append(link["name"])
        if i % 7 == 0:
            links.append(_link(f"air_{i}", "air", names[hub_of[i]], names[i], 60.0, 0))
    for a, b in itertools.pairwise(hubs):
        links.append(_link(f"rail_{a}", "rail", names[a], names[b], 50_000.0, 2))

    flows: list[dict[str, Any]] = []
    for i, state in enumerate(states):
        if "stocks" not in state:
            continue
        hub = names[hub_of[i]]
        need = state["stocks"]["food"]["consumption_t_per_day"]
        flows.append(_flow(f"food_{i}", "food", hub, state["name"], need))
        flows.append(_flow(f"medicine_{i}", "medicine", hub, state["name"], need / 10))
        fuel_from = hub
        if i % 3 == 0 and len(hubs) > 1:  # from the next hub: a longer route
            fuel_from = names[hubs[(hubs.index(hub_of[i]) + 1) % len(hubs)]]
        flows.append(_flow(f"fuel_{i}", "fuel", fuel_from, state["name"], need / 2))

    events: list[dict[str, Any]] = []
    closable = spokes + chain
    for day in range(5, days, event_every):
        for lk in rnd.sample(closable, max(1, round(close_share * len(closable)))):
            events.append(_event(day, "close_link", link=lk))
            if day + reopen_after < days:
                events.append(_event(day + reopen_after, "open_link", link=lk))
    n_throttled = round(throttle_share * len(spokes)) if throttle_share else throttled
    for lk in rnd.sample(spokes, min(len(spokes), n_throttled)):
        events.append(_event(2, "throttle_link", link=lk, fraction=0.2))
    for i in deniers:
        neighbour = names[(i + 4) % n_states]
        events.append(_event(days // 2, "deny_transit", state=names[i], to=neighbour))

    return {
        "meta": {"title": f"synthetic, {n_states} states"},
        "calendar": {"start": START, "days": days},
        "parameters": {"capacity_noise_cv": 0.1},
        "states": states,
        "links": links,
        "flows": flows,
        "events": events,
    }


def _link(name: str, mode: str, a: str, b: str, capacity: float, transit: int) -> dict[str, Any]:
    return {
        "name": name,
        "mode": mode,
        "a": a,
        "b": b,
        "capacity_t_per_day": capacity,
        "transit_days": transit,
    }


def _flow(name: str, good: str, origin: str, destination: str, qty: float) -> dict[str, Any]:
    return {
        "name": name,
        "commodity": good,
        "origin": origin,
        "destination": destination,
        "quantity_t_per_day": qty,
    }


def _event(day: int, action: str, **fields: Any) -> dict[str, Any]:
    return {"date": START + dt.timedelta(days=day), "action": action, **fields}


def build(n_states: int, **options: Any) -> Scenario:
    """A synthetic scenario validated like a scenario file."""
    return validate_data(synthetic_scenario(n_states, **options), f"<synthetic {n_states}>")
