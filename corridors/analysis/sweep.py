"""Parameter sweeps: plan runs from a spec, run them in chunks on any executor, store each
finished chunk, resume where a sweep stopped.

A run is a pure function of (scenario, parameter overrides, seed): the scenario is parsed once
and shipped to workers as a validated object, seeds are derived from the spec's base seed and the
run id, so the serial runner, the process pool and Dask give identical outcomes.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.analysis.designs import Design, build_design
from corridors.analysis.executors import (
    ExecutorInfo,
    check_dask_address,
    default_workers,
    describe,
    is_broken,
    open_executor,
    stop_workers,
)
from corridors.analysis.storage import FORMAT, SweepDataError, SweepStore
from corridors.analysis.sweepspec import (
    IDENTITY_KEYS,
    RUN_COLUMNS,
    LoadedSpec,
    SeriesSpec,
    SweepSpec,
    load_spec,
)
from corridors.scenarios import Problem, Scenario
from corridors.scenarios.yamlsafe import Where

MAX_CHUNK = 100
"""Most runs per chunk (and so per part file) when the chunk size is chosen automatically."""
CHUNKS_PER_WORKER = 8
"""Automatic chunking aims at this many chunks per worker: batches tiny runs, balances load."""
SERIES_COLUMNS = ["run_id", "step", "date", "entity", "variable", "value"]
ERROR_COLUMNS = ["run_id", "seed", "error", "message", "traceback"]


def derive_seed(base_seed: int, key: int) -> int:
    """A run's seed from the sweep's base seed and a key (the run id, or the replicate with
    common random numbers): numpy's SeedSequence, so seeds are independent and reproducible."""
    state = np.random.SeedSequence(base_seed, spawn_key=(key,)).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))  # fits a signed 64-bit Parquet column


# ---------------------------------------------------------------------------- the worker side


@dataclass(frozen=True)
class RunContext:
    """What every run of a sweep shares; pickled to workers once per chunk."""

    scenario: Scenario
    days: int | None = None
    outcomes: tuple[str, ...] | None = None
    series: SeriesSpec | None = None


