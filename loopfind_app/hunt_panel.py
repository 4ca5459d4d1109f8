"""The one hunt panel of the Hunt and Library pages.

:func:`hunt_panel` draws a running hunt: first the query's card (a player) and the
candidate's card — the answer deck (:mod:`loopfind_app.answer_deck`: caption, player,
Yes/No/Undo/Done with shortcuts Y, N, U, D, answered in the browser at once from branches
computed ahead) — each with its picture, so they fit a laptop's screen; then the counts and
the patience left, the auto-accept box and the review of what it accepted, and the table of
what was found. What differs between a hunt in one track and a hunt across a library — where
a window lies, how to play it, widget keys, extra content such as the timeline or a download —
comes from a :class:`HuntView`. Answers are applied in one
place, :func:`loopfind_app.answer_deck.apply_actions`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import streamlit as st

from loopfind_app import keeping, state
from loopfind_app.answer_deck import (
    PANEL_FRAGMENT,
    Card,
    answer_deck,
    take_answers,
    timing_done,
)
from loopfind_app.text import format_time, plain
from loopfind_app.waveform_player import clip_player, lead_in_note, needs_lead_in
from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.spectrogram import FRAME_RATE_HZ
from loopfind_core.interactive.figures import excerpt_figure
from loopfind_core.retrieval.review import left_text
from loopfind_core.retrieval.session import Candidate, RetrievalSession

MIN_ANSWERS_FOR_AUTO = 2  # answers before auto-accept is offered: the estimate needs evidence
FOUND_CAPTION = (
    "Found: chance = how likely the window was the sound when it was shown (calibrated on "
    "real music, adapted to your answers)."
)


@dataclass(frozen=True)
class Place:
    """Where a window of a hunt lies, in seconds into its track."""

    start_s: float
    end_s: float
    track: str | None = None  # the track's name; None in a hunt within one track


@dataclass(frozen=True)
class Metric:
    """One more number in the panel's row of metrics."""

    label: str
    value: int | str
    help: str = ""


def place_label(place: Place) -> str:
    """``m:ss.ss``, or ``track · m:ss.ss``; Markdown-safe."""
    at = format_time(place.start_s)
    return at if place.track is None else f"{plain(place.track)} · {at}"


def window_picture(mel_db: np.ndarray, start_s: float, chart_key: str,
                   scale: tuple[float, float] | None = None) -> None:
    """A window's log-mel (n_mels, frames) dB, small: the eye compares the two cards'.

    ``scale``: the (zmin, zmax) dB it shares with the pictures beside it, e.g.
    ``picture_range(query_mel, candidate_mel)`` (``loopfind_core.interactive.figures``) so a
    quieter candidate looks quieter; by default the range of this window alone, which still
    shows a short or quiet sound clearly. Silence is the colour map's floor (black)."""
    st.plotly_chart(excerpt_figure(mel_db, FRAME_RATE_HZ, start_s, zrange=scale), key=chart_key,
                    config={"displayModeBar": False, "staticPlot": True})


def play_window(view: HuntView, place: Place, note: bool = True) -> None:
    """The view's player of ``place``; a window too short for the browser's player to show
    (:func:`~loopfind_app.waveform_player.needs_lead_in`) plays with up to ``state.CONTEXT_S``
    of the music before it (:meth:`HuntView.context_clip`), said in a caption with ``note``."""
    if needs_lead_in(place.end_s - place.start_s):
        try:
            clip = view.context_clip(place, state.CONTEXT_S)
        except LoopfindError:  # the view's own player says why
            clip = None
        if clip is not None:
            clip_player(*clip, place.end_s - place.start_s, note=note)
            return
    view.play(place)


