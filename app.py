"""Loopfind: find every occurrence of a sound in a track. ``streamlit run app.py``.

Pages (``pages/``) only lay out; what they share — the per-session workspace and the caches,
the hunt panel, the library — is in ``loopfind_app/``, and every computation is a call into
``loopfind_core``.
"""

from __future__ import annotations

import logging

import streamlit as st

from loopfind_app import state
from loopfind_app.text import format_time, plain
from loopfind_core.base.errors import LoopfindError

st.set_page_config(page_title="Loopfind", page_icon="🔁", layout="wide")

PAGES = [
    st.Page("pages/track.py", title="Track", icon=":material/library_music:", default=True),
    st.Page("pages/select.py", title="Select", icon=":material/highlight_alt:"),
    st.Page("pages/hunt.py", title="Hunt", icon=":material/manage_search:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/preview.py", title="Preview", icon=":material/play_circle:"),
    st.Page("pages/export.py", title="Export", icon=":material/download:"),
    st.Page("pages/library.py", title="Library", icon=":material/travel_explore:"),
]

page = st.navigation(PAGES, position="top")

with st.sidebar:
    st.markdown("### :material/repeat: Loopfind")
    st.caption("Point at one loop or sample; answer yes or no; every occurrence gets marked.")
try:
    ws = state.workspace()
except LoopfindError as error:  # the demo could not be composed: say so, keep the app up
    st.error(f"The demo track could not be prepared: {error}")
    st.stop()
with st.sidebar:
    st.markdown(f"**Track:** {plain(ws.audio.name)}")
    st.caption(f"{format_time(ws.audio.duration_s)} · "
               f"{'demo, with ground truth' if ws.truth else 'your upload'}")
    if ws.selection:
        st.markdown(f"**Selection:** {format_time(ws.selection.start_s)} + "
                    f"{ws.selection.duration_s:.2f} s")
    if ws.hunts:
        st.markdown("**Hunted:** " + ", ".join(
            f"{plain(name)} ({1 + len(h.session.found)})"
            for name, h in ws.hunts.items()))

try:
    page.run()
except LoopfindError as error:
    st.error(str(error))
except Exception:  # noqa: BLE001 — a bug must not show a traceback to a user
    logging.getLogger("loopfind.app").exception("page failed")
    st.error("Something went wrong on this page. Your track and hunts are kept; "
             "try again, or reload the page.")
