"""Limits on what one browser session may ask of the server, checked before any work starts.

The app is meant for a class on one network: every value a browser sends is untrusted, so each
input has a bound here and a check that raises :class:`LimitError` with a message fit for the
page. Numbers can be changed with environment variables (``CORRIDORS_MAX_SESSIONS``...) so a
teacher with a bigger machine can raise them; the defaults suit a laptop serving one class.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class LimitError(ValueError):
    """An input over a bound; ``str()`` is the message to show."""


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


MAX_SEEDS = 50
"""Seeds in one comparison (each side runs once per seed)."""
MAX_SEED = 2**32 - 1
"""Largest seed (NumPy's generators take any non-negative integer; this keeps them cheap)."""
MAX_TEXT = 200
"""Characters in a one-line text field (a name, a seed list, a sweep choice)."""
MAX_REASON = 500
"""Characters in an intervention's reason."""
MAX_VALUE_TEXT = 2_000
"""Characters in an intervention's value (YAML text)."""
MAX_OVERRIDE_LINES = 40
MAX_OVERRIDE_TEXT = 4_000
"""Lines and characters in the overrides box."""
MAX_VARIANTS = 10
"""Variants applied at once."""
MAX_DAYS = 3_660
"""Days a run in the app may last (ten years), whatever the scenario or the overrides say."""
MAX_UPLOAD_BYTES = 500_000
"""Largest scenario file a browser may upload (the built-in ones are under 20 kB)."""
MAX_UPLOADS = 10
"""Uploads kept per session (older ones are forgotten first)."""
UPLOAD_ITEMS = {"states": 200, "links": 1_000, "flows": 1_000, "events": 2_000, "targets": 500}
"""Items per section of an uploaded scenario, counted before the file is fully parsed."""
MAX_UPLOAD_VALUES = 50_000
"""Values (scalars, lists and mappings) in one upload, counted the same way."""


def check_text(label: str, text: str | None, limit: int = MAX_TEXT) -> str:
    """``text`` as a string no longer than ``limit``; raises :class:`LimitError`."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise LimitError(f"{label}: expected text")
    if len(text) > limit:
        raise LimitError(f"{label}: {len(text):,} characters; the limit is {limit:,}")
    return text


def check_seed(value: object) -> int:
    """A seed from a widget (an int, or text from a tampered one) within 0..MAX_SEED."""
    if isinstance(value, bool):
        raise LimitError("seed: give a whole number")
    if isinstance(value, str):
        text = check_text("seed", value.strip(), 20)
        if not re.fullmatch(r"\d+", text):
            raise LimitError(f"seed: give a whole number from 0 to {MAX_SEED:,}")
        value = int(text)
    if not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise LimitError(f"seed: give a whole number from 0 to {MAX_SEED:,}")
    return value


def check_days(value: object) -> int | None:
    """Days to simulate (``None``: the scenario's own calendar, still capped at load)."""
    if value is None or value in ("", 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LimitError(f"days: give a whole number from 1 to {MAX_DAYS:,}, or leave it empty")
    if value > MAX_DAYS:
        raise LimitError(f"days: {value:,}; the app runs at most {MAX_DAYS:,} days")
    return value


def parse_seeds(text: str) -> list[int]:
    """``"1-5"``, ``"1,2,7"`` or ``"3"`` (that many seeds from 1) → seeds; the count is
    checked before any list is built, so ``1-30000000`` costs nothing."""
    text = check_text("seeds", text or "", MAX_TEXT).strip()
    too_many = f"seeds: between 1 and {MAX_SEEDS} seeds"
    if m := re.fullmatch(r"(\d{1,10})\s*-\s*(\d{1,10})", text):
        lo, hi = int(m[1]), int(m[2])
        if hi < lo or hi - lo + 1 > MAX_SEEDS:
            raise LimitError(too_many + f" (the range {lo}-{hi} has {max(hi - lo + 1, 0):,})")
        seeds = list(range(lo, hi + 1))
    elif "," in text:
        parts = [x.strip() for x in text.split(",") if x.strip()]
        if len(parts) > MAX_SEEDS:
            raise LimitError(too_many)
        if not all(re.fullmatch(r"\d{1,10}", p) for p in parts):
            raise LimitError("seeds: a list holds whole numbers, e.g. 1,2,7")
        seeds = [int(p) for p in parts]
    elif re.fullmatch(r"\d{1,10}", text):
        count = int(text)
        if not 1 <= count <= MAX_SEEDS:
            raise LimitError(too_many)
        seeds = list(range(1, count + 1))
    else:
        raise LimitError(
            f"seeds: give a count (5), a range (1-5) or a list (1,2,7), not {text[:40]!r}"
        )
    if not seeds:
        raise LimitError(too_many)
    for seed in seeds:
        check_seed(seed)
    return seeds


# ---------------------------------------------------------------------------- sessions


def max_sessions() -> int:
    """Concurrent browser sessions (``CORRIDORS_MAX_SESSIONS``, default 60: a class of 30
    with a spare tab each)."""
    return _env_int("CORRIDORS_MAX_SESSIONS", 60)


@dataclass
class Seats:
    """Counts the sessions alive on this server, so a new one past the cap gets a message
    instead of a model. Thread-safe; one instance per server process (:data:`SEATS`)."""

    taken: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def take(self, limit: int | None = None) -> bool:
        limit = max_sessions() if limit is None else limit
        with self._lock:
            if self.taken >= limit:
                return False
            self.taken += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.taken = max(0, self.taken - 1)


SEATS = Seats()

FULL_MESSAGE = (
    "The app is full: {n} sessions are open, the most this server allows. Close a tab you no "
    "longer use, or wait a few minutes (pages closed or left disconnected end after a while) "
    "and reload."
)


# ---------------------------------------------------------------------------- heavy work


def max_heavy() -> int:
    """Comparisons the server runs at once, over all sessions (``CORRIDORS_MAX_HEAVY``)."""
    return _env_int("CORRIDORS_MAX_HEAVY", max(1, (os.cpu_count() or 2) // 2))


_heavy = threading.BoundedSemaphore(max_heavy())


@contextmanager
def heavy_work() -> Iterator[None]:
    """A slot for long work (a comparison); refused at once, not queued, when all are busy."""
    if not _heavy.acquire(blocking=False):
        raise LimitError(
            "the server is busy with other comparisons; try again in a moment (or with fewer seeds)"
        )
    try:
        yield
    finally:
        _heavy.release()
