"""Jobs for the worker-process tests (tests/base/test_worker.py): module-level, so a spawned
worker can import them."""

from __future__ import annotations

import os
import time

from loopfind_core.base.errors import SelectionError
from loopfind_core.base.progress import ProgressCallback


def worker_pid() -> int:
    """The process id of the worker that runs this."""
    return os.getpid()


def count_with_progress(n: int, progress: ProgressCallback) -> int:
    """Report ``n`` steps of progress, then return ``n``."""
    for done in range(1, n + 1):
        progress(done, n, "counting")
    return n


def refuse(reason: str) -> None:
    """Raise the user's kind of error, as a job on a bad input does."""
    raise SelectionError(reason)


def sleep_then_pid(seconds: float) -> int:
    """Sleep ``seconds``, then return this worker's process id: a job that is still running
    when another worker dies."""
    time.sleep(seconds)
    return os.getpid()
