"""Rooms: a class plays the states of one scenario in one shared run (after NetLogo's HubNet).

A teacher opens a room and gets a short code; students join with it and take the role of a state
(or observe). Each turn every player submits decisions with a reason; the teacher (or a timer)
advances the clock by a turn, and the room's one :class:`ConflictModel` plays out what they lead
to. Roles nobody takes are played by the model's own rules and the scenario's scripted events.

Nothing here imports Solara: the page (``room_page.py``) is a thin view over this engine.

- **Permissions** are computed here, from the scenario: a player acts only for its state, on the
  links it controls, with the suppliers, guarantees and claims it has. Every value from a browser
  is checked and bounded before anything happens; a token (never stored, only its SHA-256) is the
  only proof of who is asking.
- **Nothing lost**: every accepted request is first appended to the room's log on disk (JSON
  Lines, flushed and fsynced), then applied. A restarted server replays each log record by record
  through the same code, so it reaches the same day and state (a run is a pure function of the
  scenario, the seed and the records). One writer at a time: a lock per room in the process, and
  an exclusive lock on the rooms directory against a second server.
- **Information**: a player sees its own state in full, others' public situation, and the
  timeline of what has happened; others' decisions for the turn stay hidden until the turn is
  played (they become visible when they act, not before).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from corridors.model import ConflictModel
from corridors.model.events import EVENT_ADAPTER
from corridors.scenarios import ScenarioError, builtin_names, load_scenario
from corridors.scenarios.schema import Scenario

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Room codes avoid look-alikes (no I, O, 0, 1)."""
CODE_LENGTH = 6
CODE_RE = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")
OBSERVER = "observer"

MAX_ROOMS = 50
MAX_PARTICIPANTS = 60
MAX_NAME = 40
MAX_TEXT = 500
MAX_DECISIONS = 12
MAX_TURN_DAYS = 31
MAX_TIMER_S = 3600
MAX_DEBRIEF_SEEDS = 50
MAX_SEED = 2**31 - 1
MAX_LOG_LINE = 20_000
DEFAULT_TURN_DAYS = 7

PLAYER_ACTIONS: tuple[str, ...] = (
    "close_link",
    "open_link",
    "throttle_link",
    "deny_transit",
    "grant_transit",
    "embargo",
    "lift_embargo",
    "withdraw_peacekeepers",
    "order_offensive",
)
"""The decisions a player may take, in the order the forms list them."""
STUDENT_ACTIONS = frozenset(PLAYER_ACTIONS)
TRANSIT_GOODS = ("food", "fuel", "medicine", "ammunition", "arms", "oil", "cargo", "people")


class RoomError(ValueError):
    """A request the room refuses; the message is for the person who made it."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(18)


def clean_code(code: Any) -> str:
    """A room code as typed (any case, spaces) → the code, or :class:`RoomError`."""
    text = str(code or "").strip().upper().replace(" ", "").replace("-", "")[:16]
    if not CODE_RE.fullmatch(text):
        raise RoomError(f"'{text[:8]}' is not a room code ({CODE_LENGTH} letters and digits)")
    return text


def clean_text(value: Any, what: str, limit: int = MAX_TEXT, required: bool = False) -> str:
    """Plain text from a browser: a string, control characters removed, bounded."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RoomError(f"{what} must be text")
    text = "".join(ch for ch in value if ch == "\n" or ch >= " ").strip()
    if len(text) > limit:
        raise RoomError(f"{what} is too long ({len(text)} characters; at most {limit})")
    if required and not text:
        raise RoomError(f"{what} is needed")
    return text


