"""Select: drag a box over the waveform or spectrogram (or type the times) to pick the query."""

from __future__ import annotations

import streamlit as st

from loopfind_app import state
from loopfind_app.text import format_time
from loopfind_app.waveform_player import Mark, waveform_player, window_player
from loopfind_core.base.errors import SelectionError
from loopfind_core.interactive.figures import selection_figure

ws = state.workspace()
key = ws.audio.content_hash
st.title("Select a sound")
drag_note, snap_column = st.columns([3, 1], vertical_alignment="center")
drag_note.markdown(":material/highlight_alt: **Drag a box on this plot** over one loop or one "
                   "sample — on the waveform or the spectrogram; zoom with the scroll wheel "
                   "first for precision. Or type its start and length under it.")
snap = snap_column.toggle("Snap to the beat grid", key="snap", value=False,
                          help="Start on the nearest beat; last a whole number of beats.")
times, image = state.spectrogram(key, ws.audio)
selected = (ws.selection.start_s, ws.selection.duration_s) if ws.selection else None
event = st.plotly_chart(
    selection_figure(state.envelope(key, ws.audio), times, image, selected, ws.beats),
    key=f"select_plot_{key[:12]}", on_select="rerun", selection_mode="box",
    config={"displaylogo": False, "scrollZoom": True},
)


def box_range(chart_event) -> tuple[float, float] | None:
    """The time range of the last box dragged on the chart, if any."""
    boxes = (chart_event or {}).get("selection", {}).get("box", []) if chart_event else []
    xs = boxes[-1].get("x") if boxes else None
    return (float(min(xs)), float(max(xs))) if xs and len(xs) >= 2 else None


dragged = box_range(event)
if dragged is not None and dragged != st.session_state.get("last_box"):
    st.session_state.last_box = dragged
    try:
        chosen = ws.selection_from_box(dragged, snap)
        st.session_state.sel_start = round(chosen.start_s, 3)
        st.session_state.sel_duration = round(chosen.duration_s, 3)
        st.rerun()
    except SelectionError as error:
        st.error(str(error))

if ws.selection and "sel_start" not in st.session_state:
    st.session_state.sel_start = round(ws.selection.start_s, 3)
    st.session_state.sel_duration = round(ws.selection.duration_s, 3)

with st.form("typed_selection", border=False):
    c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="bottom")
    start = c1.number_input("Start (s)", min_value=0.0, step=0.1, format="%.3f", key="sel_start")
    duration = c2.number_input("Length (s)", min_value=0.0, step=0.1, format="%.3f",
                               key="sel_duration")
    typed = c3.form_submit_button("Use these times", icon=":material/check:")
if typed:
    try:
        ws.select(start, duration, snap)
        st.rerun()
    except SelectionError as error:
        st.error(str(error))

st.markdown(":material/headphones: **Listen**: click this waveform to hear the track from there "
            "(it plays; it does not select).")
waveform_player(ws.audio, f"select_player_{key[:12]}", ws.beats,
                [Mark(ws.selection.start_s, ws.selection.end_s, "selection")] if ws.selection
                else ())


def hunt_suggestion(start_s: float, duration_s: float) -> None:
    """One click: the suggestion becomes the selection and a hunt starts on it."""
    ws.select(start_s, duration_s)
    st.session_state.sel_start = round(start_s, 3)
    st.session_state.sel_duration = round(duration_s, 3)
    ws.start_hunt(state.feature_kinds()[0])
    st.session_state.go_hunt = True


with st.expander("Suggested sounds — the track's repeated loops and samples, found without a "
                 "click", expanded=False):
    if st.toggle("Find them", key="discover", value=False,
                 help="Searches the whole track for windows that repeat (a few seconds)."):
        kind = state.feature_kinds()[0]
        found = state.suggestions(key, kind, ws)
        if not found:
            st.info("No clearly repeated sound found.")
        for rank, suggestion in enumerate(found, start=1):
            c1, c2, c3 = st.columns([2, 3, 1], vertical_alignment="center")
            c1.markdown(f"**{rank}.** {format_time(suggestion.start_s)} · "
                        f"{suggestion.duration_s:.2f} s · {len(suggestion.occurrences)} times")
            with c2:
                window_player(ws.audio, suggestion.start_s, suggestion.end_s)
            c3.button("Hunt this", key=f"suggestion_{rank}", icon=":material/manage_search:",
                      on_click=hunt_suggestion, args=(suggestion.start_s, suggestion.duration_s))
if st.session_state.pop("go_hunt", False):
    st.switch_page("pages/hunt.py")

if ws.selection is None:
    st.info("No sound selected yet.")
else:
    sel = ws.selection
    st.success(f"Selected {format_time(sel.start_s)} – {format_time(sel.end_s)}"
               f" ({sel.duration_s:.2f} s).")
    match = ws.truth_match()
    if match:
        sound, index = match
        st.caption(f"Ground truth: this is occurrence {index + 1} of {len(sound.occurrences)} "
                   f"of the demo's {sound.category} “{sound.sound}”.")
    window_player(ws.audio, sel.start_s, sel.end_s, loop=True)
    st.page_link("pages/hunt.py", label="Hunt this sound →", icon=":material/manage_search:")
