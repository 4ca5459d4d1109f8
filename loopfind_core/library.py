"""Library scale: an index of many tracks' features, and hunts across all of them at once.

``build_index(folder, out)`` extracts the features of every audio file under ``folder`` into
``out/features/<content sha256>.npy`` (float16) and lists them in ``out/index.json``. It is

- incremental: a file whose size and modification time are unchanged is not read again, a
  changed file is re-hashed (and re-extracted only if its content changed), a deleted file
  leaves the index;
- parallel: files are processed in ``jobs`` worker processes (spawned, so torch never runs in
  a forked copy of a process that used it);
- resumable: the manifest is rewritten (atomically) after every file, and feature files are
  written under a temporary name and renamed, so an interrupted run loses at most the files in
  flight and the next run goes on from there.

``open_library(out)`` loads every indexed track into one feature track, the tracks end to end,
with a mask of the window starts that would cross from one track into the next; a
:class:`~loopfind_core.session.RetrievalSession` on it (see :meth:`Library.session`) hunts the
whole library at once, and :meth:`Library.locate` maps a proposal back to (track, seconds).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DatasetError, LoopfindError, SelectionError
from .features import DEFAULT_WHITENING_SHRINKAGE, FRAME_RATE_HZ, FeatureTrack, frame_grid
from .progress import ProgressCallback, no_progress
from .vector_index import (
    DEFAULT_SHORTLIST_TRACKS,
    Shortlist,
    VectorIndexReport,
    build_vector_index,
    is_track,
    shortlist,
    track_values,
    vectors_are_current,
)

INDEX_FILE = "index.json"
INDEX_VERSION = 1
FEATURES_FOLDER = "features"


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
    from .audio import load_audio
    from .features import extract_features

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


def _read_manifest(out: Path, kind: str, whiten: float | None) -> dict:
    path = out / INDEX_FILE
    if not path.is_file():
        return {"version": INDEX_VERSION, "kind": kind, "whiten": whiten, "tracks": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is not a readable Loopfind index ({error}).") from error
    if manifest.get("version") != INDEX_VERSION:
        raise DatasetError(f"{path} has index version {manifest.get('version')!r}; this "
                           f"Loopfind reads version {INDEX_VERSION}. Index into a new folder.")
    if manifest.get("kind") != kind or manifest.get("whiten") != whiten:
        raise DatasetError(
            f"{path} holds {manifest.get('kind')} features (whiten {manifest.get('whiten')}); "
            f"asked for {kind} (whiten {whiten}). Index into a new folder."
        )
    return manifest


def _write_manifest(out: Path, manifest: dict) -> None:
    partial = out / f"{INDEX_FILE}.{os.getpid()}.partial"
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(partial, out / INDEX_FILE)


def build_index(
    folder: str | Path, out: str | Path, kind: str = "learned",
    whiten: float | None = DEFAULT_WHITENING_SHRINKAGE, jobs: int = 0,
    progress: ProgressCallback = no_progress,
) -> IndexReport:
    """Index every audio file under ``folder`` into ``out`` (see the module docstring)."""
    from .train import audio_files

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


@dataclass(frozen=True)
class LibraryTrack:
    name: str  # path relative to the indexed folder
    first_frame: int  # where the track starts in the library's feature track
    n_frames: int


@dataclass(frozen=True, eq=False)
class Library:
    """Every indexed track end to end, ready for one search."""

    features: FeatureTrack
    tracks: tuple[LibraryTrack, ...]
    kind: str
    whiten: float | None

    def track(self, name: str) -> LibraryTrack:
        for track in self.tracks:
            if is_track(track.name, name):
                return track
        raise SelectionError(f"{name!r} is not in the index.")

    def valid_starts(self, window_frames: int) -> np.ndarray:
        """True for window starts whose window lies inside one track."""
        n_starts = self.features.n_frames - window_frames + 1
        valid = np.zeros(n_starts, dtype=bool)
        for track in self.tracks:
            last = track.first_frame + track.n_frames - window_frames
            valid[track.first_frame : max(track.first_frame, last + 1)] = True
        return valid

    def locate(self, start_s: float) -> tuple[LibraryTrack, float]:
        """(track, seconds into it) of a time on the library's axis."""
        frame = self.features.seconds_to_frames(start_s)
        for track in self.tracks:
            if track.first_frame <= frame < track.first_frame + track.n_frames:
                return track, start_s - track.first_frame / self.features.frame_rate_hz
        raise SelectionError(f"{start_s:.2f} s lies outside the library.")

    def with_track(self, name: str, values: np.ndarray) -> Library:
        """This library with one more track (e.g. a query track that is not indexed) at the
        end; ``values`` must be features of the library's kind (n_frames, n_dims)."""
        if values.ndim != 2 or values.shape[1] != self.features.n_dims:
            raise SelectionError(f"{name!r} has features of shape {values.shape}; the library "
                                 f"has {self.features.n_dims} dimensions.")
        features = FeatureTrack(self.kind, np.vstack([self.features.values,
                                                      values.astype(np.float32)]),
                                self.features.frame_rate_hz)
        track = LibraryTrack(name, self.features.n_frames, len(values))
        return Library(features, (*self.tracks, track), self.kind, self.whiten)

    def session(self, track_name: str, t0: float, d: float, **options):
        """A hunt for the window [t0, t0 + d) s of ``track_name`` across every track."""
        from .session import RetrievalSession, query_window_frames

        track = self.track(track_name)
        # checks the query lies inside its track
        _, window_frames = query_window_frames(frame_grid(track.n_frames), t0, d)
        offset_s = track.first_frame / self.features.frame_rate_hz
        return RetrievalSession(self.features, offset_s + t0, d,
                                valid_starts=self.valid_starts(window_frames), **options)


