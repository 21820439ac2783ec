"""What one browser session may open: the one rule every tab goes through.

A browser names a scenario, a variant or a sweep only by an id that this server made and gave
to this session: the built-in scenarios by name, this session's uploads by ``NAME (upload N)``,
variants by the built-in variant names of their scenario, sweeps by the folder names the server
found under its sweep root. :meth:`Catalog.scenario` and friends look the id up in this
session's tables and raise :class:`CatalogError` for anything else, so no value from a browser
is ever used as a path, and no session can reach another's uploads (they live in a folder named
by a random token, known only to the session's :class:`Catalog`, and removed with it).
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridors.app import limits
from corridors.app.uploads import renamed_error, safe_name, save_upload, upload_root
from corridors.scenarios import (
    Problem,
    Scenario,
    ScenarioError,
    builtin_names,
    load_scenario,
    variant_names,
)


class CatalogError(ScenarioError):
    """An id this session may not use (unknown, another session's, or a path)."""

    def __init__(self, message: str) -> None:
        super().__init__([Problem(None, "", message)])


@dataclass(frozen=True)
class Upload:
    id: str
    """What the browser sees and sends back, e.g. ``my-island (upload 2)``."""
    path: Path
    """Where the server keeps it (never sent to a browser)."""
    filename: str


def _shown(value: Any) -> str:
    """A short, printable rendering of a value a browser sent, for an error message."""
    text = value if isinstance(value, str) else type(value).__name__
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return repr(text[:60] + ("…" if len(text) > 60 else ""))


class Catalog:
    """This session's scenarios, variants and uploads; thread-safe; :meth:`close` removes the
    uploads from disk (the page calls it when the session ends)."""

    def __init__(self, root: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._uploads: dict[str, Upload] = {}
        self._count = 0
        self._root = root
        self._folder: Path | None = None
        self.closed = False

    # ------------------------------------------------------------------ scenarios

    def builtins(self) -> list[str]:
        return builtin_names()

    def scenario_ids(self) -> list[str]:
        """Every scenario id this session may choose: built-ins, then its uploads."""
        with self._lock:
            return [*builtin_names(), *self._uploads]

    def is_builtin(self, scenario_id: str) -> bool:
        return isinstance(scenario_id, str) and scenario_id in builtin_names()

    def source(self, scenario_id: Any) -> str | Path:
        """What to give the loader for ``scenario_id``: a built-in name or this session's
        upload's path. Raises :class:`CatalogError` for anything else."""
        if self.is_builtin(scenario_id):
            return scenario_id
        with self._lock:
            upload = self._uploads.get(scenario_id) if isinstance(scenario_id, str) else None
        if upload is None:
            raise CatalogError(
                f"no scenario {_shown(scenario_id)} here: choose a built-in scenario or one "
                "you uploaded in this session"
            )
        return upload.path

    def variant_ids(self, scenario_id: Any) -> list[str]:
        """Variants of a built-in scenario; uploads have none."""
        return variant_names(scenario_id) if self.is_builtin(scenario_id) else []

    def check_variants(self, scenario_id: Any, variants: Any) -> tuple[str, ...]:
        if variants is None:
            return ()
        if isinstance(variants, str) or not isinstance(variants, Sequence):
            raise CatalogError("variants: expected a list of variant names")
        if len(variants) > limits.MAX_VARIANTS:
            raise CatalogError(f"variants: at most {limits.MAX_VARIANTS} at once")
        known = self.variant_ids(scenario_id)
        for v in variants:
            if not isinstance(v, str) or v not in known:
                raise CatalogError(
                    f"no variant {_shown(v)} for this scenario"
                    + (f" (variants: {', '.join(known)})" if known else " (it has none)")
                )
        return tuple(dict.fromkeys(variants))

    def load(
        self,
        scenario_id: Any,
        variants: Any = (),
        overrides: Mapping[str, Any] | None = None,
    ) -> Scenario:
        """The scenario behind ``scenario_id`` with checked variants and overrides; its run
        length capped at :data:`limits.MAX_DAYS`. Errors never show the server's paths."""
        source = self.source(scenario_id)
        checked = self.check_variants(scenario_id, variants)
        try:
            spec = load_scenario(source, variants=checked, overrides=dict(overrides or {}))
        except ScenarioError as exc:
            if isinstance(source, Path):
                raise renamed_error(exc, str(source), scenario_id) from None
            raise
        if spec.calendar.n_days > limits.MAX_DAYS:
            raise CatalogError(
                f"calendar: {spec.calendar.n_days:,} days; the app runs at most "
                f"{limits.MAX_DAYS:,} days"
            )
        return spec

    # ------------------------------------------------------------------ uploads

    def _session_folder(self) -> Path:
        if self._folder is None:
            self._folder = (self._root or upload_root()) / f"s-{secrets.token_hex(16)}"
            self._folder.mkdir(parents=True, exist_ok=False, mode=0o700)
        return self._folder

    def add_upload(self, name: Any, size: Any, read: Callable[[int], bytes]) -> str:
        """Check and store an uploaded file; returns its id. Raises ScenarioError."""
        if self.closed:
            raise CatalogError("this session has ended; reload the page")
        filename = safe_name(name if isinstance(name, str) else "scenario.yaml")
        with self._lock:
            folder = self._session_folder()
        path = save_upload(filename, size, read, root=folder)
        with self._lock:
            self._count += 1
            stem = filename.rsplit(".", 1)[0] or "scenario"
            upload = Upload(f"{stem} (upload {self._count})", path, filename)
            self._uploads[upload.id] = upload
            while len(self._uploads) > limits.MAX_UPLOADS:
                oldest = next(iter(self._uploads))
                shutil.rmtree(self._uploads.pop(oldest).path.parent, ignore_errors=True)
        return upload.id

    def uploads(self) -> list[str]:
        with self._lock:
            return list(self._uploads)

    def close(self) -> None:
        """Forget and delete this session's uploads."""
        with self._lock:
            self.closed = True
            self._uploads.clear()
            folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
