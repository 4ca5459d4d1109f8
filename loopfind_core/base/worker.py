"""Analysis in supervised worker processes, so one native crash costs one answer, not a server.

Decoding, features, beats, discovery and library builds run native code (libsndfile, FFT,
numba kernels, torch, faiss) that can die with a segmentation fault or be killed for memory.
:class:`AnalysisWorkers` runs such a job in one of a few worker processes (started with
``spawn``: a fresh interpreter, never a fork of the threaded server) and hands back its result;
the caller's objects (sessions, answers) stay in the caller's process.

Each worker is its own single-process pool, and a job has a worker to itself, so a worker that
dies takes only the job it was running: its caller gets :class:`AnalysisCrashError` (a
sentence for users, no path, no traceback), a new worker is started in its place at once, and
jobs on the other workers go on. A new worker first loads librosa's compiled kernels
(:func:`~loopfind_core.base.compile_cache.ensure_compiled`), before its first job arrives.

For tests only: with ``$LOOPFIND_TEST_CRASH_ON`` set, a worker given a job about the track of
that name kills itself with SIGSEGV before running it (the crash the browser test provokes).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from loopfind_core.base.errors import AnalysisCrashError
from loopfind_core.base.memory import MALLOC_TRIM
from loopfind_core.base.progress import ProgressCallback

CRASH_TEST_ENV = "LOOPFIND_TEST_CRASH_ON"  # tests: the track name whose jobs crash the worker
PROGRESS_POLL_S = 0.2  # how often a waiting caller passes on a job's progress
Result = TypeVar("Result")
_LOG = logging.getLogger("loopfind.worker")

_progress_queue: Any = None  # in a worker process: where a job's progress goes


def _start_worker(progress_queue: Any) -> None:
    """A new worker process's initializer: keep its progress queue."""
    global _progress_queue
    _progress_queue = progress_queue


def _prepare_worker() -> int:
    """The first job of every worker: librosa's kernels loaded (or compiled, under the
    compile cache's lock) before a visitor's job arrives. Returns the worker's process id."""
    from loopfind_core.base.compile_cache import ensure_compiled

    ensure_compiled()
    return os.getpid()


