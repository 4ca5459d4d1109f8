"""Library: hunt the selected sound across every track of an indexed library."""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

import app_state
from loopfind_core.base.errors import LoopfindError
from loopfind_core.library.hunt import hunt_library
from loopfind_core.library.manifest import track_audio_path
from loopfind_core.library.vector_index import DEFAULT_SHORTLIST_TRACKS
from loopfind_core.retrieval.session import DEFAULT_PATIENCE

ws = app_state.workspace()
st.title("Library")
st.caption("Hunt the selected sound across many tracks at once. A vector index (faiss) lists "
           "the tracks most likely to hold it; those are searched exactly, and your answers "
           "steer the hunt as on the Hunt page.")

try:
    info = app_state.library_info()
except LoopfindError as error:  # the server's library is misconfigured: say so, keep the app up
    st.error(f"The library cannot be opened: {error}")
    st.stop()
if info is None:
    st.info("No library is set up on this server (an operator sets `LOOPFIND_LIBRARY` to a "
            "folder made by `python -m loopfind_core index MUSIC --out INDEX`). You can build "
            "the demo library: the 8 generated tracks of the demo corpus, about a minute once.")
    if st.button("Build the demo library", type="primary", icon=":material/library_add:"):
        app_state.build_demo_library()
        st.rerun()
    st.stop()

st.markdown(f"**{'Demo library' if info.demo else app_state.plain(info.path.name)}** · "
            f"{len(info.track_hashes)} tracks · {info.hours:.1f} h · "
            f"{app_state.KIND_LABELS.get(info.kind, info.kind)}"
            f"{' (whitened)' if info.whiten is not None else ''}")

if ws.selection is None:
    st.info("Select a sound first: the query comes from the current track's selection.")
    st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
    st.stop()

sel = ws.selection
own_track = next((name for name, content_hash in sorted(info.track_hashes.items())
                  if content_hash == ws.audio.content_hash), None)


def start_library_hunt() -> None:
    state = st.session_state
    exhaustive = bool(state.get("library_every_track"))
    try:
        query_values = None if own_track else ws.feature_track(info.kind, info.whiten).values
        state.library_hunt = hunt_library(
            info.path, own_track or (ws.audio.name or "query"), sel.start_s, sel.duration_s,
            query_values=query_values,
            shortlist_tracks=0 if exhaustive else int(state.library_shortlist),
            patience=int(state.library_patience))
    except LoopfindError as error:
        state.library_error = str(error)


with st.container(border=True):
    c1, c2, c3 = st.columns([1.2, 1, 1], vertical_alignment="bottom")
    c1.number_input("Tracks searched exactly", 1, 64, DEFAULT_SHORTLIST_TRACKS,
                    key="library_shortlist",
                    help="The vector index lists the tracks most likely to hold the sound; "
                         "these are searched exactly. More tracks: more candidates to judge.")
    c2.number_input("Patience", 1, 50, DEFAULT_PATIENCE, key="library_patience",
                    help="How many ‘no’ answers end the hunt")
    c3.button("Hunt the library", type="primary", icon=":material/travel_explore:",
              use_container_width=True, on_click=start_library_hunt)
    st.caption(f"Query: {app_state.plain(ws.audio.name)} · {app_state.format_time(sel.start_s)}"
               f" + {sel.duration_s:.2f} s"
               f"{' (this track is in the library)' if own_track else ''}")
    if len(info.track_hashes) <= 100:
        st.checkbox("Search every track exactly (slower; small libraries only)",
                    key="library_every_track")
if "library_error" in st.session_state:
    st.error(st.session_state.pop("library_error"))


def answer(yes: bool) -> None:
    hunt = st.session_state.get("library_hunt")
    if hunt is not None and hunt.session.propose() is not None:
        hunt.session.answer(yes)


def undo() -> None:
    if (hunt := st.session_state.get("library_hunt")) is not None:
        hunt.session.undo()


