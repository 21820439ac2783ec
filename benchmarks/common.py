"""Shared pieces of the benchmarks: timing statistics, the machine, process-tree memory, and
how many cores other jobs leave us.

The development machine is shared (other jobs come and go), so every benchmark interleaves its
repeats with those of its baseline and reports medians with their spread, and ratios are taken
within one repeat before their median is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
"""The repository."""
BASELINE_COMMIT = "e9c46f2"
"""The last commit before the optimisations of issue 7: the "before" of before/after."""


# ---------------------------------------------------------------------------- statistics


@dataclass
class Stat:
    """Repeated measurements of one quantity: median and spread (min–max over repeats)."""

    values: list[float]
    unit: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def text(self, digits: int = 1, scale: float = 1.0) -> str:
        """``median (min–max, n=K)``."""
        m, lo, hi = (x * scale for x in (self.median, self.low, self.high))
        unit = f" {self.unit}" if self.unit else ""
        if len(self.values) == 1:
            return f"{m:,.{digits}f}{unit}"
        return f"{m:,.{digits}f}{unit} ({lo:,.{digits}f}–{hi:,.{digits}f}, n={len(self.values)})"

    def to_json(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.low, "max": self.high, "values": self.values}


def package_at(commit: str, into: Path) -> Path:
    """Extract the ``corridors`` package of ``commit`` into ``into`` (``git archive``) and return
    ``into``: put it first on ``PYTHONPATH`` to run that commit's code. Raises ``OSError`` or
    ``subprocess.CalledProcessError`` when git cannot."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / f"{commit}.tar"
    subprocess.run(
        ["git", "archive", "-o", str(archive), commit, "corridors"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into


def ratio(a: Stat, b: Stat) -> Stat:
    """a ÷ b repeat by repeat (both measured in the same repeats, interleaved)."""
    return Stat([x / y for x, y in zip(a.values, b.values, strict=True)], "×")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


# ---------------------------------------------------------------------------- the machine


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("corridors", "mesa", "numpy", "pandas", "networkx", "pydantic", "pyarrow"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    for name in ("solara", "playwright"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def git_state() -> str:
    """The commit the code is at, and whether the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": cpu_model(),
        "cores": cores,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "versions": versions(),
        "code": git_state(),
    }


def _burn(seconds: float, out: Any) -> None:
    """Pure-Python work for ``seconds`` of wall time; puts the iterations done in ``out``."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        for _ in range(10_000):
            n += 1
    out.put(n)


def parallel_capacity(seconds: float = 1.5) -> float:
    """How much work two processes get done together, relative to one alone, right now: 2.0 on
    an idle two-core machine, less when other jobs hold cores. Bounds any 1 → 2 worker speed-up."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()

    def run(n: int) -> int:
        procs = [ctx.Process(target=_burn, args=(seconds, queue)) for _ in range(n)]
        for p in procs:
            p.start()
        done = sum(queue.get() for _ in procs)
        for p in procs:
            p.join()
        return done

    one = run(1)
    two = run(2)
    return two / one


# ---------------------------------------------------------------------------- memory


@dataclass
class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled every ``interval``
    seconds: ``rss`` sums resident set sizes (pages a forked worker shares with its parent
    count once per process: an upper bound); ``pss`` shares them out (proportional set size,
    from /proc/PID/smaps_rollup: what the processes really occupy together)."""

    pid: int
    interval: float = 0.05
    peak_rss: int = 0
    peak_pss: int = 0
    peak_processes: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss = pss = 0
        for p in procs:
            with contextlib.suppress(psutil.Error, OSError):
                rss += p.memory_info().rss
                pss += _pss(p.pid)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_processes = max(self.peak_processes, len(procs))
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    @contextlib.contextmanager
    def watching(self) -> Iterator[TreeMemory]:
        thread = threading.Thread(target=self._loop, name="tree-memory", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def to_json(self) -> dict[str, Any]:
        return {
            "peak_rss_mb": round(self.peak_rss / 2**20, 1),
            "peak_pss_mb": round(self.peak_pss / 2**20, 1),
            "peak_processes": self.peak_processes,
            "samples": self.samples,
        }


def _pss(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return psutil.Process(pid).memory_info().rss
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def run_watched(
    argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run a command to its end, watching the memory of its process tree; wall time, exit code,
    peak memory, and the tail of its output."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    memory = TreeMemory(proc.pid)
    with memory.watching():
        output, _ = proc.communicate()
    wall = time.perf_counter() - start
    return {
        "argv": list(argv),
        "returncode": proc.returncode,
        "wall_s": wall,
        "memory": memory.to_json(),
        "output_tail": output[-2000:],
    }


def corridors_cli() -> str:
    """The ``corridors`` command of the interpreter running the benchmarks."""
    import sys

    candidate = Path(sys.executable).with_name("corridors")
    return str(candidate) if candidate.exists() else "corridors"