def _int(value: Any, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RoomError(f"{what} must be a whole number from {lo} to {hi}")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else value
    except ValueError:
        raise RoomError(f"{what} must be a whole number from {lo} to {hi}") from None
    if isinstance(number, float):
        if not math.isfinite(number) or number != int(number):
            raise RoomError(f"{what} must be a whole number from {lo} to {hi}")
        number = int(number)
    if not lo <= number <= hi:
        raise RoomError(f"{what} must be from {lo} to {hi} (got {number})")
    return number


def _fraction(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RoomError(f"{what} must be a number from 0 to 1")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise RoomError(f"{what} must be a number from 0 to 1")
    return number


# ---------------------------------------------------------------------------- what a role may do


@dataclass(frozen=True)
class Powers:
    """What a state may decide, computed from the scenario (never from the browser)."""

    role: str
    links: tuple[str, ...] = ()
    """Links it may open, close or throttle: it controls passage, is an endpoint or is crossed,
    claims an endpoint, or acts on the link in the scenario's own (recorded) events."""
    transit_to: tuple[str, ...] = ()
    embargo_to: tuple[str, ...] = ()
    withdraw_from: tuple[str, ...] = ()
    offensive_on: tuple[str, ...] = ()

    def actions(self) -> list[str]:
        out = []
        if self.links:
            out += ["close_link", "open_link", "throttle_link"]
        if self.transit_to:
            out += ["deny_transit", "grant_transit"]
        if self.embargo_to:
            out += ["embargo", "lift_embargo"]
        if self.withdraw_from:
            out.append("withdraw_peacekeepers")
        if self.offensive_on:
            out.append("order_offensive")
        return out


def powers_of(spec: Scenario, role: str) -> Powers:
    if role == OBSERVER or role not in {s.name for s in spec.states}:
        return Powers(role)
    state = spec.state(role)
    claimed = {c.target for c in state.claims}
    acted_on = {ev.link for ev in spec.events if getattr(ev, "link", None) and ev.actor == role}
    links = tuple(
        lk.name
        for lk in spec.links
        if role in (lk.controlled_by, lk.a, lk.b)
        or role in lk.crosses
        or claimed & {lk.a, lk.b}
        or lk.name in acted_on
    )
    others = tuple(s.name for s in spec.states if s.name != role)
    return Powers(
        role,
        links=links,
        transit_to=others,
        embargo_to=others if state.arms_supplier else (),
        withdraw_from=tuple(g.protects for g in state.guarantees),
        offensive_on=tuple(c.target for c in state.claims),
    )


def check_decision(spec: Scenario, role: str, raw: Any) -> dict[str, Any]:
    """One decision from a browser → the event dict it stands for, or :class:`RoomError`.

    Only the fields of the action are read; the acting state is always ``role``."""
    if not isinstance(raw, Mapping):
        raise RoomError("a decision must be a set of fields")
    action = raw.get("action")
    if not isinstance(action, str) or action not in STUDENT_ACTIONS:
        raise RoomError(f"'{str(action)[:40]}' is not a decision a player can take")
    powers = powers_of(spec, role)
    if action not in powers.actions():
        raise RoomError(f"{role} cannot {action.replace('_', ' ')} in this scenario")
    acting = raw.get("state")
    if acting not in (None, "", role):
        raise RoomError(f"you play {role}: you cannot act for {str(acting)[:40]}")
    event: dict[str, Any] = {"action": action}
    if action.endswith("_link"):
        link = raw.get("link")
        if link not in powers.links:
            raise RoomError(f"{role} does not control the link '{str(link)[:40]}'")
        event["link"] = link
        if action == "throttle_link":
            event["fraction"] = _fraction(raw.get("fraction"), "the fraction of capacity")
        return event
    allowed = {
        "deny_transit": powers.transit_to,
        "grant_transit": powers.transit_to,
        "embargo": powers.embargo_to,
        "lift_embargo": powers.embargo_to,
        "withdraw_peacekeepers": powers.withdraw_from,
        "order_offensive": powers.offensive_on,
    }[action]
    to = raw.get("to")
    if to not in allowed:
        raise RoomError(f"{role} cannot {action.replace('_', ' ')} toward '{str(to)[:40]}'")
    event.update(state=role, to=to)
    if action in ("deny_transit", "grant_transit") and raw.get("goods"):
        goods = raw["goods"]
        if not isinstance(goods, list) or len(goods) > len(TRANSIT_GOODS):
            raise RoomError("goods must be a list of goods")
        if any(g not in TRANSIT_GOODS for g in goods):
            raise RoomError(f"goods must be among {', '.join(TRANSIT_GOODS)}")
        event["goods"] = sorted(set(goods))
    if action == "order_offensive":
        order = raw.get("order", "launch")
        if order not in ("launch", "hold"):
            raise RoomError("an offensive order is 'launch' or 'hold'")
        event["order"] = order
    return event


# ---------------------------------------------------------------------------- the room


@dataclass
class Participant:
    pid: str
    name: str
    token_hash: str
    role: str | None = None


@dataclass
class Submission:
    role: str
    decisions: list[dict[str, Any]]
    reason: str
    statement: str


@dataclass
class TimelineItem:
    """One line of the room's timeline (what has happened; public)."""

    turn: int
    date: str
    who: str
    text: str
    origin: str


class RoomLog:
    """The room's append-only log: one JSON object per line, each fsynced before it counts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read(self) -> list[dict[str, Any]]:
        """Every complete record; a last line cut short by a crash is ignored (it was never
        acknowledged: a request counts once its line is on disk)."""
        records = []
        text = self.path.read_text(encoding="utf-8")
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if i == len(lines) - 1:  # no newline after it: a write cut short
                    break
                raise RoomError(f"{self.path.name}: line {i + 1} is not a log record") from None
        return records


class Room:
    """One shared run: its players, its turn, its model and its log."""

    def __init__(self, record: Mapping[str, Any], log: RoomLog | None) -> None:
        self.lock = threading.RLock()
        self.log = log
        self.code: str = record["code"]
        self.scenario: str = record["scenario"]
        self.seed: int = int(record["seed"])
        self.turn_days: int = int(record["turn_days"])
        self.teacher_hash: str = record["teacher"]
        self.free_pick: bool = bool(record.get("free_pick", True))
        self.auto_when_all: bool = False
        self.timer_s: int = 0
        self.opened_at: str = record.get("time", "")
        self.turn_started: float = float(record.get("t", time.time()))
        self.spec: Scenario = load_scenario(self.scenario)
        self.model = ConflictModel(self.spec, rng=self.seed)
        self.roles: tuple[str, ...] = (*(s.name for s in self.spec.states), OBSERVER)
        self.participants: dict[str, Participant] = {}
        self.pending: dict[str, Submission] = {}
        self.turn = 0
        self.timeline: list[TimelineItem] = []
        self.applied: list[dict[str, Any]] = []
        """Every event the room applied to its model, dated, in order (for the overlay)."""
        self.left_to_players: list[tuple[str, str, str]] = []
        """Scripted events not applied because their actor was played: (name, actor, date)."""
        self.received: dict[str, dict[str, float]] = {}
        """What reached each state during the last turn (t by good)."""
        self.closed = False
        self.version = 0
        self.seq = 1

    # ------------------------------------------------------------------ who is asking

    def is_teacher(self, token: Any) -> bool:
        return isinstance(token, str) and hmac.compare_digest(_hash(token), self.teacher_hash)

    def participant(self, token: Any) -> Participant | None:
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            return None
        digest = _hash(token)
        return next(
            (p for p in self.participants.values() if hmac.compare_digest(p.token_hash, digest)),
            None,
        )

    def _teacher(self, token: Any) -> None:
        if not self.is_teacher(token):
            raise RoomError("only the teacher can do that (the teacher's link is needed)")

    def _player(self, token: Any) -> Participant:
        who = self.participant(token)
        if who is None:
            raise RoomError("this browser is not in the room (join again with the room code)")
        return who

    def role_holder(self, role: str) -> Participant | None:
        return next((p for p in self.participants.values() if p.role == role), None)

    def played(self) -> list[str]:
        """State roles a player holds, in the scenario's order."""
        taken = {p.role for p in self.participants.values()}
        return [r for r in self.roles if r != OBSERVER and r in taken]

    # ------------------------------------------------------------------ writing

    def _commit(self, op: str, **data: Any) -> None:
        """Log the request (on disk first), then apply it: the one path for live requests."""
        record = {"op": op, "seq": self.seq, "t": time.time(), **data}
        if self.log is not None:
            self.log.append(record)
        self.apply(record)

    def apply(self, record: Mapping[str, Any]) -> None:
        """Apply one log record (live or replayed): the same code either way."""
        op = record["op"]
        self.seq = int(record.get("seq", self.seq)) + 1
        if op == "join":
            self.participants[record["pid"]] = Participant(
                record["pid"], record["name"], record["token"]
            )
        elif op == "role":
            self.participants[record["pid"]].role = record["role"]
        elif op == "remove":
            gone = self.participants.pop(record["pid"], None)
            if gone is not None and gone.role in self.pending:
                del self.pending[gone.role]  # a removed player's pending decisions go too
        elif op == "settings":
            self.free_pick = bool(record["free_pick"])
            self.auto_when_all = bool(record["auto_when_all"])
            self.timer_s = int(record["timer_s"])
            self.turn_days = int(record["turn_days"])
            self.turn_started = float(record.get("t", self.turn_started))
        elif op == "submit":
            self.pending[record["role"]] = Submission(
                record["role"], list(record["decisions"]), record["reason"], record["statement"]
            )
        elif op == "inject":
            self._apply_event(dict(record["event"]), "teacher")
        elif op == "advance":
            self._advance(int(record["days"]))
            self.turn_started = float(record.get("t", self.turn_started))
        elif op == "close":
            self.closed = True
        elif op != "open":
            raise RoomError(f"unknown log record '{op}'")
        self.version += 1

    # ------------------------------------------------------------------ requests

    def join(self, name: Any) -> tuple[str, str]:
        """A new participant → (participant id, token). The token is shown once."""
        name = clean_text(name, "your name", MAX_NAME, required=True)
        with self.lock:
            if self.closed:
                raise RoomError("this room is closed")
            if len(self.participants) >= MAX_PARTICIPANTS:
                raise RoomError(f"the room is full ({MAX_PARTICIPANTS} participants)")
            token = new_token()
            pid = f"p{self.seq}"
            self._commit("join", pid=pid, name=name, token=_hash(token))
            return pid, token

    def _check_role(self, role: Any) -> str:
        if role not in self.roles:
            raise RoomError(f"'{str(role)[:40]}' is not a role in this room")
        return role

    def pick(self, token: Any, role: Any) -> None:
        """A student takes a free role (when the teacher lets students pick)."""
        with self.lock:
            who = self._player(token)
            role = self._check_role(role)
            if not self.free_pick:
                raise RoomError("the teacher assigns the roles in this room")
            holder = self.role_holder(role)
            if role != OBSERVER and holder is not None and holder.pid != who.pid:
                raise RoomError(f"{role} is already played by {holder.name}")
            self._commit("role", pid=who.pid, role=role, by="student")

    def assign(self, teacher_token: Any, pid: Any, role: Any) -> None:
        """The teacher gives a participant a role (``None`` to take it away); a state role
        held by someone else passes to this participant."""
        with self.lock:
            self._teacher(teacher_token)
            if pid not in self.participants:
                raise RoomError("no such participant")
            if role is not None:
                role = self._check_role(role)
                holder = self.role_holder(role)
                if role != OBSERVER and holder is not None and holder.pid != pid:
                    self._commit("role", pid=holder.pid, role=None, by="teacher")
            self._commit("role", pid=pid, role=role, by="teacher")

    def remove(self, teacher_token: Any, pid: Any) -> None:
        with self.lock:
            self._teacher(teacher_token)
            if pid not in self.participants:
                raise RoomError("no such participant")
            self._commit("remove", pid=pid)

    def settings(
        self,
        teacher_token: Any,
        free_pick: Any = None,
        auto_when_all: Any = None,
        timer_s: Any = None,
        turn_days: Any = None,
    ) -> None:
        with self.lock:
            self._teacher(teacher_token)
            values = {
                "free_pick": self.free_pick if free_pick is None else bool(free_pick),
                "auto_when_all": self.auto_when_all
                if auto_when_all is None
                else bool(auto_when_all),
                "timer_s": self.timer_s
                if timer_s is None
                else _int(timer_s, "the timer (seconds)", 0, MAX_TIMER_S),
                "turn_days": self.turn_days
                if turn_days is None
                else _int(turn_days, "days per turn", 1, MAX_TURN_DAYS),
            }
            self._commit("settings", **values)

    def submit(self, token: Any, decisions: Any, reason: Any = "", statement: Any = "") -> None:
        """A player's decisions for this turn (a later submission replaces an earlier one)."""
        with self.lock:
            who = self._player(token)
            if self.closed or not self.model.running:
                raise RoomError("the run is over")
            role = who.role
            if role is None or role == OBSERVER:
                raise RoomError("observers do not decide; ask the teacher for a state's role")
            if not isinstance(decisions, list):
                raise RoomError("decisions must be a list")
            if len(decisions) > MAX_DECISIONS:
                raise RoomError(f"at most {MAX_DECISIONS} decisions a turn")
            events = [check_decision(self.spec, role, d) for d in decisions]
            reason = clean_text(reason, "the reason")
            statement = clean_text(statement, "the statement")
            if events and not reason:
                raise RoomError("say why: a decision needs a reason")
            for event in events:
                self._validate_event(event)
            self._commit(
                "submit",
                role=role,
                turn=self.turn,
                decisions=events,
                reason=reason,
                statement=statement,
            )

    def inject(self, teacher_token: Any, raw: Any, reason: Any = "") -> None:
        """The teacher applies an event now (any action the schema has; checked like a
        scenario's event)."""
        with self.lock:
            self._teacher(teacher_token)
            if not isinstance(raw, Mapping) or len(raw) > 12:
                raise RoomError("an event must be a set of fields")
            event = {
                k: v
                for k, v in raw.items()
                if k in ("action", "link", "fraction", "state", "to", "goods", "order", "path")
                or k == "value"
            }
            for key in ("link", "state", "to", "action", "path"):
                if key in event and not isinstance(event[key], str):
                    raise RoomError(f"{key} must be text")
            if "link" in event and event["link"] not in self.model.links_by_name:
                raise RoomError(f"no link '{event['link'][:40]}' in this scenario")
            for key in ("state", "to"):
                if key in event and event[key] not in self.model.states_by_name:
                    raise RoomError(f"no state '{event[key][:40]}' in this scenario")
            if event.get("action") == "set_parameter":
                from corridors.app.actions import parameter_paths

                if event.get("path") not in parameter_paths(self.spec):
                    raise RoomError("the teacher may change model parameters (parameters.NAME)")
                value = event.get("value")
                if not isinstance(value, int | float | str) or isinstance(value, bool):
                    raise RoomError("a parameter's value must be a number or a word")
                if isinstance(value, float) and not math.isfinite(value):
                    raise RoomError("a parameter's value must be finite")
            if event.get("action") == "order_offensive":
                claimant = self.spec.state(event.get("state", ""))
                if all(c.target != event.get("to") for c in claimant.claims):
                    raise RoomError("that state has no claim on that target")
            event["reason"] = clean_text(reason, "the reason") or "injected by the teacher"
            self._validate_event(event)
            if event.get("action") == "set_parameter":
                self._check_parameter(event)
            self._commit("inject", event=event)

    def advance(self, teacher_token: Any = None, by: str = "teacher") -> int:
        """Play the turn: apply the submitted decisions, then simulate ``turn_days`` days.
        Returns the days simulated."""
        with self.lock:
            if by == "teacher":
                self._teacher(teacher_token)
            if self.closed or not self.model.running:
                raise RoomError("the run is over")
            days = min(self.turn_days, self.model.n_days - self.model.steps)
            self._commit("advance", turn=self.turn, days=days, by=by)
            return days

    def close(self, teacher_token: Any) -> None:
        with self.lock:
            self._teacher(teacher_token)
            self._commit("close")

    def due(self, now: float) -> str | None:
        """Why the turn should be played now without the teacher (timer, everyone has
        submitted), or None."""
        if self.closed or not self.model.running:
            return None
        played = self.played()
        if self.auto_when_all and played and all(r in self.pending for r in played):
            return "all submitted"
        if self.timer_s and now - self.turn_started >= self.timer_s:
            return "timer"
        return None

    # ------------------------------------------------------------------ applying

    def _validate_event(self, event: dict[str, Any]) -> None:
        try:
            EVENT_ADAPTER.validate_python({"date": self.model.date, **event})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise RoomError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None

    def _check_parameter(self, event: dict[str, Any]) -> None:
        from corridors.scenarios.loader import set_field

        candidate = self.spec.model_copy(deep=True)
        try:
            set_field(candidate, event["path"], event["value"])
        except (ScenarioError, ValidationError, ValueError) as exc:
            raise RoomError(f"{event['path']}: {str(exc).splitlines()[0][:200]}") from None

    def _apply_event(self, event: dict[str, Any], who: str) -> None:
        """Apply an event to the model now; one that fails is logged, never raised (a replay
        must reach the same state)."""
        m = self.model
        try:
            entry = m.intervene(event)
        except (ScenarioError, ValidationError, KeyError, ValueError) as exc:
            message = str(exc).splitlines()[0][:200]
            m.log_event("decision_failed", who, f"{who}: {event['action']} failed: {message}")
            self._say(who, f"{event['action'].replace('_', ' ')} failed: {message}", "room")
            return
        self.applied.append({**event, "date": m.date.isoformat()})
        self._say(who, entry.message, "intervention")

    def _say(self, who: str, text: str, origin: str) -> None:
        self.timeline.append(
            TimelineItem(self.turn, self.model.date.isoformat(), who, text, origin)
        )

    def _advance(self, days: int) -> None:
        m = self.model
        played = set(self.played())
        # claims of played states are decided by their players; others by the model's rule
        for state in self.spec.states:
            for claim in state.claims:
                key = (state.name, claim.target)
                if (state.name in played) != (key in m.held_offensives):
                    order = "hold" if state.name in played else "rule"
                    why = (
                        "played by the class" if order == "hold" else "no player: the rule decides"
                    )
                    self._apply_event(
                        {
                            "action": "order_offensive",
                            "state": state.name,
                            "to": claim.target,
                            "order": order,
                            "actor": state.name,
                            "reason": why,
                        },
                        "room",
                    )
        for role in self.roles:
            sub = self.pending.get(role)
            if sub is None:
                continue
            for decision in sub.decisions:
                self._apply_event({**decision, "actor": role, "reason": sub.reason}, role)
            if sub.statement:
                m.day_index, m.today = m.steps, m.date
                m.log_event(
                    "statement", role, f"{role} states: {sub.statement}", origin="intervention"
                )
                self._say(role, f"states: {sub.statement}", "statement")
        received: dict[str, dict[str, float]] = {}
        for _ in range(days):
            if not m.running:
                break
            for event in list(m.schedule_of_events.due(m.steps)):
                if event.actor in played:  # the player decides instead of the record
                    m.schedule_of_events.by_day[m.steps].remove(event)
                    self.left_to_players.append(
                        (event.name or event.action, event.actor, m.date.isoformat())
                    )
                    self._say(
                        "room",
                        f"scripted event '{event.name or event.action}' of {event.actor} not "
                        f"applied: {event.actor} is played by the class",
                        "room",
                    )
            m.step()
            for s in m.states:
                mine = received.setdefault(s.name, {})
                for good, tonnes in s.received_t.items():
                    mine[good] = mine.get(good, 0.0) + float(tonnes)
        self.received = received
        self.pending = {}
        self.turn += 1

    # ------------------------------------------------------------------ reading

    def model_timeline(self, limit: int = 200) -> list[dict[str, Any]]:
        """The model's event log (what has happened), newest first."""
        out = []
        for e in reversed(self.model.log.entries[-limit:]):
            out.append(
                {
                    "date": str(e.date),
                    "subject": e.subject,
                    "text": e.message,
                    "origin": e.origin,
                }
            )
        return out

    def public_states(self) -> list[dict[str, Any]]:
        out = []
        for s in self.model.states:
            holder = self.role_holder(s.name)
            out.append(
                {
                    "name": s.name,
                    "player": holder.name if holder else None,
                    "fallen": bool(s.fallen),
                    "controlled_by": s.controlled_by,
                    "at_war_with": s.at_war_with,
                    "submitted": s.name in self.pending,
                }
            )
        return out

    def own_state(self, role: str) -> dict[str, Any]:
        s = self.model.state(role)
        military = s.spec.military is not None
        return {
            "name": s.name,
            "population": round(s.population),
            "stress": round(float(s.stress), 3),
            "stocks_t": {k: round(v, 1) for k, v in s.stock_t.items()},
            "need_t_per_day": {k: round(v, 1) for k, v in s.need_t_per_day.items() if v},
            "received_last_turn_t": {
                k: round(v, 1) for k, v in self.received.get(role, {}).items() if v
            },
            "personnel": round(s.personnel) if military else None,
            "power": round(s.power) if military else None,
            "readiness": round(s.readiness, 3) if military else None,
            "arms_budget_usd_m": round(s.budget_usd_m, 1) if s.spec.economy else None,
            "relations": dict(s.spec.relations),
            "at_war_with": s.at_war_with,
            "fallen": bool(s.fallen),
            "controlled_by": s.controlled_by,
        }

    def link_states(self, names: Iterable[str]) -> list[dict[str, Any]]:
        out = []
        for name in names:
            lk = self.model.link(name)
            out.append(
                {
                    "name": lk.name,
                    "ends": f"{lk.a} – {lk.b}",
                    "mode": lk.mode,
                    "status": lk.status,
                    "throttle": float(lk.throttle),
                    "carried_today_t": round(float(lk.carried_today_t), 1),
                }
            )
        return out

    def header(self) -> dict[str, Any]:
        m = self.model
        return {
            "code": self.code,
            "scenario": self.scenario,
            "title": self.spec.meta.title,
            "turn": self.turn,
            "turn_days": self.turn_days,
            "day": m.steps,
            "n_days": m.n_days,
            "date": m.date.isoformat(),
            "running": bool(m.running) and not self.closed,
            "closed": self.closed,
            "free_pick": self.free_pick,
            "auto_when_all": self.auto_when_all,
            "timer_s": self.timer_s,
            "version": self.version,
        }

    def view_for(self, token: Any) -> dict[str, Any]:
        """What the holder of ``token`` may see (raises :class:`RoomError` for a stranger)."""
        with self.lock:
            if self.is_teacher(token):
                return self.teacher_view()
            who = self._player(token)
            view = self.header()
            view.update(
                you=who.name,
                pid=who.pid,
                role=who.role,
                roles=[
                    {"role": r, "free": r == OBSERVER or self.role_holder(r) is None}
                    for r in self.roles
                ],
                states=self.public_states(),
                timeline=self.model_timeline(),
                room_timeline=[vars(t) for t in reversed(self.timeline[-200:])],
            )
            if who.role and who.role != OBSERVER:
                powers = powers_of(self.spec, who.role)
                sub = self.pending.get(who.role)
                view.update(
                    me=self.own_state(who.role),
                    powers=vars(powers),
                    actions=powers.actions(),
                    links=self.link_states(powers.links),
                    submission=vars(sub) if sub else None,
                )
            return view

    def teacher_view(self) -> dict[str, Any]:
        with self.lock:
            view = self.header()
            view.update(
                teacher=True,
                roles=list(self.roles),
                participants=[
                    {"pid": p.pid, "name": p.name, "role": p.role}
                    for p in self.participants.values()
                ],
                states=self.public_states(),
                pending={r: vars(s) for r, s in self.pending.items()},
                waiting=[r for r in self.played() if r not in self.pending],
                timeline=self.model_timeline(),
                room_timeline=[vars(t) for t in reversed(self.timeline[-200:])],
                links=self.link_states(self.model.links_by_name),
            )
            return view

    # ------------------------------------------------------------------ debrief

    def summary(self) -> dict[str, Any]:
        from corridors.analysis.run import summarise

        with self.lock:
            return summarise(self.model, self.seed)

    def overlay(self) -> dict[str, Any]:
        """The room's play as a scenario overlay on its scenario: the scripted events its
        players took over are deleted and every event the room applied is added on the day it
        took effect, so ``corridors run`` replays the class's run."""
        with self.lock:
            deleted = sorted({name for name, _, _ in self.left_to_players})
            named = {ev.name for ev in self.spec.events if ev.name}
            events: list[dict[str, Any]] = [
                {"name": name, "delete": True} for name in deleted if name in named
            ]
            for i, event in enumerate(self.applied, start=1):
                events.append({"name": f"room_{self.code}_{i}", **event})
            return {
                "extends": self.scenario,
                "meta": {
                    "title": f"{self.spec.meta.title} — played by room {self.code}",
                    "description": (
                        f"Decisions of the class in room {self.code} (seed {self.seed}, "
                        f"{self.turn} turns) as events on the scenario '{self.scenario}'."
                    ),
                },
                "events": events,
            }

    def overlay_yaml(self) -> str:
        header = (
            f"# Room {self.code}: the class's decisions on '{self.scenario}'.\n"
            f"# Replay: corridors run room-{self.code}.yaml --seed {self.seed}\n"
        )
        return header + yaml.safe_dump(self.overlay(), sort_keys=False, allow_unicode=True)


def outcome_of(summary: Mapping[str, Any]) -> tuple[bool, bool]:
    """(an offensive happened, the defender capitulated): the class's outcome in a word."""
    return summary.get("offensive_date") is not None, summary.get("capitulation_date") is not None


def describe_outcome(outcome: tuple[bool, bool]) -> str:
    offensive, fell = outcome
    if not offensive:
        return "no offensive"
    return "an offensive and a capitulation" if fell else "an offensive without capitulation"


def debrief(room: Room, seeds: int = 20) -> dict[str, Any]:
    """The class's run against the record (the scenario's targets) and against the model's own
    play of the same scenario, to the same day, over ``seeds`` seeds."""
    from corridors.analysis.run import summarise

    seeds = _int(seeds, "the number of seeds", 1, MAX_DEBRIEF_SEEDS)
    with room.lock:
        mine = summarise(room.model, room.seed)
        day = room.model.steps
        spec = room.spec
    record = []
    for target in spec.targets:
        if target.metric in ("offensive_date", "capitulation_date") and target.date:
            record.append(
                {
                    "target": target.name,
                    "record": target.date.isoformat(),
                    "class": mine.get(target.metric),
                    "source": target.source,
                }
            )
        elif target.metric in mine:
            record.append(
                {
                    "target": target.name,
                    "record": target.value,
                    "class": mine.get(target.metric),
                    "source": target.source,
                }
            )
    timeline = []  # the record's events and the class's decisions, side by side by date
    for ev in spec.events:
        subject = getattr(ev, "link", None) or getattr(ev, "to", None) or ""
        timeline.append(
            {
                "date": ev.date.isoformat(),
                "record": f"{ev.actor or '—'}: {ev.action.replace('_', ' ')} {subject}"
                + (f" ({ev.reason})" if ev.reason else ""),
                "class": "",
            }
        )
    with room.lock:
        played = [e for e in room.applied if e.get("actor") in {s.name for s in spec.states}]
        for e in played:
            if e["action"] == "order_offensive" and e.get("order") != "launch":
                continue
            subject = e.get("link") or e.get("to") or ""
            timeline.append(
                {
                    "date": e["date"],
                    "record": "",
                    "class": f"{e['actor']}: {e['action'].replace('_', ' ')} {subject}"
                    + (f" ({e['reason']})" if e.get("reason") else ""),
                }
            )
    timeline.sort(key=lambda row: row["date"])
    ours = outcome_of(mine)
    same = 0
    dates = []
    for seed in range(1, seeds + 1):
        m = ConflictModel(spec, rng=seed, days=max(day, 1), record_flows=False, record_series=False)
        while m.running:
            m.step()
        s = summarise(m, seed)
        same += outcome_of(s) == ours
        if s.get("offensive_date"):
            dates.append(s["offensive_date"])
    dates.sort()
    return {
        "class": {
            "outcome": describe_outcome(ours),
            "offensive_date": mine.get("offensive_date"),
            "capitulation_date": mine.get("capitulation_date"),
            "peak_stress": mine.get("peak_stress"),
            "shortage_days": mine.get("shortage_days"),
            "displaced": mine.get("displaced"),
        },
        "record": record,
        "timeline": timeline,
        "model": {
            "seeds": seeds,
            "days": day,
            "same_outcome": same,
            "share_same_outcome": same / seeds,
            "offensive_dates": dates,
            "median_offensive_date": dates[len(dates) // 2] if dates else None,
        },
    }


# ---------------------------------------------------------------------------- the store


def default_root() -> Path:
    """Where rooms live: ``$CORRIDORS_ROOMS_DIR``, else ``$XDG_DATA_HOME/corridors/rooms``."""
    env = os.environ.get("CORRIDORS_ROOMS_DIR")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "corridors" / "rooms"


class RoomStore:
    """Every room of this server, each with its log under ``root``; reloaded at start."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lockfile = (self.root / ".lock").open("a")
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lockfile.close()
            raise RoomError(
                f"another Corridors server is using the rooms in {self.root}; stop it or set "
                "CORRIDORS_ROOMS_DIR to another folder"
            ) from None
        self.lock = threading.Lock()
        self.rooms: dict[str, Room] = {}
        self.problems: list[str] = []
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        for path in sorted(self.root.glob("*.jsonl")):
            if CODE_RE.fullmatch(path.stem):
                try:
                    self.rooms[path.stem] = self._replay(path)
                except (RoomError, ScenarioError, KeyError, ValueError, TypeError) as exc:
                    self.problems.append(f"{path.name}: {exc}")

    def close(self) -> None:
        self._stop.set()
        self._lockfile.close()

    @staticmethod
    def _replay(path: Path) -> Room:
        log = RoomLog(path)
        records = log.read()
        if not records or records[0].get("op") != "open":
            raise RoomError("the log does not start with the room's opening")
        room = Room(records[0], log)
        for record in records[1:]:
            room.apply(record)
        room.turn_started = time.time()  # a timer restarts with the server, never fires at once
        return room

    def open_room(
        self,
        scenario: Any = "lachin-2023",
        seed: Any = 1,
        turn_days: Any = DEFAULT_TURN_DAYS,
        free_pick: bool = True,
    ) -> tuple[Room, str]:
        """A new room → (room, the teacher's token). The scenario is a built-in name."""
        if scenario not in builtin_names():
            raise RoomError(f"'{str(scenario)[:40]}' is not a built-in scenario")
        seed = _int(seed, "the seed", 0, MAX_SEED)
        turn_days = _int(turn_days, "days per turn", 1, MAX_TURN_DAYS)
        with self.lock:
            if len([r for r in self.rooms.values() if not r.closed]) >= MAX_ROOMS:
                raise RoomError(f"this server has {MAX_ROOMS} open rooms; close one first")
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            while code in self.rooms or (self.root / f"{code}.jsonl").exists():
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            token = new_token()
            record = {
                "op": "open",
                "seq": 0,
                "t": time.time(),
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "code": code,
                "scenario": scenario,
                "seed": seed,
                "turn_days": turn_days,
                "free_pick": bool(free_pick),
                "teacher": _hash(token),
            }
            log = RoomLog(self.root / f"{code}.jsonl")
            room = Room(record, log)  # builds the model: a bad scenario fails before the log
            log.append(record)
            self.rooms[code] = room
            return room, token

    def get(self, code: Any) -> Room:
        code = clean_code(code)
        with self.lock:
            room = self.rooms.get(code)
        if room is None:
            raise RoomError(f"no room {code} on this server (check the code with your teacher)")
        return room

    def tick(self, now: float | None = None) -> list[str]:
        """Play the turn of every room that is due (timer or everyone submitted)."""
        now = time.time() if now is None else now
        played = []
        with self.lock:
            rooms = list(self.rooms.values())
        for room in rooms:
            with room.lock:
                why = room.due(now)
                if why:
                    room.advance(by=why)
                    played.append(room.code)
        return played

    def start_ticker(self, interval_s: float = 1.0) -> None:
        """A daemon thread that calls :meth:`tick` (started once, by the app)."""
        with self.lock:
            if self._ticker is not None:
                return

            def loop() -> None:
                while not self._stop.wait(interval_s):
                    try:
                        self.tick()
                    except Exception as exc:  # the ticker must survive any one failure
                        self.problems.append(f"ticker: {exc}")

            self._ticker = threading.Thread(target=loop, name="corridors-rooms", daemon=True)
            self._ticker.start()


_STORE: RoomStore | None = None
_STORE_LOCK = threading.Lock()


def default_store() -> RoomStore:
    """The server's room store (shared by every browser session on purpose: a room is many
    sessions' shared state)."""
    global _STORE  # noqa: PLW0603 - one store per server process
    with _STORE_LOCK:
        if _STORE is None:
            _STORE = RoomStore(default_root())
            _STORE.start_ticker()
        return _STORE
