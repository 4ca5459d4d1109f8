"""The supervised worker processes (loopfind_core/base/worker.py): results and errors come
back; a worker killed by SIGSEGV costs its one job an AnalysisCrashError, the job on the other
worker finishes, and a new worker takes the dead one's place."""

from __future__ import annotations

import os
import threading

import pytest

from loopfind_core.base.errors import AnalysisCrashError, LoopfindError, SelectionError
from loopfind_core.base.worker import CRASH_TEST_ENV, AnalysisWorkers
from testkit import worker_jobs

CRASHING_TRACK = "crash-me.wav"


@pytest.fixture(scope="module")
def workers():
    previous = os.environ.get(CRASH_TEST_ENV)
    os.environ[CRASH_TEST_ENV] = CRASHING_TRACK  # inherited by the workers, spawned now
    pool = AnalysisWorkers(2)
    yield pool
    pool.close()
    if previous is None:
        os.environ.pop(CRASH_TEST_ENV, None)
    else:
        os.environ[CRASH_TEST_ENV] = previous


def test_a_job_runs_in_another_process_and_its_result_comes_back(workers):
    assert workers.run("a track", worker_jobs.worker_pid) != os.getpid()


def test_a_users_error_comes_back_as_itself(workers):
    with pytest.raises(SelectionError, match="too short"):
        workers.run("a track", worker_jobs.refuse, "too short")


def test_progress_reaches_the_caller_in_order(workers):
    heard = []
    result = workers.run("a track", worker_jobs.count_with_progress, 5,
                         progress=lambda done, total, message: heard.append((done, total)))
    assert result == 5
    assert heard == [(done, 5) for done in range(1, 6)]


def test_a_crash_costs_one_job_and_the_other_worker_goes_on(workers):
    crashes_before = workers.crashes
    survivor: dict[str, object] = {}

    def long_job() -> None:
        try:
            survivor["pid"] = workers.run("another track", worker_jobs.sleep_then_pid, 3.0)
        except LoopfindError as error:  # noqa: BLE001 — recorded, asserted below
            survivor["error"] = error

    thread = threading.Thread(target=long_job)
    thread.start()
    while workers.idle_workers != 1:  # the long job holds one worker
        threading.Event().wait(0.01)
    with pytest.raises(AnalysisCrashError) as crash:
        workers.run(CRASHING_TRACK, worker_jobs.worker_pid)
    thread.join()

    assert "error" not in survivor and isinstance(survivor["pid"], int)
    message = str(crash.value)
    assert CRASHING_TRACK in message and "Retry" in message
    assert "Traceback" not in message and "/" not in message.replace(CRASHING_TRACK, "")
    assert workers.crashes == crashes_before + 1
    # a new worker took the dead one's place: both answer again
    pids = {workers.run("a track", worker_jobs.sleep_then_pid, 0.5) for _ in range(2)}
    assert all(isinstance(pid, int) and pid != os.getpid() for pid in pids)
