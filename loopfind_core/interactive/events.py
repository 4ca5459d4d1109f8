"""What every export is made of: :class:`Event` (one occurrence of a sound), :class:`TrackInfo`
(what an export says about the track) and the few rules all formats share (time order, the
tempo a beat-based format uses, one-line labels).

:mod:`.export` (the text formats and the dispatch) and :mod:`.game_packages` (the osu! and Beat
Saber packages) both build on this module; it imports neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError

DEFAULT_TEMPO_BPM = 120.0  # the tempo of beat-based formats when the track has no beat grid


@dataclass(frozen=True)
class Event:
    """One occurrence of a sound in the track."""

    sound: str  # the user's name for the sound
    start_s: float  # seconds from the start of the track
    duration_s: float
    chance: float  # 0…1: how likely the window was the sound when shown (1: the query)

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class TrackInfo:
    """What the exports say about the track."""

    name: str  # display name of the audio file
    sample_rate_hz: int  # the original file's sample rate
    beats: BeatGrid


def sounds_in_order(events: Sequence[Event]) -> list[str]:
    """Sound names in order of first appearance."""
    return list(dict.fromkeys(e.sound for e in events))


def sorted_events(events: Sequence[Event]) -> list[Event]:
    """``events`` in time order (then by sound).

    Raises:
        SelectionError: there is nothing to export."""
    if not events:
        raise SelectionError("Nothing to export yet: confirm at least one occurrence first.")
    return sorted(events, key=lambda e: (e.start_s, e.sound))


def tempo_bpm(track: TrackInfo) -> float:
    """The track's estimated tempo, or :data:`DEFAULT_TEMPO_BPM` without a beat grid."""
    return track.beats.tempo_bpm if track.beats.has_beats else DEFAULT_TEMPO_BPM


def label_text(name: str) -> str:
    """A name on one line with no tabs, whatever the user typed (``sound`` if blank)."""
    return " ".join(str(name).split()) or "sound"


def track_title(track: TrackInfo) -> str:
    """The track's file name without its extension, on one line."""
    stem = track.name.rsplit(".", 1)[0] if "." in track.name else track.name
    return label_text(stem) if stem.strip() else "track"
