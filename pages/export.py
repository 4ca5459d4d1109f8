"""Export: every hunted sound's occurrences for DAWs (CSV, Audacity labels, MIDI) and for games
(versioned JSON, an osu! beatmap archive, a Beat Saber map)."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd
import streamlit as st

from loopfind_app import sidebar, state
from loopfind_app.text import plain
from loopfind_core.interactive.export import (
    EVENTS_SCHEMA_VERSION,
    FORMAT_LABELS,
    FORMATS,
    PACKAGE_FORMATS,
    export,
    export_file_name,
)

SCHEMA_FILE = "events.schema.json"  # package data of loopfind_core.interactive

ws = state.workspace()
st.title("Export")
if not ws.hunts:
    st.info("Nothing hunted yet: select a sound and hunt it first.")
    st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
    sidebar.stop_page()

st.caption("Every hunted sound exports together; events are the query and each confirmed "
           "occurrence. Uncheck a sound to leave it out.")
chosen = [name for name in ws.hunts
          if st.checkbox(f"{plain(name)} — {1 + len(ws.hunts[name].session.found)} "
                         "events",
                         value=True, key=f"export_{name}")]
events = [e for e in ws.events() if e.sound in chosen]
if not events:
    st.warning("Choose at least one sound.")
    sidebar.stop_page()

info = ws.track_info
st.dataframe(pd.DataFrame([
    {"sound": e.sound, "start (s)": round(e.start_s, 3), "end (s)": round(e.end_s, 3),
     "beat": round(info.beats.beat_position(e.start_s), 2) if info.beats.has_beats else None,
     "chance": round(e.chance, 3)} for e in events
]), hide_index=True, key="events_table",
    column_config={"chance": st.column_config.ProgressColumn(
        "chance", min_value=0.0, max_value=1.0, format="%.2f",
        help="how likely the window was the sound when it was shown (1: the query)")})

ROWS = (("For DAWs and spreadsheets", ("csv", "audacity", "midi")),
        ("For games", ("json", "osz", "beatsaber")))


def deferred(fmt: str, audio=ws.audio):
    """The package's bytes, made only when its button is pressed (they encode the song)."""
    return lambda: export(events, info, fmt, audio=audio)


for heading, formats in ROWS:
    st.markdown(f"**{heading}**")
    for column, fmt in zip(st.columns(len(formats)), formats):
        column.download_button(
            FORMAT_LABELS[fmt], file_name=export_file_name(info, fmt), mime=FORMATS[fmt][1],
            data=deferred(fmt) if fmt in PACKAGE_FORMATS else export(events, info, fmt),
            key=f"download_{fmt}", icon=":material/download:", on_click="ignore",
            use_container_width=True,
        )
note, schema = st.columns([4, 1], vertical_alignment="center")
note.caption(f"JSON: one shape for any number of sounds, schema version "
             f"{EVENTS_SCHEMA_VERSION}, described by its JSON Schema (the button beside). The "
             "osu! and Beat Saber downloads hold the song (Ogg Vorbis) and a cover drawn from "
             "it: open the `.osz` with osu!; unzip the Beat Saber map into its own folder in "
             "`Beat Saber_Data/CustomLevels`, or open it in a map editor. The song is encoded "
             "when you press the button (a second or two).")
schema.download_button(
    "JSON Schema", data=files("loopfind_core.interactive").joinpath(SCHEMA_FILE).read_bytes(),
    file_name=SCHEMA_FILE, mime="application/schema+json", key="download_schema",
    icon=":material/download:", on_click="ignore", use_container_width=True,
    help="The schema every JSON export follows (JSON Schema draft 2020-12), as shipped with "
         "Loopfind.")
with st.expander("Preview JSON"):
    st.code(export(events, info, "json").decode(), language="json")
