"""Preview: the track plays and every exported event fires in its lane, in sync."""

from __future__ import annotations

import streamlit as st

from loopfind_app import preview, sidebar, state

ws = state.workspace()
st.title("Preview")
st.caption("The track plays and every event the exports hold fires in its sound's lane, on the "
           "audio clock: what the game will get. Space plays and pauses.")
if "preview_error" in st.session_state:
    st.error(st.session_state.pop("preview_error"))

if not ws.hunts:
    if ws.truth:
        st.info("Nothing hunted yet. Hunt a sound, or let the demo's ground truth answer a hunt "
                "for you in one click.")
        preview.offer_demo_sound(ws)
    else:
        st.info("Nothing hunted yet: select a sound and hunt it first.")
        st.page_link("pages/select.py", label="Select a sound →",
                     icon=":material/highlight_alt:")
    sidebar.stop_page()

left, middle, right = st.columns([2.2, 1.3, 1], vertical_alignment="bottom")
with left:
    preview.offset_slider(ws)
with middle:
    preview.offer_demo_sound(ws)
with right:
    st.page_link("pages/export.py", label="Export →", icon=":material/download:")
preview.player(ws)
st.caption("Clicks are scheduled on the Web Audio clock, sample-accurate against the track; the "
           "notes are drawn from the same clock, within a frame of the sound. Slower speeds lower "
           "the pitch (the track is resampled, which keeps it locked to that clock).")
