"""The sidebar's summary of this session: the track, the selection, the hunted sounds.

``app.py`` draws it after the page has run, so whatever the page changed shows at once. The
hunt panel reruns alone (a fragment) on each answer, which leaves the rest of the page as it
was; so the summary is a fragment of its own, keyed :data:`SUMMARY_FRAGMENT`, and an answer's
callback reruns it together with the panel: ``st.rerun([panel_key, SUMMARY_FRAGMENT])``
(:func:`rerun_with_summary`), a few Markdown lines more per answer. (A timer that redraws it
every second was measured instead: answers settled in 0.99 s instead of 0.59 s, median of 12.)
"""

from __future__ import annotations

import streamlit as st

from loopfind_app import state
from loopfind_app.text import format_time, plain
from loopfind_core.interactive.workspace import Workspace

SUMMARY_FRAGMENT = "sidebar_summary"  # the key an answer callback reruns it by


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


def summary() -> None:
    """Draw the summary (call it inside ``st.sidebar``, once per run)."""
    _summary()


def rerun_with_summary(*fragment_keys: str) -> None:
    """From a widget callback that changes hunts (an answer): rerun the fragments
    ``fragment_keys`` (the panel) and the summary, instead of the panel alone."""
    st.rerun([*fragment_keys, SUMMARY_FRAGMENT])


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
