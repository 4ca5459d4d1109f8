"""Hunts across a library: many indexed tracks searched as one.

:func:`open_library` loads indexed tracks into one feature track, the tracks end to end, with a
mask of the window starts that would cross from one track into the next; a
:class:`~loopfind_core.retrieval.session.RetrievalSession` on it (:meth:`Library.session`) hunts
them all at once, and :meth:`Library.locate` maps a proposal back to (track, seconds).
:func:`hunt_library` first asks the vector index for a shortlist of tracks likely to hold the
sound (:mod:`loopfind_core.library.vector_index`) and searches those exactly.
:func:`hunt_selection`, the entry point of the app and the CLI, also decides how the query's
own track takes part: found in the index by its content, or searched together with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from loopfind_core.base.audio import Audio
from loopfind_core.base.errors import SelectionError
from loopfind_core.base.spectrogram import FRAME_RATE_HZ
from loopfind_core.features.registry import extract_features
from loopfind_core.features.track import FeatureTrack, frame_grid
from loopfind_core.library.database import connect, read_feature_files
from loopfind_core.library.feature_files import load_checked
from loopfind_core.library.manifest import (
    index_summary,
    indexed_track,
    indexed_tracks,
    is_track,
    open_index,
)
from loopfind_core.library.vector_index import (
    DEFAULT_SHORTLIST_TRACKS,
    Shortlist,
    shortlist,
    track_values,
)
from loopfind_core.retrieval.defaults import APP_HUNT
from loopfind_core.retrieval.review import ReviewPolicy
from loopfind_core.retrieval.session import DEFAULT_PATIENCE, query_window_frames


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

    def session(self, track_name: str, start_s: float, duration_s: float, **options):
        """A hunt for the window [start_s, start_s + duration_s) s of ``track_name`` across
        every track."""
        from loopfind_core.retrieval.session import RetrievalSession, query_window_frames

        track = self.track(track_name)
        # checks the query lies inside its track
        _, window_frames = query_window_frames(frame_grid(track.n_frames), start_s, duration_s)
        offset_s = track.first_frame / self.features.frame_rate_hz
        return RetrievalSession(self.features, offset_s + start_s, duration_s,
                                valid_starts=self.valid_starts(window_frames), **options)


def open_library(out: str | Path, names: Sequence[str] | None = None) -> Library:
    """Load an index (every track, or only ``names``) as one :class:`Library`: each track's
    memory-mapped features copied once into one float32 array.

    Raises:
        DatasetError: no readable index with tracks, or a track's feature file is damaged
            (:func:`~loopfind_core.library.feature_files.load_checked`); SelectionError: none
            of ``names`` is indexed."""
    out, settings, rows = indexed_tracks(out)
    if names is not None:
        wanted = set(names)
        rows = [row for row in rows if row.path in wanted]
        if not rows:
            shown = ", ".join(repr(n) for n in sorted(wanted)[:5])
            raise SelectionError(f"None of the tracks asked for ({shown}"
                                 f"{', …' if len(wanted) > 5 else ''}) is in the index.")
    with connect(out) as connection:
        recorded = read_feature_files(connection)
    stored = [load_checked(out, row, recorded.get(row.hash)) for row in rows]  # damage named
    values = np.empty((sum(len(v) for v in stored), stored[0].shape[1]), dtype=np.float32)
    tracks, first = [], 0
    for row, track_values_ in zip(rows, stored, strict=True):
        values[first : first + len(track_values_)] = track_values_
        tracks.append(LibraryTrack(row.path, first, len(track_values_)))
        first += len(track_values_)
    features = FeatureTrack(settings["kind"], values, FRAME_RATE_HZ)
    return Library(features, tuple(tracks), settings["kind"], settings["whiten"])


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
    query_track: str = ""  # the query's track in library.tracks
    query_audio: Audio | None = None  # that track's audio when it is not indexed: the one
    # track whose windows cannot be played from the library's folder

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
    out: str | Path, track_name: str, start_s: float, duration_s: float, *,
    query_values: np.ndarray | None = None, shortlist_tracks: int = DEFAULT_SHORTLIST_TRACKS,
    **session_options,
) -> LibraryHunt:
    """Hunt the window [start_s, start_s + duration_s) s of a track across the library ``out``.

    The query's track is ``track_name`` of the index, or, when ``query_values`` (features of
    the index's kind and whitening) are given, a track outside it, searched together with the
    library. ``shortlist_tracks`` > 0: search exactly only the tracks the vector index lists
    first (:func:`~loopfind_core.library.vector_index.shortlist`); 0: every indexed track."""
    out = open_index(out)
    if shortlist_tracks < 0:
        raise SelectionError(f"The shortlist size must be 0 (all tracks) or more, "
                             f"not {shortlist_tracks}.")
    own_values = query_values if query_values is not None else track_values(out, track_name)
    start_frame, window_frames = query_window_frames(frame_grid(len(own_values)), start_s,
                                                     duration_s)
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
    session = library.session(track_name, start_s, duration_s, **session_options)
    return LibraryHunt(library, session, chosen, library.track(track_name).name)


QueryFeatures = Callable[[str, "float | None"], FeatureTrack]
"""``features(kind, whiten)``: the query track's features of a kind and whitening shrinkage."""


def hunt_selection(
    index_dir: str | Path, query: Audio | str, start_s: float, duration_s: float, *,
    shortlist_tracks: int = DEFAULT_SHORTLIST_TRACKS, patience: int = DEFAULT_PATIENCE,
    strategy: str = "active", query_features: QueryFeatures | None = None,
    review: ReviewPolicy = APP_HUNT.review,
) -> LibraryHunt:
    """Hunt the window [start_s, start_s + duration_s) s of the query's track across the
    library ``index_dir``: the one way the app and the CLI start a library hunt.

    The query's track (``query``) is

    - decoded audio the index holds (found by its content hash, whatever its name): the
      indexed track, with its stored features;
    - other decoded audio: its features of the index's kind and whitening are computed
      (``query_features(kind, whiten)``, by default :func:`extract_features`) and it is
      searched together with the library as one more track, named after it
      (:attr:`LibraryHunt.query_audio` keeps it for listening);
    - a name (str): the indexed track of that name or file name.

    ``shortlist_tracks`` > 0: search exactly only the tracks the vector index lists first;
    0: every indexed track. ``patience``, ``strategy`` and ``review`` (the app's adaptive
    review by default): as in :class:`~loopfind_core.retrieval.session.RetrievalSession`.

    Raises:
        LoopfindError: no readable index, a query outside its track, a name not indexed."""
    options = {"shortlist_tracks": shortlist_tracks, "patience": patience, "strategy": strategy,
               "review": review}
    if isinstance(query, str):
        return hunt_library(index_dir, query, start_s, duration_s, **options)
    summary = index_summary(index_dir)  # raises when there is no index
    indexed = indexed_track(index_dir, query.content_hash)
    if indexed is not None:
        return hunt_library(index_dir, indexed, start_s, duration_s, **options)
    kind, whiten = summary.kind, summary.whiten
    features = (query_features(kind, whiten) if query_features is not None
                else extract_features(query, kind, whiten=whiten))
    hunt = hunt_library(index_dir, query.name or "query", start_s, duration_s,
                        query_values=features.values, **options)
    return replace(hunt, query_audio=query)