def finish() -> None:
    if (hunt := st.session_state.get("library_hunt")) is not None:
        hunt.session.finish()


def listen(track: str, start_s: float, end_s: float, autoplay: bool = False) -> None:
    """Play a window of a library track, or of the query's own (uploaded) track."""
    if track not in info.track_hashes:
        st.audio(app_state.clip(ws.audio.content_hash, start_s, end_s, ws.audio),
                 format="audio/wav", autoplay=autoplay)
        return
    try:
        path = str(track_audio_path(info.path, track))
    except LoopfindError as error:
        st.caption(str(error))
        return
    st.audio(app_state.library_clip(path, start_s, end_s), format="audio/wav",
             autoplay=autoplay)


@st.fragment
def panel() -> None:
    """The hunt across the library; it reruns alone on every answer."""
    hunt = st.session_state.get("library_hunt")
    if hunt is None:
        st.info("Press **Hunt the library**.")
        return
    session = hunt.session
    candidate = session.propose()
    m1, m2, m3 = st.columns([1, 1, 2])
    m1.metric("Occurrences", 1 + len(session.found), help="the query and every confirmed one")
    m2.metric("Tracks searched", len(hunt.library.tracks))
    with m3:
        st.caption(f"Patience: {session.patience_left} of {session.patience} ‘no’ left")
        st.progress(session.patience_left / session.patience)
    if hunt.shortlist is not None:
        with st.expander(f"Tracks the vector index listed ({hunt.shortlist.seconds * 1000:.0f} "
                         f"ms)"):
            st.dataframe(pd.DataFrame({"track": hunt.shortlist.names,
                                       "score": hunt.shortlist.scores}), hide_index=True)

    query_track, query_at = hunt.location(session.query)
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**Query** · {app_state.plain(query_track)} · "
                    f"{app_state.format_time(query_at)}")
        listen(query_track, query_at, query_at + session.query.duration_s)
    with right, st.container(border=True):
        if candidate is not None:
            track, at_s = hunt.location(candidate)
            st.markdown(f"**Candidate {len(session.history) + 1}** · "
                        f"{app_state.plain(track)} · {app_state.format_time(at_s)} · "
                        f"similarity {session.confidence(candidate):.0%}")
            listen(track, at_s, at_s + candidate.duration_s, autoplay=True)
        else:
            st.markdown(f"**Hunt finished** · {1 + len(session.found)} occurrences marked")

    b1, b2, b3, b4, _ = st.columns([1, 1, 1, 1, 2])
    waiting = candidate is not None
    b1.button("Yes", key="library_yes", type="primary", icon=":material/check:", shortcut="Y",
              disabled=not waiting, on_click=answer, args=(True,), use_container_width=True)
    b2.button("No", key="library_no", icon=":material/close:", shortcut="N",
              disabled=not waiting, on_click=answer, args=(False,), use_container_width=True)
    b3.button("Undo", key="library_undo", icon=":material/undo:", shortcut="U",
              disabled=not session.history and waiting, on_click=undo,
              use_container_width=True)
    b4.button("Done", key="library_done", icon=":material/flag:", shortcut="D",
              disabled=not waiting, on_click=finish, use_container_width=True)

    events = pd.DataFrame([{"track": e.track, "start (s)": round(e.start_s, 3),
                            "end (s)": round(e.end_s, 3),
                            "start": app_state.format_time(e.start_s)}
                           for e in hunt.events()])
    n_tracks = events["track"].nunique()
    st.markdown(f"**Found in {n_tracks} track{'s' if n_tracks != 1 else ''}**")
    st.dataframe(events, hide_index=True, key="library_found")
    buffer = io.StringIO()
    events[["track", "start (s)", "end (s)"]].to_csv(buffer, index=False)
    st.download_button("Download CSV", buffer.getvalue(), file_name="library_occurrences.csv",
                       mime="text/csv", icon=":material/download:", key="library_csv")


panel()
