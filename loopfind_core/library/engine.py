"""Where an index run's feature extraction runs: the engines of ``index --engine``.

Both engines run :func:`extract_track` on each file (decode → features → write
``features/<content sha256>.npy``, which is idempotent: the same content gives the same file)
and hand back its record; the database writes stay in the calling process
(:func:`loopfind_core.library.store.build_index`), so the index is the same whichever engine
made it.

- ``local``: a process pool on this machine (spawned processes, so torch never runs in a forked
  copy of a process that used it), each with its share of the cores for torch;
- ``dask``: Dask distributed (docs/scale.md says why Dask rather than Ray). With no address,
  a local cluster of ``workers`` single-threaded worker processes (spawned, by Dask's default)
  is started and closed again; with ``address`` (``tcp://host:8786``), the run joins that
  scheduler's workers, which must see the audio folder and the index folder at the same paths
  (a shared file system) and have Loopfind installed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from loopfind_core.base.errors import ConfigurationError, LoopfindError
from loopfind_core.base.worker import children_skip_the_main_script

ENGINES = ("local", "dask")
WORKER_WAIT_S = 120.0  # how long a run waits for a joined Dask cluster's first worker

Outcome = tuple[str, "dict | LoopfindError"]  # (name, its record, or why it failed)


def extract_track(path: str, kind: str, whiten: float | None, features_dir: str) -> dict:
    """Decode one file, extract and store its features; its database record (``hash``,
    ``size``, ``mtime_ns``, ``frames``, ``duration_s``). Runs single-threaded (see
    :func:`_one_thread`): one worker process per core is how an engine uses a machine.

    Raises:
        LoopfindError: the file cannot be decoded or is unfit."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.features.registry import extract_features

    _one_thread()
    audio = load_audio(path)
    track = extract_features(audio, kind, whiten=whiten)
    target = Path(features_dir) / f"{audio.content_hash}.npy"
    if not target.is_file():
        partial = target.with_name(f"{target.stem}.{os.getpid()}.partial.npy")
        np.save(partial, track.values.astype(np.float16))
        os.replace(partial, target)
    stat = Path(path).stat()
    return {"hash": audio.content_hash, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "frames": track.n_frames, "duration_s": round(audio.duration_s, 3)}


def _one_thread() -> None:
    """This worker process computes on one thread: the BLAS libraries under numpy and scipy,
    and torch (now if it is imported, else when it is: it reads ``OMP_NUM_THREADS`` then; the
    kinds without a network never import it). Workers never compete for cores, and the
    features are the same bits whatever the engine or the number of workers (a BLAS on more
    threads sums in another order: the last bit of a few values differs)."""
    from threadpoolctl import threadpool_limits

    os.environ["OMP_NUM_THREADS"] = "1"
    threadpool_limits(1)
    if "torch" in sys.modules and sys.modules["torch"].get_num_threads() != 1:
        sys.modules["torch"].set_num_threads(1)


def _run_local(files: Sequence[tuple[str, str]], args: tuple, workers: int) -> Iterator[Outcome]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = max(1, min(len(files), workers or os.cpu_count() or 1))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        with children_skip_the_main_script():  # the processes start in submit()
            futures = {pool.submit(extract_track, path, *args): name for name, path in files}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except LoopfindError as error:
                yield futures[future], error


def _run_dask(files: Sequence[tuple[str, str]], args: tuple, workers: int,
              address: str | None) -> Iterator[Outcome]:
    import logging

    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as error:  # pragma: no cover - a dependency
        raise ConfigurationError("The dask engine needs `dask[distributed]` "
                                 "(pip install -r requirements.txt).") from error
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=max(1, workers or os.cpu_count() or 1),
                               threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
    try:
        try:
            client = Client(cluster if cluster is not None else address)
        except OSError as error:
            raise ConfigurationError(f"Cannot reach the Dask scheduler at {address} "
                                     f"({error}).") from error
        with client:
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT_S)
            except TimeoutError as error:
                raise ConfigurationError(f"The Dask scheduler at {address} has had no worker "
                                         f"for {WORKER_WAIT_S:.0f} s.") from error
            futures = {client.submit(extract_track, path, *args, pure=False): name
                       for name, path in files}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except LoopfindError as error:
                    yield futures[future], error
                finally:
                    future.release()
    finally:
        if cluster is not None:
            cluster.close()


def extract_all(files: Sequence[tuple[str, str]], kind: str, whiten: float | None,
                features_dir: Path, engine: str = "local", workers: int = 0,
                address: str | None = None) -> Iterator[Outcome]:
    """Run :func:`extract_track` on every (name, path) of ``files`` with ``engine``; yield
    each name with its record or its error, in the order they finish. ``workers``: processes
    (0: one per core); ``address``: the Dask scheduler to join (dask only).

    Raises:
        ConfigurationError: an unknown engine, or an address for the local engine."""
    if engine not in ENGINES:
        raise ConfigurationError(f"Unknown engine {engine!r}; choose one of "
                                 f"{', '.join(ENGINES)}.")
    if address is not None and engine != "dask":
        raise ConfigurationError("A scheduler address needs the dask engine (--engine dask).")
    if not files:
        return iter(())
    files = [(name, str(Path(path).resolve())) for name, path in files]  # any worker's cwd
    args = (kind, whiten, str(Path(features_dir).resolve()))
    if engine == "dask":
        return _run_dask(files, args, workers, address)
    return _run_local(files, args, workers)
