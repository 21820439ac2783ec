"""One browser session's simulation: the model, what the user chose, and snapshots to draw.

Nothing here imports Solara, so it can be tested (and reused) on its own. Every browser session
gets its own :class:`Session` (the page builds it with ``solara.use_memo``); a model built at
module level would be shared by every visitor.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from corridors.analysis.run import collect_result, series_frame, summarise
from corridors.app import limits
from corridors.app.catalog import Catalog
from corridors.app.yamlout import comment, emit_yaml
from corridors.model import ConflictModel
from corridors.scenarios import Scenario, ScenarioError, builtin_names, load_scenario, parse_set

DEFAULT_SCENARIO = "lachin-2023"
DEFAULT_SEED = 1

_SIMPLE = (str, int, float, bool)


def parse_overrides(text: str) -> dict[str, Any]:
    """``PATH=VALUE`` lines (as ``corridors run --set``) → overrides; blank lines and ``#``
    comments are skipped. Raises :class:`ScenarioError` for a bad line and
    :class:`~corridors.app.limits.LimitError` for too much text."""
    text = limits.check_text("overrides", text, limits.MAX_OVERRIDE_TEXT)
    lines = text.splitlines()
    if len(lines) > limits.MAX_OVERRIDE_LINES:
        raise limits.LimitError(
            f"overrides: {len(lines):,} lines; the limit is {limits.MAX_OVERRIDE_LINES}"
        )
    overrides: dict[str, Any] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        path, value = parse_set(line)
        overrides[path] = value
    return overrides


def _plain(value: Any, depth: int = 0) -> Any:
    """A value made of str/int/float/bool/None, lists and dicts, or ``None`` if it is not."""
    if value is None or isinstance(value, _SIMPLE):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if depth > 2:
        return None
    if isinstance(value, Mapping):
        out = {str(k): _plain(v, depth + 1) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(value, list | tuple | frozenset | set):
        items = sorted(value, key=str) if isinstance(value, frozenset | set) else value
        out_list = [_plain(v, depth + 1) for v in items]
        return [v for v in out_list if v is not None]
    return None


def agent_attributes(agent: Any) -> dict[str, Any]:
    """Public plain-valued attributes of an agent (so new mechanisms show up in the inspector
    without code changes)."""
    skip = {"model", "spec", "pos", "cell", "unique_id", "random", "rng"}
    out: dict[str, Any] = {}
    for name, value in vars(agent).items():
        if name.startswith("_") or name in skip:
            continue
        plain = _plain(value)
        if plain is not None and plain not in ({}, []):
            out[name] = plain
    return out


@dataclass
class View:
    """A consistent snapshot of a session at one moment, for drawing (taken under the lock)."""

    version: int
    scenario: str
    title: str
    variants: tuple[str, ...]
    seed: int
    day: int
    """Days simulated so far (= model.steps)."""
    n_days: int
    start: dt.date
    date: dt.date
    """Calendar date of the next day to simulate (the state shown is the state at its start)."""
    running: bool
    states: list[dict[str, Any]]
    links: list[dict[str, Any]]
    series: pd.DataFrame
    events: pd.DataFrame
    upcoming: list[dict[str, Any]]
    sustained: list[str]
    stock_goods: dict[str, list[str]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.n_days)

    def state(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.states if s["name"] == name), None)

    def link(self, name: str) -> dict[str, Any] | None:
        return next((lk for lk in self.links if lk["name"] == name), None)


class Session:
    """A model the user steps, plays, intervenes in and resets; thread-safe."""

    def __init__(
        self,
        scenario: str = DEFAULT_SCENARIO,
        variants: Sequence[str] = (),
        seed: int = DEFAULT_SEED,
        days: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.catalog = catalog if catalog is not None else Catalog()
        """What this session may open (built-ins and its own uploads); every scenario and
        variant id from the page goes through it."""
        self.version = 0
        self.shown_version = 0
        self._shown = threading.Condition()
        self.playing = False
        self.interventions: list[dict[str, Any]] = []
        self._view: View | None = None
        self._flows: tuple[int, pd.DataFrame] | None = None
        self.configure(scenario, variants, seed, days, overrides)

    # ------------------------------------------------------------------ set-up

    def configure(
        self,
        scenario: str,
        variants: Sequence[str] = (),
        seed: int = DEFAULT_SEED,
        days: int | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        """Load a scenario by its catalog id (raises :class:`ScenarioError` or
        :class:`~corridors.app.limits.LimitError`) and start a fresh run of it."""
        seed = limits.check_seed(seed)
        days = limits.check_days(days)
        variants = self.catalog.check_variants(scenario, variants)
        spec = self.catalog.load(scenario, variants=variants, overrides=overrides)
        with self.lock:
            self.scenario = scenario
            self.variants = tuple(variants)
            self.seed = seed
            self.days = days
            self.overrides = dict(overrides or {})
            self.spec: Scenario = spec
            self._new_model()

    def close(self) -> None:
        """The session has ended: stop playing, delete its uploads, drop the model."""
        with self.lock:
            self.playing = False
            self.catalog.close()
            self._view = None
            self._flows = None

    def reset(self) -> None:
        """The same scenario, seed and settings, from day 0."""
        with self.lock:
            self._new_model()

    def _new_model(self) -> None:
        self.playing = False
        self.model = ConflictModel(self.spec, rng=self.seed, days=self.days)
        self.interventions = []
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._view = None

    # ------------------------------------------------------------------ drawing

    def mark_shown(self, version: int) -> None:
        """The page has drawn ``version`` (called from an effect, after rendering)."""
        with self._shown:
            self.shown_version = max(self.shown_version, version)
            self._shown.notify_all()

    def wait_shown(self, timeout: float = 10.0) -> bool:
        """Wait until the page has drawn the current version, so that playing never steps
        faster than the page can draw (which would starve the page of updates)."""
        with self._shown:
            return self._shown.wait_for(lambda: self.shown_version >= self.version, timeout)

    # ------------------------------------------------------------------ running

    @property
    def running(self) -> bool:
        return bool(self.model.running)

    def step(self, days: int = 1) -> int:
        """Simulate up to ``days`` days (fewer at the end); returns the days simulated."""
        done = 0
        with self.lock:
            while done < days and self.model.running:
                self.model.step()
                done += 1
            if done:
                self._changed()
        return done

    def set_playing(self, playing: bool) -> None:
        """Start or stop playing; once this returns after a stop, no play step is under way
        and none will start."""
        with self.lock:
            self.playing = bool(playing)

    def play_step(self, days: int = 1) -> int:
        """A step of the play loop: nothing once playing has been stopped."""
        with self.lock:
            return self.step(days) if self.playing else 0

    def run_to_end(self) -> int:
        return self.step(self.model.n_days)

    def intervene(self, event: Mapping[str, Any]) -> Any:
        """Apply an event now, as ``model.intervene``; logged as an intervention. Raises
        :class:`ScenarioError` or pydantic's ``ValidationError`` for a bad event."""
        data = {k: v for k, v in event.items() if v is not None and v != ""}
        limits.check_text("reason", data.get("reason"), limits.MAX_REASON)
        limits.check_text("name", data.get("name"), limits.MAX_TEXT)
        with self.lock:
            entry = self.model.intervene(data)
            self.interventions.append({**data, "date": self.model.today})
            self._changed()
        return entry

    # ------------------------------------------------------------------ reading

    def view(self) -> View:
        """The current snapshot (cached until the next change)."""
        with self.lock:
            if self._view is None:
                self._view = self._snapshot()
            return self._view

    def _snapshot(self) -> View:
        m = self.model
        states = []
        for s in m.states:
            info = agent_attributes(s)
            info.update(
                name=s.name,
                code=s.code,
                lat=s.lat,
                lon=s.lon,
                sustained=bool(s.sustained),
                stress=float(getattr(s, "stress", 0.0)),
                population=float(getattr(s, "population", 0.0)),
                stock_t=dict(getattr(s, "stock_t", {})),
            )
            states.append(info)
        links = []
        for lk in m.links:
            info = agent_attributes(lk)
            info.update(
                name=lk.name,
                mode=lk.mode,
                a=lk.a,
                b=lk.b,
                status=lk.status,
                throttle=float(lk.throttle),
                crosses=list(lk.crosses),
                capacity_today_t=float(lk.capacity_today_t),
                carried_today_t=float(lk.carried_today_t),
            )
            links.append(info)
        upcoming = [
            {
                "date": ev.date,
                "action": ev.action,
                "subject": _event_subject(ev),
                "reason": ev.reason,
                "name": ev.name,
            }
            for ev in sorted(m.spec.events, key=lambda e: e.date)
            if ev.date >= m.date and m.running
        ]
        meta = m.spec.meta
        prov = m.spec._provenance
        return View(
            version=self.version,
            scenario=prov.name if prov else self.scenario,
            title=meta.title,
            variants=self.variants,
            seed=self.seed,
            day=m.steps,
            n_days=m.n_days,
            start=m.start_date,
            date=m.date,
            running=bool(m.running),
            states=states,
            links=links,
            series=series_frame(m),
            events=m.log.to_frame(),
            upcoming=upcoming,
            sustained=[s.name for s in m.sustained_states],
            stock_goods={s.name: list(s.stock_t) for s in m.sustained_states},
            meta=meta.model_dump(mode="json"),
        )

    def flows(self) -> pd.DataFrame:
        """Tonnes per link, flow and day (cached until the next change)."""
        with self.lock:
            if self._flows is None or self._flows[0] != self.version:
                self._flows = (self.version, self.model.logistics.flow_table())
            return self._flows[1]

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return summarise(self.model, self.seed)

    def result(self):
        """The run so far as a :class:`~corridors.analysis.RunResult`."""
        with self.lock:
            return collect_result(self.model, self.seed)

    # ------------------------------------------------------------------ downloads

    def series_csv(self) -> str:
        return self.view().series.to_csv(index=False)

    def flows_csv(self) -> str:
        return self.flows().to_csv(index=False)

    def events_csv(self) -> str:
        return self.view().events.to_csv(index=False)

    def scenario_yaml(self) -> str:
        """The scenario as loaded (variants and overrides applied) with this session's
        interventions appended as dated events, so that running it replays the session."""
        with self.lock:
            spec = self.spec.model_copy(deep=True)
            extra = []
            end = spec.end_date
            for i, event in enumerate(self.interventions, start=1):
                if event["date"] >= end:
                    continue  # after the last day: it changed nothing that was simulated
                data = {k: v for k, v in event.items() if k != "reason"}
                data["name"] = f"intervention_{i}"
                data["reason"] = event.get("reason") or "intervention in the app"
                extra.append(data)
        if extra:
            data = spec.model_dump(mode="python", exclude_none=True)
            data["events"] = [*data.get("events", []), *extra]
            spec = Scenario.model_validate(data)
        header = comment(spec.meta.title) + comment(
            f"scenario: {self.scenario}"
            + (f"; variants: {', '.join(self.variants)}" if self.variants else "")
        )
        header += "".join(comment(f"--set {k}={v}") for k, v in self.overrides.items())
        header += comment(f"seed used in the app: {self.seed}")
        return header + emit_yaml(spec.model_dump(mode="json", exclude_none=True))


def _event_subject(event: Any) -> str:
    for name in ("link", "state", "path"):
        value = getattr(event, name, None)
        if value:
            to = getattr(event, "to", None)
            return f"{value} → {to}" if to and name == "state" else str(value)
    return ""


def scenario_choices() -> list[tuple[str, str]]:
    """Built-in scenarios as (name, title)."""
    out = []
    for name in builtin_names():
        try:
            title = load_scenario(name).meta.title
        except ScenarioError:  # pragma: no cover - the library is tested
            title = name
        out.append((name, title))
    return out
