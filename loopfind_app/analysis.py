"""Where the app's track analysis runs: the server's supervised worker processes.

Every decode (but the built-in demo's, a file Loopfind wrote), feature extraction, beat
tracking, spectrogram, discovery and library build of the app goes through :func:`analyse`,
which runs it in one of :data:`ANALYSIS_WORKERS` worker processes
(:class:`~loopfind_core.base.worker.AnalysisWorkers`) and returns its result here, where the
answers, sessions and caches stay. A worker that dies (a native crash, out of
memory) costs its one job an :class:`~loopfind_core.base.errors.AnalysisCrashError`, which the
page shows with a Retry button (:func:`say_crash`); the server and every other session go on,
and a new worker takes its place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from loopfind_core.base.errors import AnalysisCrashError
from loopfind_core.base.worker import AnalysisWorkers

ANALYSIS_WORKERS = 2  # processes: two analyses at once; a long library build blocks only one
Result = TypeVar("Result")


@st.cache_resource(show_spinner=False, on_release=AnalysisWorkers.close)
def workers() -> AnalysisWorkers:
    """The server's worker processes, started by the first session (each loads librosa's
    compiled kernels at once, from the compile cache ``./run`` warmed)."""
    return AnalysisWorkers(ANALYSIS_WORKERS)


def recycle_workers() -> None:
    """Stop the worker processes (called when the server has no session left: a worker's heap
    keeps what its past analyses used); the next :func:`analyse` starts fresh ones, which load
    the compiled kernels first."""
    workers.clear()  # on_release closes them; a job still running finishes first


def analyse(track: str, function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """``function(*args, **kwargs)`` run in a worker process; ``track`` names the track it
    analyses (for the message if the worker dies). ``progress=`` is passed on as in
    :meth:`AnalysisWorkers.run`.

    Raises:
        AnalysisCrashError: the worker died running it."""
    return workers().run(track, function, *args, **kwargs)


def say_crash(error: AnalysisCrashError, key: str) -> bool:
    """Show a crashed analysis's message and a Retry button (a rerun tries again); True when
    Retry was pressed."""
    st.error(str(error), icon=":material/error:")
    return st.button("Retry", icon=":material/refresh:", key=key)
