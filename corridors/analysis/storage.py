"""Sweep datasets on disk: one Parquet part file per finished chunk and table, a manifest, and
loading the lot into pandas with one call.

Layout of a sweep directory::

    manifest.json        spec, hashes, package version, design, counts, status
    design.parquet       design points in SALib's problem space (point, one column per parameter)
    runs/part-*.parquet      run_id, point, replicate, seed, status, elapsed_s, every parameter
    outcomes/part-*.parquet  run_id and the outcomes of each successful run
    series/part-*.parquet    run_id, step, date, entity, variable, value (if the spec keeps any)
    errors/part-*.parquet    run_id, seed, error, message, traceback (runs that raised)

A chunk is *committed* when its ``runs`` part exists: the other tables' parts of a chunk are
written first, each atomically (a hidden temporary name, then ``os.replace``), so a sweep killed
at any moment leaves only whole files, and a part whose ``runs`` file is missing is an orphan
that readers ignore and ``--resume`` deletes.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from corridors.scenarios import Problem, ScenarioError
from corridors.scenarios.yamlsafe import Where

TABLES = ("runs", "outcomes", "series", "errors")
COMMIT_TABLE = "runs"
MANIFEST = "manifest.json"
DESIGN = "design.parquet"
LOCK = "sweep.lock"
FORMAT = "corridors-sweep/1"


class SweepDataError(ScenarioError):
    """A directory is not a usable sweep dataset (missing, foreign, locked, unreadable)."""


def _fail(root: Path, message: str) -> SweepDataError:
    return SweepDataError([Problem(Where(str(root)), "", message)])


def write_parquet_atomic(frame: pd.DataFrame | pa.Table, path: Path) -> None:
    """Write a Parquet file under a hidden temporary name, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )
    pq.write_table(table, tmp)
    tmp.replace(path)


