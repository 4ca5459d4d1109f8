"""Track: keep the demo or upload a file; what the track is (duration, rate, tempo)."""

from __future__ import annotations

import streamlit as st

from loopfind_app import state
from loopfind_app.text import format_time, plain
from loopfind_core.base.errors import LoopfindError
from loopfind_core.interactive.figures import selection_figure

ws = state.workspace()
st.title("Track")

left, right = st.columns([2, 1])
with right:
    st.subheader("Your own track")
    upload = st.file_uploader(
        "WAV, MP3, OGG or FLAC, up to 20 minutes", type=state.UPLOAD_TYPES,
        key="upload", help="The file stays in this browser session; nothing is stored on disk.",
    )
    if upload is not None and st.session_state.get("upload_id") != upload.file_id:
        st.session_state.upload_id = upload.file_id  # decode each upload once
        try:
            with st.spinner("Decoding…"):
                ws = state.use_upload(upload.name, upload.getvalue())
            st.success(f"Loaded {plain(ws.audio.name)}. Next: select a sound.")
        except LoopfindError as error:
            st.error(f"{error} The current track is kept.")
    if st.session_state.get("track_source") != "demo":
        if st.button("Back to the demo track", icon=":material/restart_alt:"):
            ws = state.use_demo()
            st.session_state.pop("upload_id", None)

with left:
    st.subheader(plain(ws.audio.name))
    if ws.truth:
        st.caption("The built-in demo: a generated house track with its ground truth "
                   f"({len(ws.truth)} annotated loops and samples), so Compare can score "
                   "each feature kind.")
    beats = ws.beats
    c1, c2, c3, c4 = st.columns([1, 1.2, 1.2, 0.9])
    c1.metric("Duration", format_time(ws.audio.duration_s))
    c2.metric("Sample rate", f"{ws.audio.original_sr_hz / 1000:g} kHz",
              help=f"The file: {ws.audio.original_sr_hz} Hz, {ws.audio.original_channels} "
                   f"channel(s). Decoded to {ws.audio.sr_hz} Hz mono for analysis.")
    c3.metric("Tempo", f"{beats.tempo_bpm:.1f} BPM" if beats.has_beats else "—")
    c4.metric("Beats found", len(beats.beat_times_s))

key = ws.audio.content_hash
times, image = state.spectrogram(key, ws.audio)
st.plotly_chart(selection_figure(state.envelope(key, ws.audio), times, image, None, beats),
                key="track_overview", config={"displaylogo": False})
st.caption("Grey lines: bars (every 4th beat) from the beat tracker. Listen to the first minute "
           "below, then go to **Select** to point at a sound.")
st.audio(state.clip(key, 0.0, min(ws.audio.duration_s, 60.0), ws.audio), format="audio/wav")
st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