class HuntView(ABC):
    """What differs between the hunts the panel shows. Subclass it: :meth:`place` and
    :meth:`play` are required; the other hooks draw nothing unless overridden."""

    key_prefix: ClassVar[str] = ""  # before every widget key of the panel: two hunts never clash
    finished_hint: ClassVar[str] = ""  # a caption under "Hunt finished"

    def key(self, name: str) -> str:
        """The widget key ``name`` of this hunt's panel."""
        return self.key_prefix + name

    @abstractmethod
    def place(self, candidate: Candidate) -> Place:
        """Where the candidate's window lies (track and seconds)."""

    @abstractmethod
    def play(self, place: Place, autoplay: bool = False) -> None:
        """Draw an audio player of the window."""

    def identity(self) -> str:
        """What tells this hunt from the workspace's others (e.g. its name): with the query
        and settings it makes the answer deck's stable token."""
        return ""

    def clip(self, place: Place) -> bytes | None:
        """A WAV of ``place``. None: the answer deck shows the candidate without a player.

        Raises:
            LoopfindError: the audio cannot be read (the deck says why)."""
        return None

    def context_clip(self, place: Place, context_s: float) -> tuple[bytes, float] | None:
        """The answer deck's clip of ``place``: a WAV from up to ``context_s`` before the
        window (the music it sits in) to its end, and how many seconds of it lie before the
        window. By default :meth:`clip` of the widened window.

        Raises:
            LoopfindError: the audio cannot be read (the deck says why)."""
        lead = min(context_s, place.start_s)
        wav = self.clip(Place(place.start_s - lead, place.end_s, place.track))
        return None if wav is None else (wav, lead)

    def picture(self, place: Place, chart_key: str) -> None:
        """Draw a picture of the window under its player."""
        return None  # nothing by default

    def extra_metrics(self) -> Sequence[Metric]:
        """Numbers shown after Occurrences and Answers."""
        return ()

    def before_table(self, session: RetrievalSession, candidate: Candidate | None) -> None:
        """Draw what goes between the buttons and the found table (e.g. a timeline)."""
        return None  # nothing by default

    def after_table(self, session: RetrievalSession, candidate: Candidate | None) -> None:
        """Draw what goes under the found table (e.g. a link or a download)."""
        return None  # nothing by default


# ----- the callbacks: they run before the panel reruns (answers: answer_deck) -----------------


def _accept_confident(session: RetrievalSession, slider_key: str) -> None:
    session.auto_accept(float(st.session_state[slider_key]))


def _review(session: RetrievalSession, start_frame: int, yes: bool) -> None:
    session.revise(start_frame, yes)


# ----- the panel -------------------------------------------------------------------------------


def found_rows(session: RetrievalSession,
               place_of: Callable[[Candidate], Place]) -> list[dict[str, object]]:
    """The found table: the query (row 0) and every confirmed occurrence in the order found,
    with where it lies (a ``track`` column when places name tracks), the chance it had when
    shown, and a note for the query and automatic acceptances."""
    automatic = {c.start_frame for c in session.auto_accepted}
    chance_of = session.answer_chances()
    rows: list[dict[str, object]] = []
    for number, candidate in enumerate([session.query, *session.found]):
        place = place_of(candidate)
        row: dict[str, object] = {"#": number}
        if place.track is not None:
            row["track"] = place.track
        is_query = number == 0
        row |= {
            "start": format_time(place.start_s), "seconds": round(place.start_s, 3),
            "duration (s)": round(candidate.duration_s, 3),
            "chance": 1.0 if is_query else round(chance_of[candidate.start_frame], 3),
            "note": "query" if is_query else
                    "auto-accepted" if candidate.start_frame in automatic else "",
        }
        rows.append(row)
    return rows


def found_table(session: RetrievalSession, view: HuntView, name: str = "found_table") -> None:
    """The query and every confirmed occurrence (:func:`found_rows`), with what its columns
    mean; ``name`` is the table's widget key (before the view's prefix)."""
    st.caption(FOUND_CAPTION)
    st.dataframe(pd.DataFrame(found_rows(session, view.place)), hide_index=True,
                 key=view.key(name),
                 column_config={"chance": st.column_config.ProgressColumn(
                     "chance", min_value=0.0, max_value=1.0, format="%.2f")})


@st.fragment(key=PANEL_FRAGMENT)
def hunt_panel(session: RetrievalSession, view: HuntView, adaptive: bool = False) -> None:
    """Everything an answer changes; it reruns alone. The deck is drawn first, so the next
    branches leave the server before the pictures, the timeline and the table are made.
    ``adaptive``: when the answers make the next windows likely enough to share a page, the
    whole page is drawn again, as a page (:mod:`loopfind_app.batch_review`)."""
    hunt_token = keeping.fingerprint(
        state.workspace_token(), view.key_prefix, view.identity(), session.query_start_s,
        session.query.duration_s, session.strategy, session.patience)[:12]
    take_answers(session, view.key("deck"), hunt_token)
    if state.save_workspace():  # on disk before the deck confirms them; or another tab's newer
        st.rerun(scope="app")  # state replaced this one's: draw that (the notice says so)
    if adaptive and len(session.next_page()) > 1:
        st.rerun(scope="app")
    query_card, candidate_card = st.columns(2)
    with candidate_card, st.container(border=True):
        answer_deck(session, lambda c: deck_card(session, view, c), view.key("deck"),
                    view.finished_hint, "st-key-" + view.key("candidate_picture_"), hunt_token)
        candidate = session.propose()  # after the deck applied the browser's answers
        if candidate is not None:
            with st.container(key=view.key(f"candidate_picture_{candidate.start_frame}")):
                view.picture(view.place(candidate), view.key("candidate_mel"))
    with query_card, st.container(border=True):
        query = view.place(session.query)
        st.markdown(f"**Query** · {place_label(query)}")
        play_window(view, query)
        view.picture(query, view.key("query_mel"))
    _metrics(session, view)  # under the cards: they and the answer buttons fit 1280×800
    if candidate is not None and len(session.history) >= MIN_ANSWERS_FOR_AUTO:
        _auto_accept_box(session, view)
    view.before_table(session, candidate)
    found_table(session, view)
    if session.auto_accepted:
        _review_expander(session, view)
    view.after_table(session, candidate)
    timing_done(view.key("deck"))