def write_json_atomic(data: Mapping[str, Any], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


class SweepStore:
    """Reads and writes one sweep directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ manifest

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def read_manifest(self) -> dict[str, Any]:
        if not self.root.is_dir():
            raise _fail(self.root, "no such sweep directory")
        if not self.exists():
            raise _fail(self.root, f"not a sweep directory (no {MANIFEST}); run `corridors sweep`")
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _fail(self.root, f"{MANIFEST} is unreadable: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _fail(self.root, f"{MANIFEST} is not a Corridors sweep manifest ({FORMAT})")
        return data

    def write_manifest(self, data: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(data, self.manifest_path)

    # ------------------------------------------------------------------ locking

    def lock(self) -> None:
        """Claim the directory for one writer; a lock left by a dead process is taken over."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(path.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _alive(pid):
                    raise _fail(
                        self.root, f"another sweep (process {pid}) is writing here"
                    ) from None
                path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return
        raise _fail(self.root, f"cannot lock the directory ({LOCK})")  # pragma: no cover

    def unlock(self) -> None:
        (self.root / LOCK).unlink(missing_ok=True)

    # ------------------------------------------------------------------ parts

    def table_dir(self, table: str) -> Path:
        return self.root / table

    def parts(self, table: str) -> list[str]:
        """Names of the table's whole part files (temporary files excluded), sorted."""
        folder = self.table_dir(table)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.glob("part-*.parquet") if not p.name.startswith("."))

    def committed(self) -> set[str]:
        return set(self.parts(COMMIT_TABLE))

    @staticmethod
    def new_part_name(first_run_id: int) -> str:
        return f"part-{first_run_id:09d}-{secrets.token_hex(4)}.parquet"

    def write_chunk(self, part: str, tables: Mapping[str, pd.DataFrame | None]) -> None:
        """Write a chunk's tables, ``runs`` last: once it is in place the chunk is committed."""
        for table in TABLES:
            if table == COMMIT_TABLE:
                continue
            frame = tables.get(table)
            if frame is not None and len(frame):
                self.table_dir(table).mkdir(parents=True, exist_ok=True)
                write_parquet_atomic(frame, self.table_dir(table) / part)
        self.table_dir(COMMIT_TABLE).mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(tables[COMMIT_TABLE], self.table_dir(COMMIT_TABLE) / part)

    def cleanup(self) -> int:
        """Delete temporary files and orphan parts (of chunks never committed); returns how many."""
        committed = self.committed()
        removed = 0
        for table in TABLES:
            folder = self.table_dir(table)
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                orphan = table != COMMIT_TABLE and path.name not in committed
                temporary = path.name.startswith(".") and path.name.endswith(".tmp")
                if temporary or orphan:
                    path.unlink(missing_ok=True)
                    removed += 1
        for path in self.root.glob(".*.tmp"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def read_table(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A table from its committed parts, sorted by run (and step); empty if none."""
        committed = self.committed()
        names = [n for n in self.parts(table) if n in committed]
        pieces = []
        for name in names:
            try:
                pieces.append(pq.read_table(self.table_dir(table) / name, columns=columns))
            except (OSError, pa.ArrowException) as exc:
                raise _fail(self.root, f"{table}/{name} is unreadable: {exc}") from None
        if not pieces:
            return pd.DataFrame(columns=columns or ["run_id"])
        frame = pa.concat_tables(pieces, promote_options="permissive").to_pandas()
        keys = [k for k in ("run_id", "step", "entity", "variable") if k in frame.columns]
        return frame.sort_values(keys, kind="stable").reset_index(drop=True)

    def committed_rows(self) -> int:
        """Runs committed, from the part files' footers (reads no data, starts no threads)."""
        folder = self.table_dir(COMMIT_TABLE)
        try:
            return sum(pq.read_metadata(folder / name).num_rows for name in self.committed())
        except (OSError, pa.ArrowException):
            return -1

    def completed_run_ids(self) -> set[int]:
        runs = self.read_table(COMMIT_TABLE, columns=["run_id"])
        return {int(r) for r in runs["run_id"]}

    def write_design(self, frame: pd.DataFrame) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(frame, self.root / DESIGN)

    def read_design(self) -> pd.DataFrame:
        path = self.root / DESIGN
        if not path.is_file():
            raise _fail(self.root, f"{DESIGN} is missing")
        return pd.read_parquet(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


class Sweep:
    """A sweep dataset opened for analysis; tables load on first use."""

    def __init__(self, root: str | Path) -> None:
        self.store = SweepStore(root)
        self.root = self.store.root
        self.manifest = self.store.read_manifest()

    @cached_property
    def runs(self) -> pd.DataFrame:
        return self.store.read_table("runs")

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        return self.store.read_table("outcomes")

    @cached_property
    def errors(self) -> pd.DataFrame:
        return self.store.read_table("errors")

    @cached_property
    def series(self) -> pd.DataFrame:
        return self.store.read_table("series")

    @cached_property
    def design(self) -> pd.DataFrame:
        return self.store.read_design()

    @property
    def parameters(self) -> list[str]:
        return list(self.manifest["design"]["parameters"])

    @property
    def outcome_names(self) -> list[str]:
        return [c for c in self.outcomes.columns if c != "run_id"]

    @cached_property
    def frame(self) -> pd.DataFrame:
        """One row per run: the runs table joined with its outcomes (missing for failed runs)."""
        return self.runs.merge(self.outcomes, on="run_id", how="left", validate="one_to_one")


def open_sweep(root: str | Path) -> Sweep:
    """Open a sweep directory: ``.frame``, ``.runs``, ``.outcomes``, ``.errors``, ``.series``,
    ``.design``, ``.manifest``."""
    return Sweep(root)


def load_sweep(root: str | Path) -> pd.DataFrame:
    """The runs of a sweep joined with their outcomes, one row per run, as a pandas DataFrame
    (``frame.attrs["manifest"]`` holds the manifest; see :func:`open_sweep` for the errors and
    series tables)."""
    sweep = open_sweep(root)
    frame = sweep.frame.copy()
    frame.attrs["manifest"] = sweep.manifest
    return frame
