"""One browser session's simulation: the model, what the user chose, and snapshots to draw.

Nothing here imports Solara, so it can be tested (and reused) on its own. Every browser session
gets its own :class:`Session` (the page builds it with ``solara.use_memo``); a model built at
module level would be shared by every visitor.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import threading
import zlib
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


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class LiveSeries:
    """The DataCollector's series as one list of values per (entity, variable), indexed by
    step, extended with the new days only: drawing a day costs what the day added, not the
    whole run (``series_frame`` rebuilds a tidy frame of every day, ~0.3 s at day 100)."""

    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        self.lines: dict[tuple[str, str], list[float | None]] = {}
        self._records = 0
        self._names = {a.unique_id: a.name for a in model.agents}

    def update(self) -> dict[tuple[str, str], list[float | None]]:
        model = self.model
        if not model.record_series:
            return self.lines
        dc = model.datacollector
        for var, values in dc.model_vars.items():
            line = self.lines.setdefault(("model", var), [])
            line.extend(_number(v) for v in values[len(line) :])
        records = dc._agenttype_records
        if len(records) > self._records:
            days = list(records.values())[self._records :]
            for offset, by_type in enumerate(days):
                step = self._records + offset
                for agent_type, rows in by_type.items():
                    columns = list(dc.agenttype_reporters[agent_type])
                    for row in rows:
                        entity = self._names.get(row[1]) or str(row[1])
                        for var, value in zip(columns, row[2:], strict=False):
                            line = self.lines.setdefault((entity, var), [])
                            if len(line) < step:
                                line.extend([None] * (step - len(line)))
                            line.append(_number(value))
            self._records = len(records)
        return self.lines


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
    lines: dict[tuple[str, str], list[float | None]]
    """Values by step (0 = the start) of every recorded (entity, variable); shared with the
    session, so read only the first ``day + 1`` values."""
    events: pd.DataFrame
    upcoming: list[dict[str, Any]]
    sustained: list[str]
    stock_goods: dict[str, list[str]]
    meta: dict[str, Any] = field(default_factory=dict)
    make_series: Any = field(default=None, repr=False)

    @functools.cached_property
    def series(self) -> pd.DataFrame:
        """The tidy (step, date, entity, variable, value) frame, built when first asked for
        (downloads, the debrief) rather than at every day."""
        return self.make_series()

    @property
    def day_date(self) -> dt.date:
        """The date of day ``day`` (day 1 is the start date): the last day simulated. Every
        "day N" in the app (header, timeline, charts, event log, files' step) means this."""
        return self.start + dt.timedelta(days=self.day - 1)

    @property
    def day_label(self) -> str:
        """ "Day 12 of 304 · 2022-12-12", or "Day 0 of 304 · starts 2022-12-01"."""
        when = self.day_date.isoformat() if self.day else f"starts {self.start.isoformat()}"
        return f"Day {self.day} of {self.n_days} · {when}"

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
        self.compare_state: dict[str, Any] = {}
        """The Compare tab's choices and last result (kept across tab switches)."""
        self.configured = 0
        """How many times a scenario was loaded (the page redraws its settings on a change)."""
        self.lesson_card = 0
        """The lesson card on show (kept here, so a tab switch does not lose it)."""
        self.predictions: dict[str, str] = {}
        """The class's predictions by lesson card index (kept across resets: they are the
        class's, not the run's)."""
        self._view: View | None = None
        self._flows: tuple[int, pd.DataFrame] | None = None
        self._events: tuple[Any, int, pd.DataFrame] | None = None
        self._meta: tuple[Any, dict[str, Any]] | None = None
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
            self.configured += 1
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
        self.live = LiveSeries(self.model)
        self.interventions = []
        self.intervention_steps: list[int] = []
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
            steps = self.model.steps
            entry = self.model.intervene(data)
            self.interventions.append({**data, "date": self.model.today})
            self.intervention_steps.append(steps)
            self._changed()
        return entry

    # ------------------------------------------------------------------ a run in a link

    def run_state(self) -> dict[str, Any]:
        """Everything that makes this run (a run is a pure function of it): the scenario and
        its variants, seed, days, overrides, the interventions with the day they were made,
        and the day reached. Uploads are this session's own and cannot be shared."""
        with self.lock:
            return {
                "scenario": self.scenario,
                "variants": list(self.variants),
                "seed": self.seed,
                "days": self.days,
                "overrides": dict(self.overrides),
                "interventions": [
                    [step, {k: v for k, v in ev.items() if k != "date"}]
                    for step, ev in zip(self.intervention_steps, self.interventions, strict=True)
                ],
                "day": int(self.model.steps),
            }

    def state_token(self) -> str:
        """:meth:`run_state` as URL-safe text (for the page's address)."""
        text = json.dumps(self.run_state(), separators=(",", ":"), default=str)
        return base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")

    def restore(self, token: str) -> None:
        """Rebuild a run from :meth:`state_token` text, replaying its interventions on the
        days they were made (deterministic: same state, same run). Nothing in the token is
        trusted: the scenario must be a built-in one, every value passes the same checks as
        the page's controls, and the replay is bounded. Raises :class:`ScenarioError` or
        :class:`~corridors.app.limits.LimitError` (the current run is then left as it was)."""
        state = _decode_token(token)
        scenario = state.get("scenario")
        if not self.catalog.is_builtin(scenario):
            raise limits.LimitError(
                "this link names a scenario that is not built in (an upload stays with the "
                "session that made it)"
            )
        overrides = state.get("overrides") or {}
        if not isinstance(overrides, dict) or len(overrides) > limits.MAX_OVERRIDE_LINES:
            raise limits.LimitError("the link's overrides are not valid")
        for path, value in overrides.items():
            limits.check_text("override", str(path), limits.MAX_TEXT)
            if not isinstance(value, str | int | float | bool) or (
                isinstance(value, str) and len(value) > limits.MAX_VALUE_TEXT
            ):
                raise limits.LimitError(f"the link's override {str(path)[:40]} is not valid")
        steps = state.get("interventions") or []
        if not isinstance(steps, list) or len(steps) > MAX_REPLAYED_INTERVENTIONS:
            raise limits.LimitError("the link's interventions are not valid")
        day = state.get("day", 0)
        if not isinstance(day, int) or day < 0 or day > limits.MAX_DAYS:
            raise limits.LimitError("the link's day is not valid")
        replay: list[tuple[int, dict[str, Any]]] = []
        for item in steps:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not isinstance(item[0], int)
                or not isinstance(item[1], dict)
            ):
                raise limits.LimitError("the link's interventions are not valid")
            replay.append((item[0], item[1]))
        # replayed aside, so that a link that fails half-way leaves this run as it was
        other = Session(
            scenario,
            state.get("variants") or (),
            state.get("seed", DEFAULT_SEED),
            state.get("days"),
            overrides,
            catalog=self.catalog,
        )
        for at, event in sorted(replay, key=lambda x: x[0]):
            if at > day:
                break
            other.step(at - other.model.steps)
            other.intervene(event)
        other.step(day - other.model.steps)
        with self.lock:
            self.playing = False
            for name in ("scenario", "variants", "seed", "days", "overrides", "spec", "model"):
                setattr(self, name, getattr(other, name))
            self.live = other.live
            self.interventions = other.interventions
            self.intervention_steps = other.intervention_steps
            self.configured += 1
            self._changed()

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
        # the log only grows and the scenario's text does not change during a run: a day
        # rebuilds neither unless they did change
        n_logged = len(m.log.entries)
        if self._events is None or self._events[0] is not m.log or self._events[1] != n_logged:
            self._events = (m.log, n_logged, m.log.to_frame())
        if self._meta is None or self._meta[0] is not meta:
            self._meta = (meta, meta.model_dump(mode="json"))
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
            lines=self.live.update(),
            make_series=_series_maker(self, m),
            events=self._events[2],
            upcoming=upcoming,
            sustained=[s.name for s in m.sustained_states],
            stock_goods={s.name: list(s.stock_t) for s in m.sustained_states},
            meta=self._meta[1],
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


