"""The structured event log: what happened each day, and why."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class LogEntry:
    """One thing that happened. ``kind`` is a stable keyword for filtering and plots."""

    step: int
    date: dt.date
    kind: str
    subject: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    origin: str = "model"
    """Where it comes from, so a reader never confuses the record with the model's output:
    ``record`` (a scripted event that cites a source), ``scenario`` (a scripted event with no
    source: an assumption of the scenario or of its variant), ``intervention`` (a user's, mid-run)
    or ``model`` (what the mechanisms made happen, with their reason)."""

    def __str__(self) -> str:
        return f"{self.date} (day {self.step}): {self.message}"


class EventLog:
    """Append-only list of :class:`LogEntry`."""

    KEY_KINDS = frozenset(
        {
            "event",
            "intervention",
            "no_route",
            "route_restored",
            "capacity_limited",
            "capacity_restored",
            "shortage_start",
            "shortage_end",
            "stress_alert",
            "guarantee",
            "offensive",
            "capitulation",
            "ceasefire",
            "control",
            "displacement",
            "demand",
            "tension",
            "event_skipped",
        }
    )
    """Kinds shown in the CLI's timeline of key events."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []

    def add(
        self,
        step: int,
        date: dt.date,
        kind: str,
        subject: str,
        message: str,
        origin: str = "model",
        **data: Any,
    ) -> LogEntry:
        entry = LogEntry(step, date, kind, subject, message, data, origin)
        self.entries.append(entry)
        return entry

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def of_kind(self, *kinds: str) -> list[LogEntry]:
        return [e for e in self.entries if e.kind in kinds]

    def to_frame(self) -> pd.DataFrame:
        columns = ["step", "date", "kind", "subject", "message", "data", "origin"]
        return pd.DataFrame([asdict(e) for e in self.entries], columns=columns)