@dataclass
class ChunkResult:
    """A chunk's results, as plain rows (cheap to send back from a worker)."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    series: pd.DataFrame | None = None


def run_one(
    ctx: RunContext, overrides: Mapping[str, Any], seed: int
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """One run: its summary, and its series when the context keeps them."""
    from corridors.analysis.run import series_frame, summarise
    from corridors.model import ConflictModel

    seed = int(seed)  # numpy integers are not seeds to Python's random
    model = ConflictModel(
        ctx.scenario,
        rng=seed,
        overrides=overrides,
        days=ctx.days,
        record_flows=False,
        record_series=ctx.series is not None,  # the summary does not need the collector
    )
    while model.running:
        model.step()
    summary = summarise(model, seed)
    series = None
    if ctx.series is not None:
        frame = series_frame(model)
        last = int(frame["step"].max())
        keep = (frame["step"] % ctx.series.stride == 0) | (frame["step"] == last)
        if ctx.series.entities:
            keep &= frame["entity"].isin(ctx.series.entities)
        if ctx.series.variables:
            keep &= frame["variable"].isin(ctx.series.variables)
        series = frame[keep]
    return summary, series


def pick_outcomes(summary: Mapping[str, Any], names: Sequence[str] | None) -> dict[str, Any]:
    """The outcomes kept from a run summary: the named ones, or every non-identity key."""
    if names is None:
        return {k: v for k, v in summary.items() if k not in IDENTITY_KEYS}
    return {k: summary.get(k) for k in names}


def run_chunk(ctx: RunContext, tasks: Sequence[tuple[int, int, Mapping[str, Any]]]) -> ChunkResult:
    """Run ``(run_id, seed, overrides)`` tasks one after another; a run that raises is recorded
    with its error and the chunk goes on."""
    result = ChunkResult()
    series_parts = []
    for run_id, seed, overrides in tasks:
        start = time.perf_counter()
        try:
            summary, series = run_one(ctx, overrides, seed)
        except Exception as exc:
            status = "error"
            result.errors.append(
                {
                    "run_id": run_id,
                    "seed": seed,
                    "error": type(exc).__name__,
                    "message": " ".join(str(exc).split()),
                    "traceback": traceback.format_exc()[-4000:],
                }
            )
        else:
            status = "ok"
            result.outcomes.append({"run_id": run_id, **pick_outcomes(summary, ctx.outcomes)})
            if series is not None:
                series = series.assign(run_id=run_id)
                series_parts.append(series[SERIES_COLUMNS])
        elapsed = time.perf_counter() - start
        result.runs.append({"run_id": run_id, "status": status, "elapsed_s": elapsed})
    if series_parts:
        result.series = pd.concat(series_parts, ignore_index=True)
    return result


# ---------------------------------------------------------------------------- planning


def plan_runs(loaded: LoadedSpec, design: Design) -> pd.DataFrame:
    """Every run of the sweep: run id, design point, replicate, seed and parameter values.
    ``run_id = point × replicates + replicate``."""
    spec = loaded.spec
    reps = spec.replicates
    rows = []
    for point, values in enumerate(design.values):
        for rep in range(reps):
            run_id = point * reps + rep
            seed = derive_seed(spec.seed, rep if spec.common_seeds else run_id)
            rows.append(
                {"run_id": run_id, "point": point, "replicate": rep, "seed": seed, **values}
            )
    columns = ["run_id", "point", "replicate", "seed", *design.names]
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("run_id", "point", "replicate", "seed"):
        frame[col] = frame[col].astype(np.int64)
    return frame


def auto_chunk_size(pending: int, workers: int) -> int:
    """Runs per chunk: enough chunks to keep every worker busy to the end, few enough that
    tiny runs are batched, at most :data:`MAX_CHUNK`."""
    return max(1, min(MAX_CHUNK, math.ceil(pending / (max(workers, 1) * CHUNKS_PER_WORKER))))


def design_frame(design: Design) -> pd.DataFrame:
    frame = pd.DataFrame(design.x, columns=design.names)
    frame.insert(0, "point", np.arange(len(design), dtype=np.int64))
    return frame


# ---------------------------------------------------------------------------- running


@dataclass
class SweepReport:
    """What a call to :func:`run_sweep` did."""

    out: Path
    planned: int
    skipped: int
    """Runs already in the directory (``resume``)."""
    completed: int = 0
    """Runs finished in this call (successful or recorded as errors)."""
    errors: int = 0
    """Runs that raised, in this call."""
    elapsed_s: float = 0.0
    executor: str = ""
    chunk_size: int = 0
    interrupted: bool = False
    failures: list[str] = field(default_factory=list)
    """Chunks lost to an executor failure (their runs stay pending for ``--resume``)."""
    restarts: int = 0
    """Times a local pool was started anew after a worker died."""
    recovered: list[str] = field(default_factory=list)
    """Chunks lost to a dead worker and run again on a fresh pool."""
    broken: bool = False
    """The executor itself failed during the last attempt (a worker process died)."""

    @property
    def pending(self) -> int:
        return self.planned - self.skipped - self.completed

    @property
    def runs_per_s(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def complete(self) -> bool:
        return self.pending == 0


ProgressHook = Callable[[int, int], None]
"""Called with (runs done, runs to do) after each chunk is stored."""


MAX_POOL_RESTARTS = 3
"""Fresh pools a sweep starts after workers die before it gives up (then: ``--resume``)."""


def run_sweep(
    spec: str | Path | Mapping[str, Any] | SweepSpec | LoadedSpec,
    out: str | Path,
    *,
    workers: int | None = None,
    dask: str | None = None,
    executor: Executor | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    progress: bool | ProgressHook = False,
) -> SweepReport:
    """Run a sweep into ``out`` and return a report.

    ``executor``: any :class:`concurrent.futures.Executor` (the caller closes it); otherwise
    one is opened from ``workers`` (1 = this process) and ``dask`` ("local" or an address).
    ``resume``: continue a sweep in ``out`` with the same spec, skipping finished runs.
    Bad specs and unusable directories raise :class:`ScenarioError` subclasses before any run.
    """
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    design = build_design(loaded.spec)
    plan = plan_runs(loaded, design)
    store = SweepStore(out)
    previous = _check_directory(store, loaded, resume)
    check_dask_address(dask)
    created = not store.root.exists()
    store.lock()
    report = SweepReport(out=store.root, planned=len(plan), skipped=0)
    try:
        store.cleanup()
        if previous is not None and store.committed_rows() == len(plan):
            report.skipped = len(plan)  # all done: no executor to start
            return report
        with ExitStack() as stack:
            # The executor opens first: a local pool forks its workers before this process
            # reads Parquet (which starts Arrow's threads) or shows progress.
            if executor is None:
                pool, info = stack.enter_context(open_executor(workers, dask))
            else:
                pool = executor
                info = ExecutorInfo("executor", workers or default_workers(), type(pool).__name__)
            done = store.completed_run_ids()
            report.skipped = len(done)
            manifest = _manifest(loaded, design, plan, previous)
            store.write_design(design_frame(design))
            store.write_manifest({**manifest, "status": "running"})
            pending = plan[~plan["run_id"].isin(done)]
            if len(pending):
                ctx = RunContext(
                    scenario=loaded.scenario,
                    days=loaded.spec.days,
                    outcomes=tuple(loaded.spec.outcomes) if loaded.spec.outcomes else None,
                    series=loaded.spec.series,
                )
                own = executor is None
                _execute(pool, info, ctx, pending, store, report, chunk_size, progress, own)
        while (
            executor is None
            and not dask
            and report.broken
            and not report.interrupted
            and report.restarts < MAX_POOL_RESTARTS
            and store.committed_rows() < len(plan)
        ):
            # A worker died (killed, out of memory): its chunk is lost, not the sweep. Start a
            # fresh pool — with a forkserver, as this process now runs Arrow's threads — and
            # go on with what is still pending; lost chunks run again.
            report.restarts += 1
            report.broken = False
            with open_executor(workers, dask, fresh=True) as (pool, info):
                pending = plan[~plan["run_id"].isin(store.completed_run_ids())]
                _execute(pool, info, ctx, pending, store, report, chunk_size, progress, True)
        if report.restarts and not report.broken and store.committed_rows() == len(plan):
            report.recovered, report.failures = report.failures, []
    finally:
        _finish_manifest(store, report)
        store.unlock()
        if created and not any(store.root.iterdir()):
            store.root.rmdir()  # the executor could not start: leave no empty directory
    return report


def _check_directory(store: SweepStore, loaded: LoadedSpec, resume: bool) -> dict[str, Any] | None:
    """The manifest of a sweep to resume, after checking the directory may be written."""
    root = store.root

    def fail(message: str) -> SweepDataError:
        return SweepDataError([Problem(Where(str(root)), "", message)])

    if root.exists() and not root.is_dir():
        raise fail("exists and is not a directory; choose another --out")
    if not store.exists():
        if root.is_dir() and any(p.name != "sweep.lock" for p in root.iterdir()):
            raise fail("exists, is not empty and holds no sweep; choose another --out")
        return None
    manifest = store.read_manifest()
    if not resume:
        done = len(store.completed_run_ids())
        raise fail(
            f"already holds a sweep ({done} of {manifest['design']['runs']} runs done); "
            "add --resume to continue it, or choose another --out"
        )
    if manifest.get("spec_hash") != loaded.spec_hash:
        what = "scenario" if manifest.get("scenario_hash") != loaded.scenario_hash else "spec"
        raise fail(
            f"holds a sweep of a different {what} (its hash differs); resume only with the "
            "spec and scenario it was started with, or choose another --out"
        )
    return manifest


def _chunks(pending: pd.DataFrame, size: int) -> Iterable[pd.DataFrame]:
    for start in range(0, len(pending), size):
        yield pending.iloc[start : start + size]


def _execute(
    executor: Executor,
    info: ExecutorInfo,
    ctx: RunContext,
    pending: pd.DataFrame,
    store: SweepStore,
    report: SweepReport,
    chunk_size: int | None,
    progress: bool | ProgressHook,
    own: bool = True,
) -> None:
    """Submit chunks (a bounded window of them at a time), store each as it finishes."""
    names = [c for c in pending.columns if c not in ("run_id", "point", "replicate", "seed")]
    size = chunk_size or auto_chunk_size(len(pending), info.workers)
    report.chunk_size = size
    report.executor = str(info)
    queue = deque(_chunks(pending, size))
    window = max(2, 2 * info.workers)
    inflight: dict[Future[ChunkResult], pd.DataFrame] = {}
    total = len(pending)
    bar = _Progress(total, progress)
    start = time.perf_counter()

    def submit() -> None:
        chunk = queue.popleft()
        tasks = [
            (int(r["run_id"]), int(r["seed"]), {n: _plain(r[n]) for n in names})
            for r in chunk.to_dict("records")
        ]
        try:
            future = executor.submit(run_chunk, ctx, tasks)
        except Exception as exc:
            if not is_broken(exc):
                raise
            # The pool broke (a worker died) after the last result was read and before this
            # chunk was submitted: it waits for a fresh pool with the rest of the queue.
            report.broken = True
            queue.clear()
            return
        inflight[future] = chunk

    try:
        while queue or inflight:
            while queue and len(inflight) < window:
                try:
                    submit()
                except Exception as exc:  # a worker died: the pool refuses new work
                    if not is_broken(exc):
                        raise
                    report.broken = True
                    queue.clear()
                    break
                bar.start()
            if not inflight:
                break
            finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            for future in finished:
                chunk = inflight.pop(future)
                try:
                    result = future.result()
                except Exception as exc:
                    report.failures.append(
                        f"runs {int(chunk.run_id.iloc[0])}–{int(chunk.run_id.iloc[-1])}: "
                        + describe(exc)
                    )
                    if is_broken(exc):
                        report.broken = True
                        queue.clear()
                    continue
                _store_chunk(store, chunk, result)
                report.completed += len(result.runs)
                report.errors += len(result.errors)
                bar.advance(len(result.runs))
    except KeyboardInterrupt:
        report.interrupted = True
        for future in inflight:
            future.cancel()
        if own:  # abandon the running chunks; a caller's executor is the caller's business
            stop_workers(executor)
    finally:
        report.elapsed_s = time.perf_counter() - start
        bar.stop()


def _plain(value: Any) -> Any:
    """numpy scalars → Python values (the scenario validates plain values)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def _store_chunk(store: SweepStore, chunk: pd.DataFrame, result: ChunkResult) -> None:
    status = pd.DataFrame(result.runs, columns=["run_id", "status", "elapsed_s"])
    runs = chunk.merge(status, on="run_id", how="inner", validate="one_to_one")
    params = [c for c in chunk.columns if c not in RUN_COLUMNS]
    runs = runs[[*RUN_COLUMNS, *params]]
    tables: dict[str, pd.DataFrame | None] = {
        "runs": runs,
        "outcomes": pd.DataFrame(result.outcomes) if result.outcomes else None,
        "errors": pd.DataFrame(result.errors, columns=ERROR_COLUMNS) if result.errors else None,
        "series": result.series,
    }
    store.write_chunk(store.new_part_name(int(runs["run_id"].min())), tables)


