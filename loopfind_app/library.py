"""The Library page's pieces: which library this server offers, building the demo library with
a progress bar, and the hunt panel's view of a hunt across the library."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import streamlit as st

from loopfind_app import keeping, state
from loopfind_app.analysis import analyse
from loopfind_app.hunt_panel import HuntView, Metric, Place, window_picture
from loopfind_core.base.audio import Audio
from loopfind_core.base.beats import estimate_beats
from loopfind_core.base.errors import LoopfindError, SelectionError
from loopfind_core.base.memory import release_freed_memory
from loopfind_core.interactive.export import (
    FORMAT_LABELS,
    FORMATS,
    Event,
    TrackInfo,
    export,
    export_file_name,
    library_events_csv,
    library_track_events,
)
from loopfind_core.interactive.workspace import Workspace
from loopfind_core.library.catalog import LibraryInfo, find_library
from loopfind_core.library.hunt import LibraryHunt, hunt_selection
from loopfind_core.library.manifest import track_audio_path
from loopfind_core.retrieval.session import Candidate, RetrievalSession

LIBRARY_CSV_NAME = "library_occurrences.csv"


def library_kind() -> str:
    """The feature kind a demo library is indexed with: learned, unless its checkpoint fails."""
    return "learned" if state.learned_problem() is None else "mel-std"


def library_info() -> LibraryInfo | None:
    """The server's library (``$LOOPFIND_LIBRARY``), else the demo library once it is built,
    else None.

    Raises:
        LoopfindError: ``$LOOPFIND_LIBRARY`` names a folder without a readable index."""
    return find_library(library_kind())


def build_demo_library() -> None:
    """Compose and index the demo corpus, with a progress bar (about a minute, once), in a
    worker process (:mod:`loopfind_app.analysis`).

    Raises:
        AnalysisCrashError: the worker died building it (what was indexed is kept)."""
    from loopfind_core.library.demo import ensure_demo_library

    bar = st.progress(0.0, text="Composing and indexing the demo library…")

    def progress(done: int, total: int, message: str) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{message} ({done}/{total})")

    analyse("the demo library", ensure_demo_library, library_kind(), progress=progress)
    bar.empty()


@dataclass(frozen=True)
class LibraryHuntView(HuntView):
    """A hunt across the tracks of a library index (and the query's own track, when it is not
    indexed): windows are placed by track and played from the library's folder."""

    hunt: LibraryHunt
    index_dir: Path
    key_prefix: ClassVar[str] = "library_"

    def identity(self) -> str:
        return f"library|{self.index_dir}"

    def place(self, candidate: Candidate) -> Place:
        track, at_s = self.hunt.location(candidate)
        return Place(at_s, at_s + candidate.duration_s, track)

    def own_audio(self, track: str | None) -> Audio | None:
        """The query's own audio if ``track`` is its track and it is not indexed, else None."""
        own = self.hunt.query_audio
        return own if own is not None and track == self.hunt.query_track else None

    def play(self, place: Place, autoplay: bool = False) -> None:
        try:
            wav = self.clip(place)
        except LoopfindError as error:  # the folder moved: say so, keep the hunt up
            st.caption(str(error))
            return
        st.audio(wav, format="audio/wav", autoplay=autoplay)

    def clip(self, place: Place) -> bytes:
        if (own := self.own_audio(place.track)) is not None:
            return state.clip(own.content_hash, place.start_s, place.end_s, own)
        path = str(track_audio_path(self.index_dir, place.track))
        return state.library_clip(path, place.start_s, place.end_s)

    def picture(self, place: Place, chart_key: str) -> None:
        if (own := self.own_audio(place.track)) is not None:
            mel = state.mel_excerpt(own, place.start_s, place.end_s)
        else:
            try:
                path = str(track_audio_path(self.index_dir, place.track))
                mel = state.library_mel(path, place.start_s, place.end_s)
            except LoopfindError:  # play() has said why
                return
        window_picture(mel, place.start_s, chart_key)

    def extra_metrics(self) -> Sequence[Metric]:
        return (Metric("Tracks searched", len(self.hunt.library.tracks),
                       "how many tracks were searched exactly"),)

    def before_table(self, session: RetrievalSession, candidate: Candidate | None) -> None:
        n_tracks = len({event.track for event in self.hunt.events()})
        st.markdown(f"**Found in {n_tracks} track{'s' if n_tracks != 1 else ''}**")

    def after_table(self, session: RetrievalSession, candidate: Candidate | None) -> None:
        """The downloads: every track's occurrences as one CSV; one chosen track's in every
        format of the Export page (they describe one track: its beat grid, its song)."""
        events = self.hunt.events()
        st.download_button("Download CSV", library_events_csv(events),
                           file_name=LIBRARY_CSV_NAME, mime=FORMATS["csv"][1],
                           icon=":material/download:", key=self.key("csv"), on_click="ignore",
                           help="Every track's occurrences: track, start, end (seconds)")
        tracks = list(dict.fromkeys(e.track for e in events))
        track = st.selectbox(
            "Export one track in every format of the Export page", tracks, index=None,
            placeholder="Choose a track…", key=self.key("export_track"),
            help="JSON, MIDI, osu! and Beat Saber describe one track (its tempo, its song): "
                 "choose which track's occurrences to export.")
        if track is None:
            return
        try:  # decoded once per track (cached); a moved file is said here, not on a click
            audio = self.own_audio(track) or state.library_track_audio(
                str(track_audio_path(self.index_dir, track)))
        except LoopfindError as error:
            st.caption(str(error))
            return
        track_events = library_track_events(self.hunt, track)
        for formats in (("csv", "audacity", "midi"), ("json", "osz", "beatsaber")):
            for column, fmt in zip(st.columns(len(formats)), formats):
                column.download_button(
                    FORMAT_LABELS[fmt], data=deferred_export(track_events, audio, fmt),
                    file_name=export_file_name(track, fmt), mime=FORMATS[fmt][1],
                    key=self.key(f"track_{fmt}"), icon=":material/download:",
                    on_click="ignore", use_container_width=True)
        st.caption(f"{len(track_events)} occurrence{'s' if len(track_events) != 1 else ''} in "
                   "this track. Each file is made when you press its button (the track's beat "
                   "is found first: a second or two).")


