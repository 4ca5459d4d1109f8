"""One user's work on one track: the selection, the current hunt and the hunts kept for export.

The app keeps one :class:`Workspace` per browser session; the CLI and tests use it directly.
Features and window searches come from callables so a caller can share them between
workspaces (the app caches them per audio content hash); by default they are computed here.
:meth:`Workspace.snapshot` and :meth:`Workspace.restore` turn the work into plain data and back
(what :mod:`.workspace_store` keeps, so a hunt survives a reload or a server restart).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from loopfind_core.base.audio import Audio
from loopfind_core.base.beats import BeatGrid, estimate_beats
from loopfind_core.base.errors import LoopfindError, SelectionError
from loopfind_core.base.spectrogram import HOP_LENGTH
from loopfind_core.corpus.dataset import SoundTruth
from loopfind_core.corpus.truth import matching_sound
from loopfind_core.features.registry import extract_features
from loopfind_core.features.track import FeatureTrack, frame_grid
from loopfind_core.interactive.export import Event, TrackInfo, session_events
from loopfind_core.retrieval.defaults import APP_HUNT
from loopfind_core.retrieval.search import WindowSearch
from loopfind_core.retrieval.session import RetrievalSession, query_window_frames

MAX_SOUND_NAME_CHARS = 60
MAX_LATENCY_OFFSET_MS = 100.0  # the latency offset lies in ±this many milliseconds
FeatureProvider = Callable[[str, "float | None"], FeatureTrack]  # (kind, whiten) → features
SearchProvider = Callable[[FeatureTrack, "float | None", int], WindowSearch]  # + window frames


def time_base(audio: Audio) -> FeatureTrack:
    """The frame grid of ``audio`` (see :func:`~loopfind_core.features.track.frame_grid`)."""
    return frame_grid(1 + len(audio.samples) // HOP_LENGTH)  # librosa's centred frames


@dataclass(frozen=True)
class Selection:
    """The query window, in seconds."""

    start_s: float
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass
class Hunt:
    """One sound being (or having been) hunted."""

    sound: str
    kind: str
    strategy: str
    session: RetrievalSession
    whiten: float | None = None  # the whitening shrinkage the features had (None: off)

    @property
    def events(self) -> list[Event]:
        return session_events(self.session, self.sound)


@dataclass(frozen=True)
class AnswerSnapshot:
    """One answer of a hunt as plain data: the window's start frame, its score when proposed,
    the verdict, whether it was automatic, its reviewed page (None: one at a time)."""

    start_frame: int
    distance: float
    is_match: bool
    auto: bool = False
    page: int | None = None


@dataclass(frozen=True)
class HuntSnapshot:
    """A hunt as plain data: what it hunts with and how, and every answer in order."""

    sound: str
    kind: str
    strategy: str
    patience: int
    whiten: float | None
    query_start_s: float  # exact
    query_duration_s: float  # the query window's length (a whole number of frames)
    finished: bool = False
    answers: tuple[AnswerSnapshot, ...] = ()


@dataclass(frozen=True)
class WorkspaceSnapshot:
    """A workspace's work as plain data (the track is the caller's: see :mod:`.workspace_store`)."""

    selection: Selection | None = None
    whiten: float | None = APP_HUNT.whiten
    latency_offset_ms: float = 0.0
    current: str | None = None
    hunts: tuple[HuntSnapshot, ...] = ()

    @property
    def n_answers(self) -> int:
        return sum(len(h.answers) for h in self.hunts)


def hunt_snapshot(hunt: Hunt) -> HuntSnapshot:
    session = hunt.session
    return HuntSnapshot(
        hunt.sound, hunt.kind, session.strategy, session.patience, hunt.whiten,
        session.query_start_s, session.query.duration_s, session.finished,
        tuple(AnswerSnapshot(a.candidate.start_frame, a.candidate.distance, a.is_match, a.auto,
                             a.page) for a in session.history))


def clean_sound_name(name: str, fallback: str) -> str:
    """A sound name as typed, on one line, at most :data:`MAX_SOUND_NAME_CHARS` characters."""
    cleaned = " ".join(str(name).split())[:MAX_SOUND_NAME_CHARS]
    return cleaned or fallback


@dataclass
class Workspace:
    audio: Audio
    truth: tuple[SoundTruth, ...] = ()  # ground truth, when the track has it (the demo does)
    features: FeatureProvider | None = None
    searches: SearchProvider | None = None
    beats_provider: Callable[[], BeatGrid] | None = None
    whiten: float | None = APP_HUNT.whiten  # None: the paper's raw features
    selection: Selection | None = None
    hunts: dict[str, Hunt] = field(default_factory=dict)  # sound name → hunt, in start order
    current: str | None = None  # the sound name of the hunt on screen
    # added to every event's start (every export and the preview), as rhythm games let players
    # calibrate; set it with set_latency_offset, which validates it
    latency_offset_ms: float = 0.0

    def __post_init__(self) -> None:
        self.set_latency_offset(self.latency_offset_ms)

    # ----- the track -----
    @cached_property
    def beats(self) -> BeatGrid:
        return self.beats_provider() if self.beats_provider else estimate_beats(self.audio)

    @property
    def track_info(self) -> TrackInfo:
        return TrackInfo(self.audio.name or "track", self.audio.original_sr_hz, self.beats)

    def feature_track(self, kind: str, whiten: float | None | str = "workspace") -> FeatureTrack:
        """The track's features of ``kind``, whitened as :attr:`whiten` says (or as ``whiten``
        says: a shrinkage, or None for the raw features), holding a reference to the audio so
        a hunt places its events to the sample."""
        shrinkage = self.whiten if whiten == "workspace" else whiten
        track = (self.features(kind, shrinkage) if self.features is not None
                 else extract_features(self.audio, kind, whiten=shrinkage))
        return track.with_samples(self.audio.samples, self.audio.sr_hz)

    # ----- selecting the query -----
    def select(self, start_s: float, duration_s: float, snap_to_beats: bool = False) -> Selection:
        """Set the query window; with ``snap_to_beats`` the start moves to the nearest beat and
        the duration to a whole number of beats.

        Raises:
            SelectionError: the window is empty, off the track, or longer than half of it.
        """
        try:
            start_s, duration_s = float(start_s), float(duration_s)
        except (TypeError, ValueError):
            raise SelectionError("Start and duration must be numbers of seconds, not "
                                 f"{start_s!r} and {duration_s!r}.") from None
        if snap_to_beats and self.beats.has_beats:
            start_s = self.beats.snap(start_s)
            duration_s = self.beats.snap_duration(duration_s)
        query_window_frames(time_base(self.audio), start_s, duration_s)  # raises if nonsense
        self.selection = Selection(start_s, duration_s)
        return self.selection

    def selection_from_box(self, x_range: tuple[float, float], snap_to_beats: bool = False):
        """Set the query from a dragged box's time range (either direction), clipped to the
        track."""
        low, high = sorted(float(x) for x in x_range)
        low, high = max(0.0, low), min(self.audio.duration_s, high)
        return self.select(low, high - low, snap_to_beats)

    def truth_match(self) -> tuple[SoundTruth, int] | None:
        """The annotated sound the selection covers (and which occurrence), if any."""
        if self.selection is None or not self.truth:
            return None
        return matching_sound(self.truth, self.selection.start_s, self.selection.duration_s)

    # ----- hunting -----
    def next_sound_name(self) -> str:
        n = len(self.hunts) + 1
        while f"sound {n}" in self.hunts:
            n += 1
        return f"sound {n}"

    def start_hunt(self, kind: str = APP_HUNT.kind, strategy: str = APP_HUNT.strategy,
                   patience: int = APP_HUNT.patience, sound: str = "") -> Hunt:
        """Start hunting the selection; a hunt of the same name is replaced."""
        if self.selection is None:
            raise SelectionError("Select a sound first: drag a box on the plot or type a time.")
        track = self.feature_track(kind)
        _, window_frames = query_window_frames(
            track, self.selection.start_s, self.selection.duration_s
        )
        search = self.searches(track, self.whiten, window_frames) if self.searches else None
        session = RetrievalSession(track, self.selection.start_s, self.selection.duration_s,
                                   patience, strategy, search=search, review=APP_HUNT.review)
        name = clean_sound_name(sound, self.next_sound_name())
        self.hunts.pop(name, None)
        self.hunts[name] = Hunt(name, kind, strategy, session, self.whiten)
        self.current = name
        return self.hunts[name]

    @property
    def hunt(self) -> Hunt | None:
        return self.hunts.get(self.current) if self.current else None

    def forget(self, sound: str) -> None:
        self.hunts.pop(sound, None)
        if self.current == sound:
            self.current = next(reversed(self.hunts), None)

    # ----- what every export and the preview get -----
    def set_latency_offset(self, offset_ms: float) -> float:
        """Set the latency offset, in milliseconds (−100…+100; positive = events later).

        Raises:
            SelectionError: the offset is not a number or lies outside ±100 ms.
        """
        try:
            offset = float(offset_ms)
        except (TypeError, ValueError):
            raise SelectionError("The latency offset must be a number of milliseconds, not "
                                 f"{offset_ms!r}.") from None
        if not math.isfinite(offset) or abs(offset) > MAX_LATENCY_OFFSET_MS:
            raise SelectionError(
                f"The latency offset must lie between −{MAX_LATENCY_OFFSET_MS:.0f} and "
                f"+{MAX_LATENCY_OFFSET_MS:.0f} ms, not {offset_ms!r}.")
        self.latency_offset_ms = offset
        return offset

    def events(self) -> list[Event]:
        """Every kept hunt's events (query + confirmed occurrences), sorted by time, each start
        shifted by the latency offset (never below 0 s): what every export and the preview
        use."""
        shift_s = self.latency_offset_ms / 1000.0
        events = [dataclasses.replace(e, start_s=max(0.0, e.start_s + shift_s)) if shift_s
                  else e for hunt in self.hunts.values() for e in hunt.events]
        return sorted(events, key=lambda e: (e.start_s, e.sound))

    # ----- a snapshot to store, and back -----
    def snapshot(self) -> WorkspaceSnapshot:
        """The selection, settings and every hunt with every answer, as plain data."""
        return WorkspaceSnapshot(self.selection, self.whiten, self.latency_offset_ms,
                                 self.current, tuple(hunt_snapshot(h) for h in self.hunts.values()))

    def restore(self, snapshot: WorkspaceSnapshot) -> list[str]:
        """Put a snapshot of this track's workspace back: the selection, the settings, and each
        hunt rebuilt from its settings with its answers replayed exactly
        (:meth:`~loopfind_core.retrieval.session.RetrievalSession.replay`), so it proposes
        what it proposed before. What does not fit the track is left out, not fatal.

        Returns:
            One sentence per part left out (empty when everything came back).
        """
        problems: list[str] = []
        if snapshot.selection is not None:
            try:
                self.select(snapshot.selection.start_s, snapshot.selection.duration_s)
            except SelectionError as error:
                problems.append(f"The selection was left out: {error}")
        self.whiten = snapshot.whiten
        try:
            self.set_latency_offset(snapshot.latency_offset_ms)
        except SelectionError as error:
            problems.append(f"The latency offset was left out: {error}")
        self.hunts = {}
        for stored in snapshot.hunts:
            try:
                self.hunts[stored.sound] = self._restored_hunt(stored)
            except LoopfindError as error:
                problems.append(f"The hunt “{stored.sound}” was left out: {error}")
        self.current = (snapshot.current if snapshot.current in self.hunts
                        else next(reversed(self.hunts), None))
        return problems

    def _restored_hunt(self, stored: HuntSnapshot) -> Hunt:
        track = self.feature_track(stored.kind, stored.whiten)
        _, window_frames = query_window_frames(track, stored.query_start_s,
                                               stored.query_duration_s)
        search = self.searches(track, stored.whiten, window_frames) if self.searches else None
        session = RetrievalSession(track, stored.query_start_s, stored.query_duration_s,
                                   stored.patience, stored.strategy, search=search,
                                   review=APP_HUNT.review)
        session.replay([(a.start_frame, a.distance, a.is_match, a.auto, a.page)
                        for a in stored.answers], finished=stored.finished)
        return Hunt(stored.sound, stored.kind, stored.strategy, session, stored.whiten)
