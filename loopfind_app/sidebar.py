"""The sidebar's summary of this session: the track, the selection, the hunted sounds.

``app.py`` draws it after the page has run, so whatever the page changed shows at once (a page
that ends early draws it first: :func:`stop_page`). The hunt panel reruns alone (a fragment)
on each answer and a fragment cannot draw in the sidebar, so once the workspace holds a hunt
(any of the Hunt page's, finished or not; the Library page's hunt does not count) the summary
is a fragment that redraws itself every :data:`LIVE_SUMMARY_S` seconds, on every page, for as
long as the tab is open and the workspace holds a hunt. Rerunning it from the answer deck's
callback (``st.rerun([panel, summary])``) was tried and lost answers after a server restart
(tests/system/test_browser_resume.py). What the timer costs per answer was measured with the
answer deck (docs/results.md §7) and before it (there, "Superseded in issue 21").
"""

from __future__ import annotations

from typing import NoReturn

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


LIVE_SUMMARY_S = 2.0  # while the workspace holds a hunt, the summary redraws itself this often (s)


@st.fragment(run_every=LIVE_SUMMARY_S)
def _live_summary() -> None:
    """The summary while the workspace holds a hunt: answers are recorded by the hunt panel's
    fragment, which cannot draw in the sidebar, so the summary catches up on its own within
    LIVE_SUMMARY_S."""
    _draw(state.workspace())


def summary() -> None:
    """Draw the summary (call it inside ``st.sidebar``, once per run; or end the page with
    :func:`stop_page`)."""
    try:
        hunting = bool(state.workspace().hunts)
    except state.DemoPending:
        hunting = False
    if hunting:
        _live_summary()
    else:
        _summary()


def stop_page() -> NoReturn:
    """End the page here, as ``st.stop()`` does, with the summary drawn first. After
    ``st.stop()`` the run stays stopped: every element drawn later raises Streamlit's stop
    again, so the summary ``app.py`` draws after the page would never show. Pages end early
    with this instead."""
    with st.sidebar:
        summary()
    st.stop()


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
