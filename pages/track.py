"""Track: keep the demo or upload a file; what the track is (duration, rate, tempo); hear it."""

from __future__ import annotations

import streamlit as st

from loopfind_app import state
from loopfind_app.analysis import say_crash
from loopfind_app.text import format_time, plain
from loopfind_app.waveform_player import waveform_player
from loopfind_core.base.errors import AnalysisCrashError, LoopfindError
from loopfind_core.interactive.figures import spectrogram_figure

DEMO_POLL_S = 0.5  # how often the "being prepared" note updates

st.title("Track")
left, right = st.columns([2, 1])
with right:  # first: on a fresh machine it is usable while the demo is being composed
    st.subheader("Your own track")
    upload = st.file_uploader(
        "WAV, MP3, OGG or FLAC, up to 20 minutes", type=state.UPLOAD_TYPES,
        key="upload", help="Kept in the server's cache folder so you can resume your hunt later; "
             "deleted after 30 days unused.",
    )
    if upload is not None and st.session_state.get("upload_id") != upload.file_id:
        st.session_state.upload_id = upload.file_id  # decode each upload once
        try:
            with st.spinner("Decoding…"):
                loaded = state.use_upload(upload.name, upload.getvalue())
            st.success(f"Loaded {plain(loaded.audio.name)}. Next: select a sound.")
        except AnalysisCrashError as error:
            st.session_state.pop("upload_id", None)  # Retry decodes the same upload again
            say_crash(error, "retry_upload")
        except LoopfindError as error:
            st.error(f"{error} The current track is kept.")

try:
    ws = state.workspace()
except state.DemoPending:
    # The first start of a machine: the demo is composed in the background. Wait for it here,
    # saying so; the uploader above stays usable (an upload or a page change ends the wait).
    with left:
        note = st.empty()
        while (job := state.demo_job()) is not None:
            note.info(f"The demo track is being prepared… {job.elapsed_s:.0f} s (it is composed "
                      "once per machine). Meanwhile you can upload your own track.",
                      icon=":material/hourglass_top:")
            state.wait_for_demo(DEMO_POLL_S)
        note.empty()
    ws = state.workspace()

with right:
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
c1, c2, c3, c4 = st.columns(4)  # the full width: each figure reads whole at 1280 px
c1.metric("Duration", format_time(ws.audio.duration_s))
c2.metric("Sample rate", f"{ws.audio.original_sr_hz / 1000:g} kHz",
          help=f"The file: {ws.audio.original_sr_hz} Hz, {ws.audio.original_channels} "
               f"channel(s). Decoded to {ws.audio.sr_hz} Hz mono for analysis.")
c3.metric("Tempo", f"{beats.tempo_bpm:.1f} BPM" if beats.has_beats else "—")
c4.metric("Beats found", len(beats.beat_times_s))

key = ws.audio.content_hash
waveform_player(ws.audio, f"track_player_{key[:12]}", beats)
times, image = state.spectrogram(key, ws.audio)
st.plotly_chart(spectrogram_figure(times, image), key="track_overview",
                config={"displaylogo": False})
st.caption("Above: the waveform (grey lines: bars, every 4th beat, from the beat tracker) and "
           "the whole track's player. Below: its log-mel spectrogram, silence black. Then go to "
           "**Select** to point at a sound.")
st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
