"""How a hunt is answered: adaptively (the default), one candidate at a time, or 12 at a time.

:func:`review_panel` is what the Hunt and Library pages place: a choice between

- **Adaptive** (the app's default, ``retrieval.review.ADAPTIVE``): while the next windows are
  likely matches the session shows them as one page (``RetrievalSession.next_page``), those
  likely enough ticked in advance, so the user only corrects; while matches are rare, one
  candidate at a time on the answer deck, so each answer steers the next;
- **One at a time**: always the deck (:func:`~loopfind_app.hunt_panel.hunt_panel`);
- **12 at a time**: always a page of ``RetrievalSession.next_batch(12)``.

A page is a grid; each cell has the window's time and its chance of being the sound, its
picture (the view's ``picture`` hook, as on the cards), a player that starts a second before
the window, and a check box "Is this the sound?". "Submit" records the page with
``answer_batch``: every window is an answer (ticked = yes), and a page with nothing ticked
costs one 'no' of patience. The timeline and the found table follow.
"""

from __future__ import annotations

import streamlit as st

from loopfind_app import state
from loopfind_app.hunt_panel import (
    HuntView,
    Place,
    found_table,
    hunt_panel,
    place_label,
    play_window,
)
from loopfind_core.base.errors import SelectionError
from loopfind_core.retrieval.review import left_text
from loopfind_core.retrieval.session import Candidate, RetrievalSession

BATCH_SIZE = 12
CONTEXT_S = 1.0  # each player starts this long before its window
GRID_COLUMNS = 3
ADAPTIVE = "Adaptive"
ONE_AT_A_TIME = "One at a time"
BATCH = f"{BATCH_SIZE} at a time"
BATCH_CAPTION = (
    f"Tick every window that is the sound, then submit. Each player starts {CONTEXT_S:.0f} s "
    "before its window. Every window on the page counts as an answer; a page with nothing "
    "ticked counts as one ‘no’ against patience."
)
ADAPTIVE_CAPTION = (
    "These windows are likely the sound: those ticked are very likely. Untick what is not the "
    f"sound, tick what is, then submit. Each player starts {CONTEXT_S:.0f} s before its window."
)


def review_panel(session: RetrievalSession, view: HuntView) -> None:
    """A choice of how to answer (adaptive, one at a time, or pages of 12), then that panel."""
    mode = st.segmented_control(
        "Answer", (ADAPTIVE, ONE_AT_A_TIME, BATCH), default=ADAPTIVE, required=True,
        key=view.key("review_mode"),
        help=f"{ADAPTIVE}: a page of the likely windows, ticked in advance, while matches are "
             "dense; one candidate at a time while they are rare. "
             f"{BATCH}: always a page of the next {BATCH_SIZE} candidates.")
    if mode == BATCH:
        batch_review(session, view)
    elif mode == ADAPTIVE and len(session.next_page()) > 1:
        batch_review(session, view, adaptive=True)
    else:
        hunt_panel(session, view, adaptive=mode == ADAPTIVE)


def with_context(place: Place, context_s: float = CONTEXT_S) -> Place:
    """The same window, starting ``context_s`` earlier (never before the track's start)."""
    return Place(max(0.0, place.start_s - context_s), place.end_s, place.track)


def tick_key(view: HuntView, session: RetrievalSession, candidate: Candidate,
             adaptive: bool = False) -> str:
    """The check box of ``candidate`` on the page shown after ``len(session.history)``
    answers: a new page (or the other kind of page) gets new boxes."""
    kind = "adaptive" if adaptive else "batch"
    return view.key(f"{kind}_tick_{len(session.history)}_{candidate.start_frame}")


# ----- the callbacks: they run before the view reruns ------------------------------------------


def _submit(session: RetrievalSession, batch: list[Candidate], keys: list[str]) -> None:
    if session.next_batch(len(batch)) != batch:  # a second click: the page is answered
        return
    if len(batch) == 1:  # a page of one is one answer (patience counts it as one look)
        session.answer(bool(st.session_state.get(keys[0], False)))
        return
    decisions = [(c, bool(st.session_state.get(k, False))) for c, k in zip(batch, keys)]
    try:
        session.answer_batch(decisions)
    except SelectionError:  # the hunt changed under the page: it is drawn again
        pass