def deck_card(session: RetrievalSession, view: HuntView, candidate: Candidate) -> Card:
    """``candidate`` for the answer deck: its place, its chance of being the sound, and its
    clip with up to
    ``state.CONTEXT_S`` of music before it (from the view: a library plays from its folder)."""
    place = view.place(candidate)
    at = format_time(place.start_s)
    try:
        clip, note = view.context_clip(place, state.CONTEXT_S), ""
    except LoopfindError as error:  # e.g. a library folder moved: say so, keep the hunt up
        clip, note = None, str(error)
    wav, lead = clip or (None, 0.0)
    return Card(candidate.start_frame, at if place.track is None else f"{place.track} · {at}",
                session.match_probability(candidate), wav, round(lead, 3), note)


def _metrics(session: RetrievalSession, view: HuntView) -> None:
    extra = list(view.extra_metrics())
    columns = st.columns([1, 1, *[1] * len(extra), 2])
    columns[0].metric("Occurrences", 1 + len(session.found),
                      help="the query and every confirmed one")
    own = sum(not a.auto for a in session.history)
    columns[1].metric("Answers", own, help="yours; automatic acceptances are not counted")
    for column, metric in zip(columns[2:], extra):
        column.metric(metric.label, metric.value, help=metric.help or None)
    with columns[-1]:
        st.caption(left_text(session))
        st.progress(session.patience_left / session.patience)


def _auto_accept_box(session: RetrievalSession, view: HuntView) -> None:
    """Offer to accept every remaining candidate above a chance, with the share of it the
    calibrated match model expects to be right."""
    slider_key = view.key("sensitivity")
    with st.container(border=True):
        slider, estimate, accept = st.columns([2, 2, 1.2], vertical_alignment="center")
        threshold = slider.slider("Accept every window with a chance ≥", 0.3, 0.95, 0.7, 0.05,
                                  key=slider_key,
                                  help="Lower accepts more occurrences, and more mistakes.")
        estimate.caption(_estimate_text(*session.precision_estimate(threshold),
                                        session.precision_range(threshold), threshold))
        accept.button("Accept all above", key=view.key("accept_confident"),
                      icon=":material/done_all:", on_click=_accept_confident,
                      args=(session, slider_key), use_container_width=True)


def _estimate_text(precision: float, count: int, span: tuple[float, float],
                   threshold: float) -> str:
    """What auto-accept at ``threshold`` would take, and the range of the share of it that is
    likely right (the point estimate alone reads high on music unlike the calibration's:
    docs/results.md)."""
    if count == 0:
        return f"No window left with a chance ≥ {threshold:.0%}."
    low, high = span
    what = "1 more" if count == 1 else f"{count} more"
    return (f"Would accept {what}; {low:.0%}–{high:.0%} of it is likely right (calibrated on "
            "real music, adapted to your answers; the low end on music unlike it).")


def _review_expander(session: RetrievalSession, view: HuntView) -> None:
    """Each auto-accepted occurrence with a player: keep it, or reject it."""
    accepted = session.auto_accepted
    with st.expander(f"Review {len(accepted)} auto-accepted occurrences"):
        if needs_lead_in(session.query.duration_s):
            st.caption(lead_in_note(state.CONTEXT_S, session.query.duration_s, each=True))
        for candidate in accepted:
            place = view.place(candidate)
            label_width = 1 if place.track is None else 2  # room for a track's name
            label, player, keep, reject = st.columns([label_width, 3, 1, 1],
                                                     vertical_alignment="center")
            label.markdown(f"{place_label(place)} · chance "
                           f"{session.answer_chances()[candidate.start_frame]:.0%}")
            with player:
                play_window(view, place, note=False)
            keep.button("Keep", key=view.key(f"keep_{candidate.start_frame}"),
                        icon=":material/check:", on_click=_review,
                        args=(session, candidate.start_frame, True))
            reject.button("Reject", key=view.key(f"reject_{candidate.start_frame}"),
                          icon=":material/close:", on_click=_review,
                          args=(session, candidate.start_frame, False))