MAX_REPLAYED_INTERVENTIONS = 200
MAX_TOKEN = 20_000


def _decode_token(token: Any) -> dict[str, Any]:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise limits.LimitError("this link is not a Corridors run")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decompressor = zlib.decompressobj()
        text = decompressor.decompress(raw, 200_000)
        if decompressor.unconsumed_tail:
            raise ValueError("too long")
        state = json.loads(text)
    except (ValueError, zlib.error):
        raise limits.LimitError("this link is not a Corridors run") from None
    if not isinstance(state, dict):
        raise limits.LimitError("this link is not a Corridors run")
    return state


def _series_maker(session: Session, model: ConflictModel):
    """The tidy frame of ``model``'s days up to the snapshot's (later days left out)."""
    steps = model.steps

    def make() -> pd.DataFrame:
        with session.lock:
            frame = series_frame(model)
        return frame[frame.step <= steps].reset_index(drop=True)

    return make


def _event_subject(event: Any) -> str:
    for name in ("link", "state", "path"):
        value = getattr(event, name, None)
        if value:
            to = getattr(event, "to", None)
            return f"{value} → {to}" if to and name == "state" else str(value)
    return ""


def scenario_choices() -> list[tuple[str, str]]:
    """Built-in scenarios as (name, title); templates (files to copy) are not offered."""
    from corridors.analysis.catalogue import TEMPLATES

    out = []
    for name in builtin_names():
        if name in TEMPLATES:
            continue
        try:
            title = load_scenario(name).meta.title
        except ScenarioError:  # pragma: no cover - the library is tested
            title = name
        out.append((name, title))
    return out
