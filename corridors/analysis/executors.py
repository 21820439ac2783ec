"""Where sweep chunks run: in this process, in a local process pool, or on Dask workers.

The runner only sees a :class:`concurrent.futures.Executor`, so the same code path serves a
laptop and a cluster.

The local pool forks its workers on Linux (they inherit the imported model: no start-up cost),
and forks them all at once when the pool opens, before the sweep starts threads of its own (the
progress bar, the pool's manager thread, Arrow's I/O pool). Forking is unsafe when another thread
may hold a lock the child needs; at that moment the only other threads are the idle native pools
of OpenBLAS and jemalloc, which register fork handlers. When other Python threads are alive (an
app or a Dask client in this process) the pool uses a *forkserver* instead, preloading Corridors;
elsewhere (macOS, Windows) the platform default.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from corridors.scenarios import Problem, ScenarioError
from corridors.scenarios.yamlsafe import Where

PRELOAD = ["corridors.analysis.sweep"]
"""Modules the forkserver imports once, so each worker starts with them loaded."""


class ExecutorError(ScenarioError):
    """An executor cannot be set up (Dask missing, scheduler unreachable, bad option)."""


def _fail(option: str, message: str) -> ExecutorError:
    return ExecutorError([Problem(Where(option), "", message)])


class SerialExecutor(Executor):
    """Runs each task in the calling process when it is submitted (``--workers 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


@dataclass
class ExecutorInfo:
    """What runs the chunks: ``kind`` (serial, processes, dask), how many run at once."""

    kind: str
    workers: int
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "serial":
            return "serial (this process)"
        return f"{self.kind}, {self.workers} worker{'s' * (self.workers != 1)}" + (
            f" ({self.detail})" if self.detail else ""
        )


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def start_method(fresh: bool = False) -> str | None:
    """``fork`` on Linux while this process runs no other Python thread (and is not starting a
    pool anew mid-sweep, when Arrow's threads run), else ``forkserver`` where it exists, else
    the platform default (None); ``CORRIDORS_START_METHOD`` overrides."""
    chosen = os.environ.get("CORRIDORS_START_METHOD")
    if chosen:
        return chosen
    if sys.platform == "linux" and threading.active_count() == 1 and not fresh:
        return "fork"
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else None


def mp_context(fresh: bool = False) -> mp.context.BaseContext:
    """The multiprocessing context of the local pool (see :func:`start_method`)."""
    method = start_method(fresh)
    if method is not None and method not in mp.get_all_start_methods():
        known = ", ".join(mp.get_all_start_methods())
        raise _fail(
            "CORRIDORS_START_METHOD", f"'{method}' is not a start method here (one of {known})"
        )
    ctx = mp.get_context(method)
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _worker_init() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops the sweep cleanly, and exit when the
    parent dies (killed, say): they would otherwise wait for work forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="corridors-parent-watch", daemon=True).start()


def stop_workers(executor: Executor) -> None:
    """Stop a process pool's workers now (after Ctrl-C: their chunks are abandoned)."""
    terminate = getattr(executor, "terminate_workers", None)  # Python >= 3.14
    if callable(terminate):
        terminate()
        return
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def check_dask_address(address: str | None) -> None:
    """``local``, or something that looks like a scheduler address."""
    if address and address != "local" and "://" not in address and ":" not in address:
        raise _fail(
            "--dask", f"'{address}' is neither 'local' nor a scheduler address like tcp://host:8786"
        )


@contextmanager
def open_executor(
    workers: int | None = None, dask: str | None = None, fresh: bool = False
) -> Iterator[tuple[Executor, ExecutorInfo]]:
    """An executor for sweep chunks, closed on exit. ``dask``: ``"local"`` starts an embedded
    LocalCluster of ``workers`` processes; an address (``tcp://host:8786``) joins a scheduler.
    ``fresh``: a pool started anew mid-sweep (never forked from a process running threads)."""
    if workers is not None and workers < 1:
        raise _fail("--workers", f"must be at least 1, got {workers}")
    if dask:
        with _dask_executor(workers, dask) as pair:
            yield pair
        return
    n = workers or default_workers()
    if n == 1:
        yield SerialExecutor(), ExecutorInfo("serial", 1)
        return
    ctx = mp_context(fresh)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init)
    if ctx.get_start_method() == "fork":
        # Fork every worker now, while this process runs no thread of its own (see above);
        # CPython's warning counts the idle native BLAS/jemalloc threads too.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r".*multi-threaded, use of fork\(\)", category=DeprecationWarning
            )
            pool.submit(int).result()
    try:
        yield pool, ExecutorInfo("processes", n, ctx.get_start_method())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _dask_executor(workers: int | None, address: str) -> Iterator[tuple[Executor, ExecutorInfo]]:
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise _fail(
            "--dask",
            "Dask is not installed; install the extra: pip install 'corridors[dask]'",
        ) from None
    cluster = None
    if address == "local":
        n = workers or default_workers()
        # No dashboard, and no HTTP listener at all: Dask starts one (on :8787) even when
        # asked for no dashboard, so give it no routes and a private port, then stop it.
        with dask.config.set(
            {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
        ):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            )
        client = Client(cluster)
        _stop_http(cluster, client)
        detail = "embedded LocalCluster"
    else:
        check_dask_address(address)
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            detail = " ".join(str(exc).split())
            raise _fail(
                "--dask", f"cannot reach the Dask scheduler at {address}: {detail}"
            ) from None
        detail = address
    try:
        n = len(client.scheduler_info().get("workers", {})) or (workers or 1)
        yield client.get_executor(pure=False), ExecutorInfo("dask", n, detail)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _stop_http(cluster: Any, client: Any) -> None:
    """Close the HTTP servers of an embedded cluster's scheduler and workers."""

    def stop(dask_worker: Any) -> None:
        server = getattr(dask_worker, "http_server", None)
        if server is not None:
            server.stop()

    server = getattr(cluster.scheduler, "http_server", None)
    if server is not None:
        cluster.scheduler.loop.add_callback(server.stop)
    client.run(stop)


def is_broken(exc: BaseException) -> bool:
    """The executor itself failed (a worker process died), not a chunk's code."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(exc, BrokenProcessPool) or type(exc).__name__ == "KilledWorker"


def describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
