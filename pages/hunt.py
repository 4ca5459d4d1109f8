"""Hunt: the active retrieval panel — listen, answer yes or no, watch the timeline fill."""

from __future__ import annotations

import streamlit as st

from loopfind_app import sidebar, state
from loopfind_app.batch_review import review_panel
from loopfind_app.text import format_time, plain
from loopfind_app.track_hunt import TrackHuntView
from loopfind_core.base.errors import SelectionError
from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
from loopfind_core.retrieval.defaults import APP_HUNT
from loopfind_core.retrieval.session import STRATEGIES

ws = state.workspace()
st.title("Hunt")

if ws.selection is None:
    st.info("Select a sound first.")
    st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
    sidebar.stop_page()

kinds = state.feature_kinds()
sel = ws.selection


def start_hunt() -> None:
    """Start button: hunt the selection with the chosen settings; clear the name field so the
    next hunt gets a new name (a hunt of the same name would be replaced)."""
    settings = st.session_state
    ws.whiten = DEFAULT_WHITENING_SHRINKAGE if settings.whiten else None
    try:
        ws.start_hunt(settings.kind, settings.strategy or APP_HUNT.strategy, int(settings.patience),
                      settings.sound_name)
        settings.sound_name = ""
    except SelectionError as error:
        settings.hunt_error = str(error)


def hunt_settings() -> None:
    """The settings of a new hunt, the Start button, and what the selection is."""
    c1, c2, c3, c4, c5 = st.columns([1.3, 1, 0.8, 1.3, 1], vertical_alignment="bottom")
    c1.selectbox("Features", kinds, format_func=state.KIND_LABELS.get, key="kind")
    c2.segmented_control("Strategy", STRATEGIES, default=APP_HUNT.strategy, key="strategy",
                         required=True,
                         help="active learns from your answers; naive is the paper's "
                              "baseline (nearest to the query only)")
    c3.number_input("Patience", 1, 50, APP_HUNT.patience, key="patience",
                    help="How many ‘no’ answers end the hunt")
    c4.text_input("Sound name", placeholder=ws.next_sound_name(), max_chars=60,
                  key="sound_name")
    c5.button("Start hunt", type="primary", icon=":material/play_arrow:",
              use_container_width=True, on_click=start_hunt)
    toggle, query = st.columns([3, 2], vertical_alignment="center")
    toggle.toggle("Whitened features (beyond the paper; recommended)",
                  value=APP_HUNT.whiten is not None, key="whiten",
                  help="Distances use the track's own covariance (Mahalanobis): what the "
                       "backing does all the time weighs less. Raised recall on every "
                       "benchmark corpus.")
    query.caption(f"Query: {format_time(sel.start_s)} – {format_time(sel.end_s)} "
                  f"({sel.duration_s:.2f} s)")
    if state.learned_problem():
        st.caption(f"Learned features are unavailable: {state.learned_problem()}")


hunt_query = ws.hunt.session.query if ws.hunt else None
selection_changed = hunt_query is not None and abs(hunt_query.start_s - sel.start_s) + abs(
    hunt_query.duration_s - sel.duration_s) > 0.05
if ws.hunt is None:  # the settings are what the page is for
    with st.container(border=True):
        hunt_settings()
else:  # folded, so the hunt's cards and buttons fit a laptop's screen
    with st.expander("New hunt: features, strategy, patience, name", icon=":material/tune:",
                     expanded=selection_changed):
        hunt_settings()
if selection_changed:
    st.info("The selection has changed since this hunt started: press **Start hunt** to hunt "
            "the new one (this hunt is kept for export).")
if "hunt_error" in st.session_state:
    st.error(st.session_state.pop("hunt_error"))

hunt = ws.hunt
if hunt is None:
    st.info("Choose the settings and press **Start hunt**.")
    sidebar.stop_page()
st.subheader(f"{plain(hunt.sound)} · {state.KIND_LABELS[hunt.kind]}"
             f"{' (whitened)' if hunt.whiten is not None else ''} · {hunt.strategy}")
review_panel(hunt.session, TrackHuntView(ws))  # one at a time, or 12 at a time
