"""The Preview page's pieces: the player component, the track's compressed audio, the demo
button and the latency-offset slider.

The player is a Streamlit component without a build step (``preview_component/``: HTML, CSS
and plain JavaScript over Web Audio, declared with ``declare_component``). It gets the events
of ``Workspace.events()`` — the ones every export gets, latency offset included — and the
track as OGG Vorbis bytes; it plays the track and fires each event on the audio clock
(see the header of ``preview_component/preview.js``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

from loopfind_app import state
from loopfind_core.base.audio import Audio
from loopfind_core.base.errors import SelectionError
from loopfind_core.interactive.preview import (
    demo_sounds,
    hunt_from_truth,
    preview_audio,
    preview_document,
)
from loopfind_core.interactive.workspace import MAX_LATENCY_OFFSET_MS, Workspace

COMPONENT_DIR = Path(__file__).resolve().parent / "preview_component"
_player = components.declare_component("loopfind_preview", path=str(COMPONENT_DIR))
OFFSET_KEY = "latency_offset"
OFFSET_HELP = (
    "Added to every event's start — in every export and in this preview — as rhythm games let "
    "players calibrate. Positive: events later. Set it so the clicks sit on the sounds you hear "
    "on the device the game targets."
)


@st.cache_data(max_entries=state.TRACKS_CACHED, ttl=state.CACHE_TTL_S,
               show_spinner="Compressing the track for the preview…")
def track_audio(content_hash: str, _audio: Audio) -> bytes:
    """The whole track as OGG Vorbis (its size for the demo: docs/results.md §3.1), cached
    per track."""
    return preview_audio(_audio)


def player(ws: Workspace, key: str = "preview_player") -> None:
    """The player: lanes, notes, hit line, waveform, transport; plays the workspace's events."""
    audio = ws.audio
    document = preview_document(
        ws.events(), audio.duration_s, state.envelope(audio.content_hash, audio), ws.beats,
        ws.latency_offset_ms, audio.name or "track",
    )
    _player(doc=document, audio=track_audio(audio.content_hash, audio),
            audio_key=audio.content_hash, key=key, default=None)


def offer_demo_sound(ws: Workspace, key: str = "demo_sound") -> bool:
    """On a track with ground truth (the demo), a button that hunts the next annotated sound
    by answering from the truth; True when a button was shown."""
    remaining = demo_sounds(ws) if ws.truth else []
    if not remaining:
        return False
    label = "Add another demo sound" if ws.hunts else "Preview a demo sound"
    st.button(label, key=key, icon=":material/auto_awesome:",
              type="secondary" if ws.hunts else "primary", on_click=_hunt_demo_sound,
              args=(ws,), help=f"Hunts the demo's “{remaining[0].sound}” "
              f"({len(remaining[0].occurrences)} occurrences) answering from its ground truth, "
              "as a user would: its events then play here and export like any hunt. "
              f"{KEEPS_YOURS if has_own_work(ws) else BECOMES_CURRENT}")
    return True


KEEPS_YOURS = "Your selection and the hunt on the Hunt page stay as they are."
BECOMES_CURRENT = "It becomes the selection and the hunt on the Hunt page."


def has_own_work(ws: Workspace) -> bool:
    """Whether the user has a selection or a hunt on the Hunt page: a demo sound keeps them."""
    return ws.selection is not None or ws.current is not None


def _hunt_demo_sound(ws: Workspace) -> None:
    """Hunt the next demo sound from the truth. It is added beside the user's hunts; the
    user's selection and current hunt, if any, are put back afterwards (also when the run is
    interrupted), so nothing of theirs is replaced."""
    remaining = demo_sounds(ws)
    if not remaining:
        return
    kept = (ws.selection, ws.current) if has_own_work(ws) else None
    try:
        with st.spinner("Hunting a demo sound…"):
            hunt_from_truth(ws, remaining[0], state.feature_kinds()[0])
    finally:
        if kept is not None:
            ws.selection, ws.current = kept


def offset_slider(ws: Workspace) -> float:
    """The latency-offset slider (ms); it writes the workspace, which every export reads."""
    if st.session_state.get(OFFSET_KEY) != ws.latency_offset_ms:  # another track, or first
        st.session_state[OFFSET_KEY] = int(round(ws.latency_offset_ms))
    limit = int(MAX_LATENCY_OFFSET_MS)
    st.slider("Latency offset (ms)", -limit, limit, step=1, key=OFFSET_KEY, help=OFFSET_HELP,
              on_change=_set_offset, args=(ws,))
    return ws.latency_offset_ms


def _set_offset(ws: Workspace) -> None:
    try:
        ws.set_latency_offset(st.session_state[OFFSET_KEY])
    except SelectionError as error:
        st.session_state.preview_error = str(error)
