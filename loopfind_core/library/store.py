"""The feature store: :func:`build_index` extracts and keeps the features of a folder of audio.

``build_index(folder, out)`` extracts the features of every audio file under ``folder`` into
``out/features/<content sha256>.npy`` (float16), lists them in ``out/index.sqlite``
(:mod:`loopfind_core.library.database`), then brings the faiss vector index up to date
(:mod:`loopfind_core.library.vector_index`). It is

- incremental: a file whose size and modification time are unchanged is not read again, a
  changed file is re-hashed (and re-extracted only if its content changed), a deleted file
  leaves the index; the vector index adds and removes only what changed;
- parallel, on one machine or many: extraction runs on an engine
  (:mod:`loopfind_core.library.engine`: ``local`` processes or a ``dask`` cluster) while the
  database writes stay here, in path order, so every engine and worker count gives the same
  index (the same track ids, rows, feature files and vector index);
- self-repairing: a feature file that is missing, truncated or overwritten (checked against
  the size and checksum recorded when it was written, :mod:`loopfind_core.library.feature_files`)
  is extracted again, named in :attr:`IndexReport.repaired`, and the vector index rebuilt;
- resumable: each finished file's row is committed as soon as every file before it (by path)
  is, and feature files are written under a temporary name and renamed, so an interrupted run
  loses at most the files in flight and the next run goes on from there;
- safe with two indexers at once: a run holds the index's lock
  (:func:`~loopfind_core.library.database.index_lock`); a second run waits, then finds the
  work done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loopfind_core.base.errors import DatasetError, LoopfindError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
from loopfind_core.library import feature_files
from loopfind_core.library.database import (
    FEATURES_FOLDER,
    FeatureFileRow,
    TrackRow,
    connect,
    create,
    delete_tracks,
    delete_unused_feature_files,
    feature_path,
    folder_settings,
    index_lock,
    put_feature_file,
    put_track,
    read_feature_files,
    read_settings,
    read_tracks,
    transaction,
    write_settings,
)
from loopfind_core.library.engine import extract_all
from loopfind_core.library.manifest import open_index
from loopfind_core.library.vector_index import VectorIndexReport, update_vector_index


@dataclass(frozen=True)
class IndexReport:
    added: int  # files extracted this run (new or changed)
    unchanged: int
    removed: int
    failed: tuple[str, ...]  # "name: reason" of files that could not be read
    seconds: float  # wall time of the whole run, the vector index included
    audio_hours: float  # total duration of the indexed tracks
    vectors: VectorIndexReport | None = None  # the faiss update, when anything changed
    added_hours: float = 0.0  # duration of the files extracted this run
    extract_seconds: float = 0.0  # wall time of their extraction (engine start included)
    engine: str = "local"
    repaired: tuple[str, ...] = ()  # "name: what was wrong" of damaged feature files redone


def _open_for_writing(out: Path, folder: Path, kind: str, whiten: float | None) -> None:
    """Create ``out``'s database (or migrate an old index) and record where the tracks are;
    refuse an index of another kind or whitening."""
    open_index(out)
    create(out, {"kind": kind, "whiten": whiten})
    with connect(out) as connection, transaction(connection):
        settings = read_settings(connection)
        if settings.get("kind") != kind or settings.get("whiten") != whiten:
            raise DatasetError(
                f"{out} holds {settings.get('kind')} features (whiten "
                f"{settings.get('whiten')}); asked for {kind} (whiten {whiten}). Index into a "
                f"new folder.")
        write_settings(connection, folder_settings(folder, out))


def _remove_stale_features(out: Path) -> None:
    """Delete feature files no row refers to (and partial ones an interrupted run left)."""
    with connect(out) as connection:
        referenced = {f"{h}.npy" for (h,) in connection.execute("SELECT hash FROM tracks")}
        with transaction(connection):
            delete_unused_feature_files(connection)
    for stale in (out / FEATURES_FOLDER).glob("*.npy"):
        if stale.name not in referenced:
            stale.unlink(missing_ok=True)


def build_index(
    folder: str | Path, out: str | Path, kind: str = "learned",
    whiten: float | None = DEFAULT_WHITENING_SHRINKAGE, jobs: int = 0,
    progress: ProgressCallback = no_progress, engine: str = "local", address: str | None = None,
) -> IndexReport:
    """Index every audio file under ``folder`` into ``out`` (see the module docstring) with
    ``engine`` (``local`` or ``dask``) on ``jobs`` worker processes (0: one per core), or on
    the Dask cluster at ``address``."""
    from loopfind_core.base.audio import audio_files

    started = time.perf_counter()
    folder, out = Path(folder), Path(out)
    files = audio_files([folder])
    (out / FEATURES_FOLDER).mkdir(parents=True, exist_ok=True)
    with index_lock(out):
        _open_for_writing(out, folder, kind, whiten)
        names = {p.relative_to(folder).as_posix(): p for p in files}
        with connect(out) as connection:
            with transaction(connection):
                rows = {row.path: row for row in read_tracks(connection)}
                removed = sorted(name for name in rows if name not in names)
                delete_tracks(connection, removed)
                recorded = read_feature_files(connection)
            unchanged = {name for name in names if _unchanged(rows.get(name), names[name])}
            damaged = _check_features(connection, out, [rows[n] for n in sorted(unchanged)],
                                      recorded)
            unchanged -= {name for name, _ in damaged}
            repaired = [f"{name}: features {what}" for name, what in damaged]
            todo = [name for name in sorted(names) if name not in unchanged]
            extracted = time.perf_counter()
            failed, added_s = _extract_and_commit(connection, todo, names, kind, whiten, out,
                                                  engine, jobs, address, progress)
            extracted = time.perf_counter() - extracted
            with transaction(connection, write=False):
                tracks, seconds = connection.execute(
                    "SELECT count(*), total(duration_s) FROM tracks").fetchone()
        _remove_stale_features(out)
        vectors = None
        if tracks:
            progress(len(todo), len(todo), "vector index")
            vectors = update_vector_index(out, rebuild=bool(repaired))  # blocks of bad features
    return IndexReport(
        added=len(todo) - len(failed), unchanged=len(names) - len(todo), removed=len(removed),
        failed=tuple(failed), seconds=time.perf_counter() - started,
        audio_hours=seconds / 3600, vectors=vectors, added_hours=added_s / 3600,
        extract_seconds=extracted if todo else 0.0, engine=engine, repaired=tuple(repaired))


def _unchanged(row: TrackRow | None, path: Path) -> bool:
    """Whether the audio file at ``path`` is the one ``row`` indexed (same size and time)."""
    if row is None:
        return False
    stat = path.stat()
    return row.size == stat.st_size and row.mtime_ns == stat.st_mtime_ns


def _check_features(connection, out: Path, rows: list[TrackRow],
                    recorded: dict[str, FeatureFileRow]) -> list[tuple[str, str]]:
    """Check the feature files of ``rows`` (:func:`~.feature_files.problem`): delete each
    damaged one (it is extracted again) and return (name, what was wrong); record the intact
    ones not recorded as they are (an index made before the records, or a file copied)."""
    repaired, fresh = [], []
    for row in rows:
        found = feature_files.problem(out, row, recorded.get(row.hash))
        if found is not None:
            feature_path(out, row.hash).unlink(missing_ok=True)
            repaired.append((row.path, found))
        elif (known := recorded.get(row.hash)) is None \
                or known.mtime_ns != feature_path(out, row.hash).stat().st_mtime_ns:
            fresh.append(feature_files.record(out, row.hash))
    with transaction(connection):
        for record in fresh:
            put_feature_file(connection, record)
    return repaired


def _extract_and_commit(connection, todo: list[str], names: dict[str, Path], kind: str,
                        whiten: float | None, out: Path, engine: str, jobs: int,
                        address: str | None, progress: ProgressCallback
                        ) -> tuple[list[str], float]:
    """Extract ``todo`` on the engine; commit each result once every earlier one (by path) is
    committed, so track ids follow path order whatever finished first. The failures
    ("name: reason") and the seconds of audio added."""
    failed: list[str] = []
    finished: dict[str, dict | LoopfindError] = {}
    next_commit, added_s = 0, 0.0
    progress(0, len(todo), "indexing")
    outcomes = extract_all([(name, str(names[name])) for name in todo], kind, whiten,
                           out / FEATURES_FOLDER, engine, jobs, address)
    for done, (name, outcome) in enumerate(outcomes, start=1):
        finished[name] = outcome
        ready = []
        while next_commit < len(todo) and todo[next_commit] in finished:
            ready.append(todo[next_commit])
            next_commit += 1
        if ready:
            with transaction(connection):
                for ready_name in ready:
                    result = finished.pop(ready_name)
                    if isinstance(result, LoopfindError):
                        # unreadable now: its old row (if any) no longer describes the file
                        delete_tracks(connection, [ready_name])
                        failed.append(f"{ready_name}: {result}")
                    else:
                        put_track(connection, ready_name, result)
                        put_feature_file(connection, feature_files.record(out, result["hash"]))
                        added_s += result["duration_s"]
        progress(done, len(todo), name)
    return failed, added_s


def add_feature_tracks(out: str | Path, tracks: list[tuple[str, np.ndarray, float]]) -> None:
    """Add tracks made at the feature level (``(name, values (n_frames, n_dims), duration_s)``,
    no audio: size and modification time 0) to the existing index ``out``, for experiments at
    library scale; the vector index is not updated (call
    :func:`~loopfind_core.library.vector_index.update_vector_index`). An ``index`` run of the
    folder removes them again."""
    import hashlib
    import os

    out = Path(out)
    with index_lock(out), connect(open_index(out)) as connection:
        records = []
        for name, values, duration_s in tracks:
            stored = np.ascontiguousarray(values, dtype=np.float16)
            digest = hashlib.sha256(stored.tobytes()).hexdigest()
            target = feature_path(out, digest)
            partial = target.with_name(f"{digest}.{os.getpid()}.partial.npy")
            np.save(partial, stored)
            os.replace(partial, target)
            records.append((name, {"hash": digest, "size": 0, "mtime_ns": 0,
                                   "frames": len(stored), "duration_s": duration_s}))
        with transaction(connection):
            for name, record in records:
                put_track(connection, name, record)
                put_feature_file(connection, feature_files.record(out, record["hash"]))
