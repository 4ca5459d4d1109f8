"""The track's waveform with a playhead: click anywhere on it to hear the track from there.

Used by the Track and Select pages. The audio is the whole track as OGG Vorbis at the analysis
rate (:func:`loopfind_app.preview.track_audio`, the Preview's cached compression; its size:
docs/results.md §3.1) in Streamlit's own audio element, which the media endpoint serves
with range requests, so playback starts before the file has arrived. The waveform is a small
Streamlit component (``st.components.v2``, in the page's DOM, no iframe, no build step;
``waveform_component/``) drawing the envelope the Preview draws (``preview_document``): it
follows the audio element beside it and seeks it on a click.

Also the players of one window (:func:`clip_player`, :func:`window_player`). The browser's
audio controls count whole seconds, so a clip under a second reads "0:00 / 0:00", as if empty:
a window shorter than :data:`MIN_PLAYER_S` is played with up to ``state.CONTEXT_S`` of the
music before it (softer, as the answer deck's clips), and a caption says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from loopfind_app import state
from loopfind_app.preview import track_audio
from loopfind_core.base.audio import Audio
from loopfind_core.base.beats import BeatGrid
from loopfind_core.interactive.figures import COLORS
from loopfind_core.interactive.preview import preview_document

COMPONENT_DIR = Path(__file__).resolve().parent / "waveform_component"
_waveform = st.components.v2.component(
    "loopfind_waveform",
    html=(COMPONENT_DIR / "waveform.html").read_text(),
    css=(COMPONENT_DIR / "waveform.css").read_text(),
    js=(COMPONENT_DIR / "waveform.js").read_text(),
)


@dataclass(frozen=True)
class Mark:
    """A window marked on the waveform (e.g. the selection)."""

    start_s: float
    end_s: float
    label: str = ""  # drawn on the canvas as text, never as HTML
    color: str = COLORS["query"]


def waveform_data(audio: Audio, beats: BeatGrid | None, marks: Sequence[Mark],
                  box: str) -> dict[str, object]:
    """What the component draws: the envelope, a line per bar, the marks; ``box`` is the CSS
    class of the container holding the audio element it follows."""
    document = preview_document([], audio.duration_s, state.envelope(audio.content_hash, audio),
                                beats, 0.0, audio.name or "track")
    return {
        "duration": document["duration"],
        "envelope": document["envelope"],
        "bars": document["beats"][::4],  # a line per bar (4 beats) keeps it readable
        "marks": [{"start": round(m.start_s, 3), "end": round(m.end_s, 3), "label": m.label,
                   "color": m.color} for m in marks],
        "box": box,
    }


def waveform_player(audio: Audio, key: str, beats: BeatGrid | None = None,
                    marks: Sequence[Mark] = ()) -> None:
    """The whole track: its waveform (a playhead, a click plays from there) above the player."""
    box = f"{key}_box"
    with st.container(key=box, gap="small"):
        _waveform(key=key, data=waveform_data(audio, beats, marks, f"st-key-{box}"))
        st.audio(track_audio(audio.content_hash, audio), format="audio/ogg")


MIN_PLAYER_S = 1.0  # seconds: a shorter clip's player reads "0:00 / 0:00" (whole seconds)


def needs_lead_in(duration_s: float) -> bool:
    """Whether a window of ``duration_s`` seconds is played with music before it."""
    return duration_s < MIN_PLAYER_S


def lead_in_note(lead_s: float, duration_s: float, each: bool = False) -> str:
    """The caption of a short window's player (``each``: of a list of them): where the
    window starts in it."""
    what = "Each" if each else "This"
    upto = "up to " if each else ""
    return (f"{what} {duration_s:.2f} s sound plays after {upto}{lead_s:.1f} s of the music "
            "before it (softer), so the player has room to show it.")


def clip_player(wav: bytes, lead_s: float, duration_s: float, loop: bool = False,
                note: bool = True) -> None:
    """A player of a window's clip that begins ``lead_s`` seconds before the window (a WAV,
    e.g. from ``HuntView.context_clip``); with ``note``, a caption says so when it does."""
    st.audio(wav, format="audio/wav", loop=loop)
    if note and lead_s > 0.0:
        st.caption(lead_in_note(lead_s, duration_s))


def window_player(audio: Audio, start_s: float, end_s: float, loop: bool = False) -> None:
    """A player of ``[start_s, end_s)`` of the track: the window alone, or, when it is shorter
    than :data:`MIN_PLAYER_S`, with up to ``state.CONTEXT_S`` of music before it, said so."""
    if not needs_lead_in(end_s - start_s):
        st.audio(state.clip(audio.content_hash, start_s, end_s, audio), format="audio/wav",
                 loop=loop)
        return
    clip = state.clip_with_context(audio.content_hash, start_s, end_s, audio)
    clip_player(clip.wav, clip.lead_s, end_s - start_s, loop)
