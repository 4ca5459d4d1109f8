"""Library: hunt the selected sound across every track of an indexed library."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from loopfind_app import sidebar, state
from loopfind_app.hunt_panel import hunt_panel
from loopfind_app.library import (
    LibraryHuntView,
    build_demo_library,
    library_info,
    restored_library_hunt,
    start_library_hunt,
)
from loopfind_app.text import format_time, plain
from loopfind_core.base.errors import LoopfindError
from loopfind_core.library.vector_index import DEFAULT_SHORTLIST_TRACKS
from loopfind_core.retrieval.session import DEFAULT_PATIENCE

EVERY_TRACK_OFFERED_UP_TO = 100  # tracks: searching them all exactly stays quick enough

ws = state.workspace()
st.title("Library")
st.caption("Hunt the selected sound across many tracks at once. A vector index (faiss) lists "
           "the tracks most likely to hold it; those are searched exactly, and your answers "
           "steer the hunt as on the Hunt page.")

try:
    info = library_info()
except LoopfindError as error:  # the server's library is misconfigured: say so, keep the app up
    st.error(f"The library cannot be opened: {error}")
    sidebar.stop_page()
if info is None:
    st.info("No library is set up on this server (an operator sets `LOOPFIND_LIBRARY` to a "
            "folder made by `python -m loopfind_core index MUSIC --out INDEX`). You can build "
            "the demo library: the 8 generated tracks of the demo corpus, about a minute once.")
    if st.button("Build the demo library", type="primary", icon=":material/library_add:"):
        build_demo_library()
        st.rerun()
    sidebar.stop_page()

st.markdown(f"**{'Demo library' if info.demo else plain(info.path.name)}** · "
            f"{len(info.track_hashes)} tracks · {info.hours:.1f} h · "
            f"{state.KIND_LABELS.get(info.kind, info.kind)}"
            f"{' (whitened)' if info.whiten is not None else ''}")

if ws.selection is None:
    st.info("Select a sound first: the query comes from the current track's selection.")
    st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
    sidebar.stop_page()

sel = ws.selection


def on_hunt_library() -> None:
    """Hunt button: hunt the selection across the library with the chosen settings."""
    settings = st.session_state
    every_track = bool(settings.get("library_every_track"))
    try:
        start_library_hunt(info.path, ws,
                           shortlist_tracks=0 if every_track else int(settings.library_shortlist),
                           patience=int(settings.library_patience))
    except LoopfindError as error:
        settings.library_error = str(error)


with st.container(border=True):
    c1, c2, c3 = st.columns([1.2, 1, 1], vertical_alignment="bottom")
    c1.number_input("Tracks searched exactly", 1, 64, DEFAULT_SHORTLIST_TRACKS,
                    key="library_shortlist",
                    help="The vector index lists the tracks most likely to hold the sound; "
                         "these are searched exactly. More tracks: more candidates to judge.")
    c2.number_input("Patience", 1, 50, DEFAULT_PATIENCE, key="library_patience",
                    help="How many ‘no’ answers end the hunt")
    c3.button("Hunt the library", type="primary", icon=":material/travel_explore:",
              use_container_width=True, on_click=on_hunt_library)
    in_library = info.track_with_hash(ws.audio.content_hash) is not None
    st.caption(f"Query: {plain(ws.audio.name)} · {format_time(sel.start_s)}"
               f" + {sel.duration_s:.2f} s"
               f"{' (this track is in the library)' if in_library else ''}")
    if len(info.track_hashes) <= EVERY_TRACK_OFFERED_UP_TO:
        st.checkbox("Search every track exactly (slower; small libraries only)",
                    key="library_every_track")
if "library_error" in st.session_state:
    st.error(st.session_state.pop("library_error"))

hunt = st.session_state.get("library_hunt") or restored_library_hunt(ws)  # after a reload
if hunt is None:
    st.info("Press **Hunt the library**.")
    sidebar.stop_page()
if hunt.shortlist is not None:
    with st.expander(f"Tracks the vector index listed ({hunt.shortlist.seconds * 1000:.0f} ms)"):
        st.dataframe(pd.DataFrame({"track": hunt.shortlist.names,
                                   "score": hunt.shortlist.scores}), hide_index=True)
hunt_panel(hunt.session, LibraryHuntView(hunt, info.path))
