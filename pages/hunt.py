"""Hunt: the active retrieval panel — listen, answer yes or no, watch the timeline fill."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import app_state
from loopfind_core.base.errors import SelectionError
from loopfind_core.base.spectrogram import FRAME_RATE_HZ
from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
from loopfind_core.interactive.figures import TimelineMarks, excerpt_figure, timeline_figure
from loopfind_core.retrieval.session import DEFAULT_PATIENCE, STRATEGIES

ws = app_state.workspace()
key = ws.audio.content_hash
st.title("Hunt")

if ws.selection is None:
    st.info("Select a sound first.")
    st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
    st.stop()

kinds = app_state.feature_kinds()


def start_hunt() -> None:
    """Start button: hunt the selection with the chosen settings; clear the name field so the
    next hunt gets a new name (a hunt of the same name would be replaced)."""
    state = st.session_state
    ws.whiten = DEFAULT_WHITENING_SHRINKAGE if state.whiten else None
    try:
        ws.start_hunt(state.kind, state.strategy or "active", int(state.patience),
                      state.sound_name)
        state.sound_name = ""
    except SelectionError as error:
        state.hunt_error = str(error)


with st.container(border=True):
    c1, c2, c3, c4, c5 = st.columns([1.3, 1, 0.8, 1.3, 1], vertical_alignment="bottom")
    c1.selectbox("Features", kinds, format_func=app_state.KIND_LABELS.get, key="kind")
    c2.segmented_control("Strategy", STRATEGIES, default="active", key="strategy",
                                    required=True,
                                    help="active learns from your answers; naive is the paper's "
                                         "baseline (nearest to the query only)")
    c3.number_input("Patience", 1, 50, DEFAULT_PATIENCE, key="patience",
                               help="How many ‘no’ answers end the hunt")
    c4.text_input("Sound name", placeholder=ws.next_sound_name(), max_chars=60,
                         key="sound_name")
    c5.button("Start hunt", type="primary", icon=":material/play_arrow:",
              use_container_width=True, on_click=start_hunt)
    st.toggle("Whitened features (beyond the paper; recommended)", value=True, key="whiten",
              help="Distances use the track's own covariance (Mahalanobis): what the backing "
                   "does all the time weighs less. Raised recall on every benchmark corpus.")
    if app_state.learned_problem():
        st.caption(f"Learned features are unavailable: {app_state.learned_problem()}")
sel = ws.selection
st.caption(f"Query: {app_state.format_time(sel.start_s)} – {app_state.format_time(sel.end_s)} "
           f"({sel.duration_s:.2f} s)")
hunt_query = ws.hunt.session.query if ws.hunt else None
if hunt_query and abs(hunt_query.start_s - sel.start_s) + abs(hunt_query.duration_s
                                                               - sel.duration_s) > 0.05:
    st.info("The selection has changed since this hunt started: press **Start hunt** to hunt "
            "the new one (this hunt is kept for export).")
if "hunt_error" in st.session_state:
    st.error(st.session_state.pop("hunt_error"))


def answer(yes: bool) -> None:
    hunt = ws.hunt
    if hunt is not None and hunt.session.propose() is not None:
        hunt.session.answer(yes)


def undo() -> None:
    if ws.hunt is not None:
        ws.hunt.session.undo()


def finish() -> None:
    if ws.hunt is not None:
        ws.hunt.session.finish()


def accept_confident() -> None:
    if ws.hunt is not None:
        ws.hunt.session.auto_accept(float(st.session_state.sensitivity))


def review(start_frame: int, yes: bool) -> None:
    if ws.hunt is not None:
        ws.hunt.session.revise(start_frame, yes)


MIN_ANSWERS_FOR_AUTO = 2  # answers before auto-accept is offered: the estimate needs evidence


def picture(start_s: float, end_s: float, chart_key: str) -> None:
    """The window's log-mel, small: the eye compares it with the other card's."""
    st.plotly_chart(
        excerpt_figure(app_state.mel_excerpt(ws.audio, start_s, end_s), FRAME_RATE_HZ, start_s),
        key=chart_key, config={"displayModeBar": False, "staticPlot": True},
    )


@st.fragment
def panel() -> None:
    """Everything an answer changes; it reruns alone, so an answer costs milliseconds."""
    hunt = ws.hunt
    if hunt is None:
        st.info("Choose the settings and press **Start hunt**.")
        return
    session = hunt.session
    candidate = session.propose()
    found, rejected = session.found, session.rejected
    st.subheader(f"{app_state.plain(hunt.sound)} · {app_state.KIND_LABELS[hunt.kind]}"
                 f"{' (whitened)' if hunt.whiten is not None else ''} · {hunt.strategy}")
    m1, m2, m3 = st.columns([1, 1, 2])
    m1.metric("Occurrences", 1 + len(found), help="the query and every confirmed one")
    own = sum(not a.auto for a in session.history)
    m2.metric("Answers", own, help="yours; automatic acceptances are not counted")
    with m3:
        st.caption(f"Patience: {session.patience_left} of {session.patience} ‘no’ left")
        st.progress(session.patience_left / session.patience)

    q = session.query
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**Query** · {app_state.format_time(q.start_s)}")
        st.audio(app_state.clip(key, q.start_s, q.end_s, ws.audio), format="audio/wav")
        picture(q.start_s, q.end_s, "query_mel")
    with right, st.container(border=True):
        if candidate is not None:
            st.markdown(f"**Candidate {len(session.history) + 1}** · "
                        f"{app_state.format_time(candidate.start_s)} · similarity "
                        f"{session.confidence(candidate):.0%}")
            st.audio(app_state.clip(key, candidate.start_s, candidate.end_s, ws.audio),
                     format="audio/wav", autoplay=True)
            picture(candidate.start_s, candidate.end_s, "candidate_mel")
        else:
            st.markdown(f"**Hunt finished** · {1 + len(found)} occurrences marked")
            st.caption("Export them, or select another sound to hunt.")

    b1, b2, b3, b4, _ = st.columns([1, 1, 1, 1, 2])
    waiting = candidate is not None
    b1.button("Yes", key="yes", type="primary", icon=":material/check:", shortcut="Y",
              disabled=not waiting, on_click=answer, args=(True,), use_container_width=True)
    b2.button("No", key="no", icon=":material/close:", shortcut="N", disabled=not waiting,
              on_click=answer, args=(False,), use_container_width=True)
    b3.button("Undo", key="undo", icon=":material/undo:", shortcut="U",
              disabled=not session.history and waiting, on_click=undo,
              use_container_width=True)
    b4.button("Done", key="done", icon=":material/flag:", shortcut="D", disabled=not waiting,
              on_click=finish, use_container_width=True)

    if waiting and len(session.history) >= MIN_ANSWERS_FOR_AUTO:
        auto_accept_panel(session)

    marks = TimelineMarks(
        query=(q.start_s, q.end_s),
        found=[(c.start_s, c.end_s) for c in found],
        rejected=[(c.start_s, c.end_s) for c in rejected],
        candidate=(candidate.start_s, candidate.end_s) if candidate else None,
        automatic=[(c.start_s, c.end_s) for c in session.auto_accepted],
    )
    st.plotly_chart(timeline_figure(app_state.envelope(key, ws.audio), marks),
                    key="timeline", config={"displaylogo": False})
    st.caption("Timeline: blue = query, green = found (dotted edge: auto-accepted), red = "
               "rejected, dotted orange = the candidate now. Zoom by dragging on the plot; "
               "double-click to reset.")
    rows = [{"#": 0, "start": app_state.format_time(q.start_s), "seconds": round(q.start_s, 3),
             "duration (s)": round(q.duration_s, 3), "distance": 0.0, "similarity": 1.0,
             "note": "query"}]
    automatic = {c.start_frame for c in session.auto_accepted}
    rows += [{"#": k, "start": app_state.format_time(c.start_s), "seconds": round(c.start_s, 3),
              "duration (s)": round(c.duration_s, 3), "distance": round(c.distance, 3),
              "similarity": round(session.confidence(c), 3),
              "note": "auto-accepted" if c.start_frame in automatic else ""}
             for k, c in enumerate(found, start=1)]
    st.caption("Found: distance = the strategy's score when it was proposed (mean squared "
               "feature distance per frame; lower = closer); similarity = closeness to the query "
               "(1 = identical, 0 = like a typical window of the track).")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="found_table",
                 column_config={"similarity": st.column_config.ProgressColumn(
                     "similarity", min_value=0.0, max_value=1.0, format="%.2f")})
    if session.auto_accepted:
        with st.expander(f"Review {len(session.auto_accepted)} auto-accepted occurrences"):
            for c in session.auto_accepted:
                c1, c2, c3, c4 = st.columns([1, 3, 1, 1], vertical_alignment="center")
                c1.markdown(f"{app_state.format_time(c.start_s)} · "
                            f"{session.confidence(c):.0%}")
                c2.audio(app_state.clip(key, c.start_s, c.end_s, ws.audio), format="audio/wav")
                c3.button("Keep", key=f"keep_{c.start_frame}", icon=":material/check:",
                          on_click=review, args=(c.start_frame, True))
                c4.button("Reject", key=f"reject_{c.start_frame}", icon=":material/close:",
                          on_click=review, args=(c.start_frame, False))
    if not waiting:
        st.page_link("pages/export.py", label="Export →", icon=":material/download:")


def auto_accept_panel(session) -> None:
    """Offer to accept every remaining candidate above a confidence, with the precision the
    user's own answers suggest for it."""
    with st.container(border=True):
        c1, c2, c3 = st.columns([2, 2, 1.2], vertical_alignment="center")
        threshold = c1.slider("Sensitivity: accept at similarity ≥", 0.3, 0.95, 0.6, 0.05,
                              key="sensitivity",
                              help="Lower accepts more occurrences, and more mistakes.")
        precision, count = session.precision_estimate(threshold)
        c2.caption(
            f"Your answers so far: {precision:.0%} of the {count} candidates at similarity ≥ "
            f"{threshold:.2f} were right." if count else
            f"No answered candidate reached {threshold:.2f} yet: no estimate of precision.")
        c3.button("Accept all above", key="accept_confident", icon=":material/done_all:",
                  on_click=accept_confident, use_container_width=True)


panel()