PROGRESS_SECONDS = 10.0
"""Seconds between plain progress lines when stderr is not a terminal (a pipe, nohup, CI);
``CORRIDORS_PROGRESS_SECONDS`` changes it."""


class _Progress:
    """A rich progress bar with ETA on stderr on a terminal; elsewhere (a pipe, a log file, CI)
    one plain line at a steady interval, so long sweeps are never silent. Or a caller's hook."""

    def __init__(self, total: int, progress: bool | ProgressHook) -> None:
        self.total = total
        self.done = 0
        self.hook = progress if callable(progress) else None
        self.bar: Any = None
        self.task: Any = None
        self.wanted = progress is True
        self.ticker: threading.Thread | None = None
        self.stopping = threading.Event()
        self.started = time.monotonic()

    def start(self) -> None:
        if not self.wanted or self.bar is not None or self.ticker is not None:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self.started = time.monotonic()
        if not console.is_terminal:
            self.ticker = threading.Thread(target=self._tick, name="sweep-progress", daemon=True)
            self.ticker.start()
            return
        self.bar = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("runs"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self.bar.start()
        self.task = self.bar.add_task("sweep", total=self.total)

    def _interval(self) -> float:
        try:
            seconds = float(os.environ.get("CORRIDORS_PROGRESS_SECONDS", PROGRESS_SECONDS))
        except ValueError:
            seconds = PROGRESS_SECONDS
        return seconds if math.isfinite(seconds) and seconds > 0 else PROGRESS_SECONDS

    def line(self) -> str:
        """``sweep: 120/1000 runs (12%), 35 s elapsed, about 4 min 10 s left``."""
        elapsed = time.monotonic() - self.started
        share = self.done / self.total if self.total else 1.0
        text = f"sweep: {self.done}/{self.total} runs ({share:.0%}), {_duration(elapsed)} elapsed"
        if 0 < self.done < self.total:
            text += f", about {_duration(elapsed * (self.total - self.done) / self.done)} left"
        return text

    def _tick(self) -> None:
        interval = self._interval()
        while not self.stopping.wait(interval):
            print(self.line(), file=sys.stderr, flush=True)

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.advance(self.task, n)
        if self.hook is not None:
            self.hook(self.done, self.total)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        if self.ticker is not None:
            self.stopping.set()
            self.ticker.join(timeout=5)
            self.ticker = None
            print(self.line(), file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


# ---------------------------------------------------------------------------- the manifest


def _manifest(
    loaded: LoadedSpec, design: Design, plan: pd.DataFrame, previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    import corridors

    spec = loaded.spec
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    try:
        from importlib.metadata import version

        mesa_version = version("mesa")
    except Exception:  # pragma: no cover - mesa is a dependency
        mesa_version = "?"
    return {
        "format": FORMAT,
        "name": loaded.label,
        "spec_file": loaded.file,
        "spec": spec.to_json(),
        "spec_hash": loaded.spec_hash,
        "scenario": loaded.scenario_name,
        "scenario_title": loaded.scenario.meta.title,
        "scenario_hash": loaded.scenario_hash,
        "scenario_start": loaded.scenario.calendar.start.isoformat(),
        "corridors_version": corridors.__version__,
        "mesa_version": mesa_version,
        "python": platform.python_version(),
        "created": (previous or {}).get("created", now),
        "updated": now,
        "design": {
            "type": design.kind,
            "parameters": design.names,
            "points": len(design),
            "replicates": spec.replicates,
            "runs": len(plan),
            "seed": spec.seed,
            "common_seeds": spec.common_seeds,
            "samples": spec.design.samples,
            "levels": spec.design.levels if design.kind == "morris" else None,
            "second_order": spec.design.second_order if design.kind == "sobol" else None,
            "problem": design.problem,
        },
        "outcomes": list(spec.outcomes) if spec.outcomes else "all",
        "series": spec.series.model_dump() if spec.series else None,
        "days": spec.days,
        "counts": dict((previous or {}).get("counts", {})),
        "sessions": list((previous or {}).get("sessions", [])),
    }


def _finish_manifest(store: SweepStore, report: SweepReport) -> None:
    if not store.exists():
        return
    manifest = store.read_manifest()
    runs = store.read_table("runs", columns=["run_id", "status"])
    ok = int((runs["status"] == "ok").sum()) if len(runs) else 0
    done = len(runs)
    planned = int(manifest["design"]["runs"])
    manifest["counts"] = {
        "planned": planned,
        "done": done,
        "ok": ok,
        "errors": done - ok,
        "pending": planned - done,
    }
    manifest["status"] = "complete" if done == planned else "incomplete"
    manifest["updated"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest.setdefault("sessions", []).append(
        {
            "finished": manifest["updated"],
            "executor": report.executor,
            "chunk_size": report.chunk_size,
            "runs": report.completed,
            "errors": report.errors,
            "elapsed_s": round(report.elapsed_s, 3),
            "interrupted": report.interrupted,
            "failures": report.failures[:20],
            "argv": sys.argv[1:] if sys.argv and "corridors" in Path(sys.argv[0]).name else None,
        }
    )
    store.write_manifest(manifest)
