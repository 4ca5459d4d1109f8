"""Loopfind: find every occurrence of a sound in a track. ``streamlit run app.py``.

Pages (``pages/``) lay out; what they share — the per-session workspace and the caches, the
hunt panel, the library — is in ``loopfind_app/``. The analysis is ``loopfind_core``'s, run in
worker processes (``loopfind_app/analysis.py``: decoding, features, beats, spectrograms,
discovery, library builds); the hunts (window searches, sessions, answers) run in the server,
also in ``loopfind_core``. The only signal processing in ``loopfind_app`` is for looking and
listening: excerpts of cached features and audio for the pictures and players, and a candidate
clip's softer lead-in (``loopfind_app/state.py``); the rest of it is state, caches and layout.
"""

from __future__ import annotations

import logging

import streamlit as st

from loopfind_app import keeping, sidebar, state
from loopfind_app.analysis import say_crash
from loopfind_core.base.errors import AnalysisCrashError, LoopfindError

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
st.session_state[keeping.VIA_APP] = True  # this session runs through app.py (keeping)

with st.sidebar:
    st.markdown("### :material/repeat: Loopfind")
    st.caption("Point at one loop or sample; answer yes or no; every occurrence gets marked.")
    summary_box = st.container()  # filled after the page ran: what the page changed shows

state.save_workspace()  # what the callbacks changed is on disk before the page draws it
keeping.draw_notices()  # what happened to this browser's saved work, in its words
if (offer := state.resume_offer()) is not None:  # a new tab of a browser that hunted before
    with st.container(border=True, key="resume_offer"):
        st.markdown(f"**Resume your last hunt?** {offer.text}")
        resume, fresh, _ = st.columns([1.4, 1, 3])
        resume.button("Resume your last hunt", type="primary", icon=":material/history:",
                      on_click=state.resume, args=(offer.token,), use_container_width=True)
        fresh.button("Start fresh", icon=":material/add:", on_click=state.dismiss_resume,
                     args=(offer.token,), use_container_width=True)

try:
    page.run()
except state.DemoPending:  # a fresh machine's first minute: the demo is being composed
    sidebar.demo_pending_note()
except AnalysisCrashError as error:  # a worker process died: this page's analysis only
    say_crash(error, "retry_page")  # Retry reruns the page, which computes it again
except LoopfindError as error:
    st.error(str(error))
except Exception:  # noqa: BLE001 — a bug must not show a traceback to a user
    logging.getLogger("loopfind.app").exception("page failed")
    st.error("Something went wrong on this page. Your track and hunts are kept; "
             "try again, or reload the page.")
finally:  # pages that end early draw it themselves (sidebar.stop_page); a failing summary
    #        must not hide the page
    with summary_box:
        try:
            sidebar.summary()
        except LoopfindError as error:
            st.caption(str(error))