@contextmanager
def children_skip_the_main_script() -> Iterator[None]:
    """While a worker is being started: a bare ``__main__``, so the spawned interpreter does
    not run the parent's main script (Streamlit makes ``app.py`` the ``__main__`` module while
    it runs a page; spawn would run the whole app again in the worker)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")  # no __file__, no __spec__
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _report_progress(done: int, total: int, message: str) -> None:
    _progress_queue.put((done, total, message))


def _run_job(track: str, function: Callable[..., Result], args: tuple, kwargs: dict,
             with_progress: bool) -> Result:
    """In the worker: run ``function(*args, **kwargs)`` (with ``progress=`` when asked)."""
    if track and os.environ.get(CRASH_TEST_ENV) == track:
        os.kill(os.getpid(), signal.SIGSEGV)  # the test hook: a native crash, as it happens
    if with_progress:
        kwargs = {**kwargs, "progress": _report_progress}
    try:
        return function(*args, **kwargs)
    finally:  # what the job freed (a decoded track, its frames) goes back to the OS
        if MALLOC_TRIM is not None:
            MALLOC_TRIM(0)


class AnalysisWorkers:
    """``n_workers`` supervised worker processes; :meth:`run` runs one job on a free one.

    Thread-safe: every session of a server shares one instance. A job waits for a free worker
    when all are busy."""

    def __init__(self, n_workers: int = 2) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers must be at least 1, not {n_workers}")
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._pools: list[ProcessPoolExecutor | None] = [None] * n_workers
        self._progress: list[Any] = [None] * n_workers  # each worker's progress queue
        self._free: queue.Queue[int] = queue.Queue()
        self.crashes = 0  # jobs lost to a dead worker since the start (for the logs and tests)
        for slot in range(n_workers):
            self._ensure_started(slot)
            self._free.put(slot)

    @property
    def n_workers(self) -> int:
        return len(self._pools)

    @property
    def idle_workers(self) -> int:
        """How many workers have no job now."""
        return self._free.qsize()

    def _ensure_started(self, slot: int) -> ProcessPoolExecutor:
        """The worker of ``slot``, started (and sent its first job) if it is not running."""
        with self._lock:
            pool = self._pools[slot]
            if pool is None:
                self._progress[slot] = self._context.Queue()  # never one a dead worker held
                pool = ProcessPoolExecutor(1, mp_context=self._context,
                                           initializer=_start_worker,
                                           initargs=(self._progress[slot],))
                with children_skip_the_main_script():  # the process starts in submit()
                    pool.submit(_prepare_worker)  # now; jobs queue behind this first one
                self._pools[slot] = pool
            return pool

    def _retire(self, slot: int, pool: ProcessPoolExecutor) -> None:
        """Forget ``slot``'s dead worker (once, whoever notices first)."""
        with self._lock:
            if self._pools[slot] is not pool:
                return
            self._pools[slot] = None
        pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, slot: int, *job: Any) -> tuple[ProcessPoolExecutor, Future]:
        """Submit to ``slot``'s worker; a worker found dead while idle is replaced first."""
        for _ in range(2):
            pool = self._ensure_started(slot)
            try:
                return pool, pool.submit(_run_job, *job)
            except BrokenProcessPool:  # it died before this job (e.g. while starting)
                self._retire(slot, pool)
        raise AnalysisCrashError()

    def run(self, track: str, function: Callable[..., Result], *args: Any,
            progress: ProgressCallback | None = None, **kwargs: Any) -> Result:
        """``function(*args, **kwargs)`` computed in a worker process; its result (pickled
        back) or the exception it raised. ``function`` must be importable (a module-level
        function); ``track`` names what it analyses, for the message if the worker dies.
        ``progress``: called here, in the caller's thread, with the ``(done, total, message)``
        the job reports through the ``progress=`` keyword it is then given.

        Raises:
            AnalysisCrashError: the worker died running it (a new one is started)."""
        slot = self._free.get()
        try:
            pool, future = self._submit(slot, track, function, args, kwargs,
                                        progress is not None)
        except BaseException:
            self._free.put(slot)
            raise
        # the worker is free again when the job ends, even if the caller stops waiting
        future.add_done_callback(lambda done: self._release(slot, pool, done))
        try:
            return self._wait(future, slot, progress)
        except BrokenProcessPool as error:
            with self._lock:
                self.crashes += 1
            _LOG.warning("an analysis worker died running a job on %r; starting a new one",
                         track)
            self._retire(slot, pool)
            self._ensure_started(slot)
            raise AnalysisCrashError(f"“{track}”" if track else "the track") from error

    def _release(self, slot: int, pool: ProcessPoolExecutor, done: Future) -> None:
        if not done.cancelled() and isinstance(done.exception(), BrokenProcessPool):
            with self._lock:  # the next job on this slot starts a new worker
                if self._pools[slot] is pool:
                    self._pools[slot] = None
        self._free.put(slot)

    def _wait(self, future: Future, slot: int, progress: ProgressCallback | None) -> Any:
        if progress is not None:
            while not future.done():
                wait([future], timeout=PROGRESS_POLL_S)
                self._pass_on_progress(slot, progress)
            self._pass_on_progress(slot, progress)
        return future.result()

    def _pass_on_progress(self, slot: int, progress: ProgressCallback) -> None:
        while True:
            try:
                done, total, message = self._progress[slot].get_nowait()
            except queue.Empty:
                return
            progress(done, total, message)

    def close(self) -> None:
        """Stop every worker (the jobs running are cancelled)."""
        with self._lock:
            pools, self._pools = self._pools, [None] * len(self._pools)
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