def _undo_page(session: RetrievalSession) -> None:
    """Take back the last page (or the last single answer; or reopen a finished hunt)."""
    history = session.history
    session.undo()
    if len(session.history) < len(history) and history[-1].page is not None:
        while session.history and session.history[-1].page == history[-1].page:
            session.undo()


def _finish(session: RetrievalSession) -> None:
    session.finish()


# ----- the view --------------------------------------------------------------------------------


@st.fragment
def batch_review(session: RetrievalSession, view: HuntView, adaptive: bool = False) -> None:
    """The next page of candidates, its buttons, the timeline and the found table; it reruns
    alone when a page is submitted. ``adaptive``: the session's page of likely windows
    (ticked in advance where very likely); when the next is one window, the whole page is
    drawn again, as the answer deck."""
    state.save_workspace()  # a submitted page is on disk before it is drawn
    if adaptive:
        page = session.next_page()
        if len(page) == 1:
            st.rerun(scope="app")
        batch = [w.candidate for w in page]
        ticked = [w.ticked for w in page]
    else:
        batch = session.next_batch(BATCH_SIZE)
        ticked = [False] * len(batch)
    _metrics(session, view)
    query_column, note = st.columns([1, GRID_COLUMNS - 1], vertical_alignment="center")
    with query_column, st.container(border=True):
        query = view.place(session.query)
        st.markdown(f"**Query** · {place_label(query)}")
        view.picture(query, view.key("batch_query_mel"))
        play_window(view, query)
    with note:
        if batch:
            st.caption(ADAPTIVE_CAPTION if adaptive else BATCH_CAPTION)
        else:
            st.markdown(f"**Hunt finished** · {1 + len(session.found)} occurrences marked")
            if view.finished_hint:
                st.caption(view.finished_hint)
    keys = [tick_key(view, session, c, adaptive) for c in batch]
    if batch:
        _grid(session, batch, keys, ticked, view)
    submit, undo, done, _ = st.columns([1.6, 1, 1, 1.4])
    submit.button(f"Submit these {len(batch)}" if batch else "Submit", type="primary",
                  key=view.key("batch_submit"), icon=":material/done_all:",
                  disabled=not batch, on_click=_submit, args=(session, batch, keys),
                  use_container_width=True)
    undo.button("Undo page", key=view.key("batch_undo"), icon=":material/undo:",
                disabled=not session.history and bool(batch), on_click=_undo_page,
                args=(session,), use_container_width=True)
    done.button("Done", key=view.key("batch_done"), icon=":material/flag:", disabled=not batch,
                on_click=_finish, args=(session,), use_container_width=True)
    candidate = batch[0] if batch else None
    view.before_table(session, candidate)
    found_table(session, view, "batch_found_table")
    view.after_table(session, candidate)


def _metrics(session: RetrievalSession, view: HuntView) -> None:
    extra = list(view.extra_metrics())
    columns = st.columns([1, 1, 1, *[1] * len(extra), 2])
    columns[0].metric("Occurrences", 1 + len(session.found),
                      help="the query and every confirmed one")
    own = [a for a in session.history if not a.auto]
    columns[1].metric("Answers", len(own), help="every window you judged, ticked or not")
    columns[2].metric("Pages", len({a.page for a in own if a.page is not None}),
                      help=f"pages of up to {BATCH_SIZE} you submitted")
    for column, metric in zip(columns[3:], extra):
        column.metric(metric.label, metric.value, help=metric.help or None)
    with columns[-1]:
        st.caption(left_text(session) + " (an empty page is one)")
        st.progress(session.patience_left / session.patience)


def _grid(session: RetrievalSession, batch: list[Candidate], keys: list[str],
          ticked: list[bool], view: HuntView) -> None:
    chances = session.chances(batch)
    for row in range(0, len(batch), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for column, i in zip(columns, range(row, min(row + GRID_COLUMNS, len(batch)))):
            candidate = batch[i]
            place = view.place(candidate)
            with column, st.container(border=True):
                st.markdown(f"**{i + 1}** · {place_label(place)} · "
                            f"chance {chances[i]:.0%}")
                view.picture(place, view.key(f"batch_mel_{i}"))
                view.play(with_context(place))
                st.checkbox("Is this the sound?", key=keys[i], value=ticked[i])