def read_index_manifest(out: str | Path) -> dict:
    """The manifest of the index ``out`` (see :func:`build_index`).

    Raises:
        DatasetError: ``out`` holds no readable index with at least one track."""
    path = Path(out) / INDEX_FILE
    try:
        manifest = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is not a readable Loopfind index ({error}).") from error
    if not isinstance(manifest, dict) or not manifest.get("tracks"):
        raise DatasetError(f"{out} holds no Loopfind index (run `index` first).")
    return manifest


def open_library(out: str | Path, names: Sequence[str] | None = None) -> Library:
    """Load an index (every track, or only ``names``) as one :class:`Library`."""
    out = Path(out)
    manifest = read_index_manifest(out)
    pieces, tracks, first = [], [], 0
    for name in sorted(manifest["tracks"]):
        if names is not None and name not in names:
            continue
        values = np.load(out / FEATURES_FOLDER / f"{manifest['tracks'][name]['hash']}.npy")
        pieces.append(values.astype(np.float32))
        tracks.append(LibraryTrack(name, first, len(values)))
        first += len(values)
    features = FeatureTrack(manifest["kind"], np.ascontiguousarray(np.vstack(pieces)),
                            FRAME_RATE_HZ)
    return Library(features, tuple(tracks), manifest["kind"], manifest["whiten"])


def track_audio_path(out: str | Path, name: str) -> Path:
    """The audio file of the indexed track ``name`` (for listening to a candidate).

    Raises:
        DatasetError: the index does not say where its tracks are, or the file is gone."""
    manifest = read_index_manifest(out)
    if name not in manifest["tracks"] or not manifest.get("folder"):
        raise DatasetError(f"The index does not know where {name!r} is; run `index` again.")
    folder = Path(manifest["folder"])
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        raise DatasetError(f"{name!r} is no longer in {folder.name}; run `index` again.")
    return path


@dataclass(frozen=True)
class LibraryEvent:
    """One found occurrence in a library hunt."""

    track: str  # the track's name in the index (path relative to the indexed folder)
    start_s: float  # seconds into that track, refined to a fraction of a frame
    end_s: float
    auto: bool  # accepted by auto-accept, not by the user


@dataclass(eq=False)
class LibraryHunt:
    """A hunt across a library: the exact session over the shortlisted tracks (or all)."""

    library: Library
    session: object  # a RetrievalSession on library.features
    shortlist: Shortlist | None  # None: every indexed track is searched exactly

    def location(self, candidate) -> tuple[str, float]:
        """(track name, seconds into it) of a candidate's refined start."""
        track, at_s = self.library.locate(self.session.refined_start_s(candidate))
        return track.name, max(0.0, at_s)

    def events(self) -> list[LibraryEvent]:
        """The query and every confirmed occurrence, in track and time order."""
        auto = {c.start_frame for c in self.session.auto_accepted}
        rows = []
        for candidate in [self.session.query, *self.session.found]:
            name, at_s = self.location(candidate)
            rows.append(LibraryEvent(name, round(at_s, 4), round(at_s + candidate.duration_s, 4),
                                     candidate.start_frame in auto))
        return sorted(rows, key=lambda e: (e.track, e.start_s))


def hunt_library(
    out: str | Path, track_name: str, t0: float, d: float, *,
    query_values: np.ndarray | None = None, shortlist_tracks: int = DEFAULT_SHORTLIST_TRACKS,
    **session_options,
) -> LibraryHunt:
    """Hunt the window [t0, t0 + d) s of a track across the library ``out``.

    The query's track is ``track_name`` of the index, or, when ``query_values`` (features of
    the index's kind and whitening) are given, a track outside it, searched together with the
    library. ``shortlist_tracks`` > 0: search exactly only the tracks the vector index lists
    first (:func:`~loopfind_core.vector_index.shortlist`); 0: every indexed track."""
    from .session import query_window_frames

    out = Path(out)
    if shortlist_tracks < 0:
        raise SelectionError(f"The shortlist size must be 0 (all tracks) or more, "
                             f"not {shortlist_tracks}.")
    own_values = query_values if query_values is not None else track_values(out, track_name)
    start_frame, window_frames = query_window_frames(frame_grid(len(own_values)), t0, d)
    chosen = None
    if shortlist_tracks:
        chosen = shortlist(out, own_values, start_frame, window_frames, shortlist_tracks,
                           own_track=None if query_values is not None else track_name)
    library = open_library(out, names=chosen.names if chosen else None)
    if query_values is not None:
        names = {t.name for t in library.tracks}
        while track_name in names:
            track_name = f"query: {track_name}"
        library = library.with_track(track_name, query_values)
    return LibraryHunt(library, library.session(track_name, t0, d, **session_options), chosen)
