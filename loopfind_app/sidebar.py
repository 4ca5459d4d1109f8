"""The sidebar's summary of this session: the track, the selection, the hunted sounds.

``app.py`` draws it after the page has run, so whatever the page changed shows at once. The
hunt panel reruns alone (a fragment) on each answer and a fragment cannot draw in the sidebar,
so while a hunt is on the summary is a fragment that redraws itself every
:data:`LIVE_SUMMARY_S` seconds. Rerunning it from the answer deck's callback
(``st.rerun([panel, summary])``) was tried and lost answers after a server restart
(tests/system/test_browser_resume.py); a timer measured before the deck slowed answers (0.99 s
instead of 0.59 s median) because answers then waited for the server — with the deck they do
not.
"""

from __future__ import annotations

import streamlit as st

from loopfind_app import state
from loopfind_app.text import format_time, plain
from loopfind_core.interactive.workspace import Workspace

SUMMARY_FRAGMENT = "sidebar_summary"  # the summary's fragment key


def summary_lines(ws: Workspace) -> list[str]:
    """The summary as Markdown lines (user text escaped)."""
    lines = [f"**Track:** {plain(ws.audio.name)}"]
    if ws.selection:
        lines.append(f"**Selection:** {format_time(ws.selection.start_s)} + "
                     f"{ws.selection.duration_s:.2f} s")
    if ws.hunts:
        lines.append("**Hunted:** " + ", ".join(
            f"{plain(name)} ({1 + len(h.session.found)})" for name, h in ws.hunts.items()))
    return lines


def _draw(ws: Workspace) -> None:
    lines = summary_lines(ws)
    st.markdown(lines[0])
    st.caption(f"{format_time(ws.audio.duration_s)} · "
               f"{'demo, with ground truth' if ws.truth else 'your upload'}")
    for line in lines[1:]:
        st.markdown(line)


@st.fragment(key=SUMMARY_FRAGMENT)
def _summary() -> None:
    try:
        ws = state.workspace()
    except state.DemoPending:
        st.caption("Demo track: being prepared…")
        return
    _draw(ws)


LIVE_SUMMARY_S = 2.0  # while a hunt is on, the summary redraws itself this often (seconds)


@st.fragment(run_every=LIVE_SUMMARY_S)
def _live_summary() -> None:
    """The summary while a hunt is on: answers are recorded by the hunt panel's fragment, which
    cannot draw in the sidebar, so the summary catches up on its own within LIVE_SUMMARY_S."""
    _draw(state.workspace())


def summary() -> None:
    """Draw the summary (call it inside ``st.sidebar``, once per run)."""
    try:
        hunting = bool(state.workspace().hunts)
    except state.DemoPending:
        hunting = False
    if hunting:
        _live_summary()
    else:
        _summary()


@st.fragment(run_every=1.0)
def demo_pending_note() -> None:
    """What a page that needs the demo shows while it is being composed; it reruns the app
    when the demo is ready."""
    job = state.demo_job()
    if job is None:
        st.rerun(scope="app")
    st.info(f"The demo track is being prepared… {job.elapsed_s:.0f} s (once per machine, about "
            "15 s); this page opens when it is ready. Meanwhile you can upload your own track "
            "on **Track**.", icon=":material/hourglass_top:")
    st.page_link("pages/track.py", label="Track →", icon=":material/library_music:")
