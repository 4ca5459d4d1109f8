"""The track's waveform with a playhead: click anywhere on it to hear the track from there.

Used by the Track and Select pages. The audio is the whole track as OGG Vorbis at the analysis
rate (:func:`loopfind_app.preview.track_audio`, the Preview's cached compression: ~44 kbit/s,
2 MB for the 6-minute demo) in Streamlit's own audio element, which the media endpoint serves
with range requests, so playback starts before the file has arrived. The waveform is a small
Streamlit component (``st.components.v2``, in the page's DOM, no iframe, no build step;
``waveform_component/``) drawing the envelope the Preview draws (``preview_document``): it
follows the audio element beside it and seeks it on a click.
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
