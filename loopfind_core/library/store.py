"""The feature store: :func:`build_index` extracts and keeps the features of a folder of audio.

``build_index(folder, out)`` extracts the features of every audio file under ``folder`` into
``out/features/<content sha256>.npy`` (float16) and lists them in ``out/index.json``
(:mod:`loopfind_core.library.manifest`), then (re)builds the faiss vector index
(:mod:`loopfind_core.library.vector_index`). It is

- incremental: a file whose size and modification time are unchanged is not read again, a
  changed file is re-hashed (and re-extracted only if its content changed), a deleted file
  leaves the index;
- parallel: files are processed in ``jobs`` worker processes (spawned, so torch never runs in
  a forked copy of a process that used it);
- resumable: the manifest is rewritten (atomically) after every file, and feature files are
  written under a temporary name and renamed, so an interrupted run loses at most the files in
  flight and the next run goes on from there.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
from loopfind_core.library.manifest import FEATURES_FOLDER, _read_manifest, _write_manifest
from loopfind_core.library.vector_index import (
    VectorIndexReport,
    build_vector_index,
    vectors_are_current,
)


@dataclass(frozen=True)
class IndexReport:
    added: int  # files extracted this run (new or changed)
    unchanged: int
    removed: int
    failed: tuple[str, ...]  # "name: reason" of files that could not be read
    seconds: float  # wall time of the whole run, the vector index included
    audio_hours: float  # total duration of the indexed tracks
    vectors: VectorIndexReport | None = None  # the faiss index, when there is anything to index


def _extract(path: str, kind: str, whiten: float | None, features_dir: str) -> dict:
    """Worker: decode one file, extract and store its features; its manifest record."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.features.registry import extract_features

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


def build_index(
    folder: str | Path, out: str | Path, kind: str = "learned",
    whiten: float | None = DEFAULT_WHITENING_SHRINKAGE, jobs: int = 0,
    progress: ProgressCallback = no_progress,
) -> IndexReport:
    """Index every audio file under ``folder`` into ``out`` (see the module docstring)."""
    from loopfind_core.base.audio import audio_files

    started = time.perf_counter()
    folder, out = Path(folder), Path(out)
    files = audio_files([folder])
    (out / FEATURES_FOLDER).mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out, kind, whiten)
    manifest["folder"] = str(folder.resolve())  # where the tracks' audio is, for listening
    tracks: dict = manifest["tracks"]
    names = {p.relative_to(folder).as_posix(): p for p in files}
    removed = [name for name in tracks if name not in names]
    for name in removed:
        del tracks[name]
    todo = []
    for name, path in names.items():
        record, stat = tracks.get(name), path.stat()
        if (record and record["size"] == stat.st_size and record["mtime_ns"] == stat.st_mtime_ns
                and (out / FEATURES_FOLDER / f"{record['hash']}.npy").is_file()):
            continue
        todo.append(name)
    unchanged = len(names) - len(todo)
    failed: list[str] = []
    workers = min(len(todo), jobs or os.cpu_count() or 1)
    progress(0, len(todo), "indexing")
    if todo:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max(1, workers), mp_context=context) as pool:
            futures = {pool.submit(_extract, str(names[n]), kind, whiten,
                                   str(out / FEATURES_FOLDER)): n for n in todo}
            for done, future in enumerate(as_completed(futures), start=1):
                name = futures[future]
                try:
                    tracks[name] = future.result()
                except LoopfindError as error:
                    failed.append(f"{name}: {error}")
                _write_manifest(out, manifest)  # resumable after every file
                progress(done, len(todo), name)
    _write_manifest(out, manifest)
    referenced = {f"{r['hash']}.npy" for r in tracks.values()}
    for stale in (out / FEATURES_FOLDER).glob("*.npy"):
        if stale.name not in referenced:
            stale.unlink()
    vectors = None
    if tracks and not vectors_are_current(out):
        progress(len(todo), len(todo), "vector index")
        vectors = build_vector_index(out)
    return IndexReport(
        added=len(todo) - len(failed), unchanged=unchanged, removed=len(removed),
        failed=tuple(failed), seconds=time.perf_counter() - started,
        audio_hours=sum(r["duration_s"] for r in tracks.values()) / 3600, vectors=vectors,
    )