def start_library_hunt(index_dir: Path, ws: Workspace, *, shortlist_tracks: int,
                       patience: int, strategy: str = "active") -> LibraryHunt:
    """Hunt the workspace's selection across the library ``index_dir``; how it was started is
    kept with the session, so its answers are saved with the workspace and replayed after a
    reload (:func:`restored_library_hunt`).

    Raises:
        LoopfindError: no readable index, a query outside its track."""
    sel = ws.selection
    if sel is None:
        raise SelectionError("Select a sound first.")
    hunt = hunt_selection(index_dir, ws.audio, sel.start_s, sel.duration_s,
                          shortlist_tracks=shortlist_tracks, patience=patience,
                          strategy=strategy, query_features=ws.feature_track)
    st.session_state["library_hunt"] = hunt
    release_freed_memory()  # the hunt it replaced (its size: docs/results.md §3.2)
    st.session_state[keeping.LIBRARY_PARAMS] = {
        "index_dir": str(index_dir), "shortlist_tracks": shortlist_tracks,
        "patience": patience, "strategy": strategy, "query_start_s": sel.start_s,
        "query_duration_s": sel.duration_s}
    st.session_state.pop(keeping.LIBRARY_RECORD, None)
    return hunt


def restored_library_hunt(ws: Workspace) -> LibraryHunt | None:
    """The Library hunt saved with this workspace, rebuilt (the same shortlist and exact
    search) with every answer replayed; None when there is none. When it cannot be rebuilt
    (the library moved), the user is told, and the record stays saved.

    Raises:
        AnalysisCrashError: a worker died computing the query's features."""
    record = st.session_state.get(keeping.LIBRARY_RECORD)
    if record is None:
        return None
    try:
        with st.spinner("Restoring your library hunt…"):
            hunt = hunt_selection(
                record.index_dir, ws.audio, record.query_start_s, record.query_duration_s,
                shortlist_tracks=record.shortlist_tracks, patience=record.patience,
                strategy=record.strategy, query_features=ws.feature_track)
            hunt.session.replay([(a.start_frame, a.distance, a.is_match, a.auto, a.page)
                                 for a in record.answers], finished=record.finished)
    except LoopfindError as error:
        keeping.notice(f"Your library hunt ({len(record.answers)} answers) could not be "
                       f"restored: {error}")
        return None
    st.session_state["library_hunt"] = hunt
    release_freed_memory()  # the hunt it replaced (its size: docs/results.md §3.2)
    st.session_state[keeping.LIBRARY_PARAMS] = {
        "index_dir": record.index_dir, "shortlist_tracks": record.shortlist_tracks,
        "patience": record.patience, "strategy": record.strategy,
        "query_start_s": record.query_start_s, "query_duration_s": record.query_duration_s}
    st.session_state.pop(keeping.LIBRARY_RECORD, None)
    return hunt


def deferred_export(events: Sequence[Event], audio: Audio, fmt: str) -> Callable[[], bytes]:
    """A download button's deferred data: ``events`` of ``audio``'s track as ``fmt``, its beat
    grid found on the click (on Streamlit's download thread, not in the page's rerun), in a
    worker process."""

    def build() -> bytes:
        beats = analyse(audio.name, estimate_beats, audio)
        info = TrackInfo(audio.name or "track", audio.original_sr_hz, beats)
        return export(events, info, fmt, audio=audio)

    return build
