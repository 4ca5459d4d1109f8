"""Export: every hunted sound's occurrences as CSV, JSON, Audacity labels or MIDI."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from loopfind_app import state
from loopfind_app.text import plain
from loopfind_core.interactive.export import FORMATS, export, export_file_name

ws = state.workspace()
st.title("Export")
if not ws.hunts:
    st.info("Nothing hunted yet: select a sound and hunt it first.")
    st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
    st.stop()

st.caption("Every hunted sound exports together; events are the query and each confirmed "
           "occurrence. Uncheck a sound to leave it out.")
chosen = [name for name in ws.hunts
          if st.checkbox(f"{plain(name)} — {1 + len(ws.hunts[name].session.found)} "
                         "events",
                         value=True, key=f"export_{name}")]
events = [e for e in ws.events() if e.sound in chosen]
if not events:
    st.warning("Choose at least one sound.")
    st.stop()

info = ws.track_info
st.dataframe(pd.DataFrame([
    {"sound": e.sound, "start (s)": round(e.start_s, 3), "end (s)": round(e.end_s, 3),
     "beat": round(info.beats.beat_position(e.start_s), 2) if info.beats.has_beats else None,
     "confidence": round(e.confidence, 3)} for e in events
]), hide_index=True, key="events_table")

LABELS = {"csv": "CSV", "json": "JSON (game engines)", "audacity": "Audacity labels",
          "midi": "MIDI markers", "osu": "osu! beatmap", "beatsaber": "Beat Saber notes"}
columns = st.columns(3) + st.columns(3)
for column, fmt in zip(columns, FORMATS):
    column.download_button(
        LABELS[fmt], data=export(events, info, fmt), file_name=export_file_name(info, fmt),
        mime=FORMATS[fmt][1], key=f"download_{fmt}", icon=":material/download:",
        on_click="ignore", use_container_width=True,
    )
with st.expander("Preview JSON"):
    st.code(export(events, info, "json").decode(), language="json")
