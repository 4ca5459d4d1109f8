"""The Compare page's pieces: whose answers to judge the kinds against, and the comparison and
its pictures cached per track, query and answers (the page draws from the cache after the first
visit). They are cached as shared objects (``st.cache_resource``), not copied on every rerun as
``st.cache_data`` would: the page only reads them."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from loopfind_app import state
from loopfind_core.base.errors import LoopfindError
from loopfind_core.interactive import compare
from loopfind_core.interactive.compare_figures import judged_distance_figure, rank_figure
from loopfind_core.interactive.figures import self_similarity_figure
from loopfind_core.interactive.workspace import Workspace

COMPARISONS_CACHED = 16  # (track, query, answers) comparisons kept
FIGURES_CACHED = 64  # (comparison, whitening, zoom) figure pairs kept


@dataclass(frozen=True)
class AnswerSource:
    """One set of answers the page can judge the kinds against, with its menu label."""

    label: str
    answers: compare.Answers
    strategy: str = "active"


def answer_sources(ws: Workspace) -> list[AnswerSource]:
    """Every set of answers on this track, the current hunt's first: each hunt with a
    confirmed occurrence, the library hunt's share of this track, and on the demo the ground
    truth of the selected sound, else of the demo's default comparison."""
    track = ws.audio.name or "track"
    sources = []
    hunts = sorted(ws.hunts.values(), key=lambda h: h.sound != ws.current)
    for hunt in hunts:
        answers = compare.answers_from_session(hunt.session, track, f"hunt “{hunt.sound}”")
        if answers.confirmed_s:
            sources.append(AnswerSource(
                f"Your answers: hunt “{hunt.sound}” ({len(answers.confirmed_s)} confirmed, "
                f"{len(answers.rejected_s)} rejected)", answers, hunt.strategy))
    library = st.session_state.get("library_hunt")
    if library is not None and _is_this_track(library, ws):
        answers = compare.answers_from_library(library)
        if answers.confirmed_s:
            sources.append(AnswerSource(
                f"Your answers: the library hunt, in this track ({len(answers.confirmed_s)} "
                f"confirmed, {len(answers.rejected_s)} rejected)", answers,
                library.session.strategy))
    match = ws.truth_match()
    if match is not None:
        sources.append(AnswerSource(f"Ground truth of the selected sound “{match[0].sound}”",
                                    compare.answers_from_truth(match[0], match[1], track)))
    default = next((s for s in ws.truth if s.sound == compare.DEMO_COMPARISON_SOUND), None)
    if default is not None and (match is None or match[0] is not default):
        sources.append(AnswerSource(
            f"Ground truth of the demo's default comparison “{default.sound}” (the sound where "
            "the kinds differ most)", compare.answers_from_truth(default, 0, track)))
    return sources


def _is_this_track(hunt, ws: Workspace) -> bool:
    """Whether a library hunt's query came from this workspace's track."""
    if hunt.query_audio is not None:
        return hunt.query_audio.content_hash == ws.audio.content_hash
    try:
        from loopfind_app.library import library_info

        info = library_info()
    except LoopfindError:
        return False
    indexed = info.track_with_hash(ws.audio.content_hash) if info is not None else None
    return indexed is not None and indexed == hunt.query_track


def compared_kinds() -> tuple[str, ...]:
    """Every kind the comparison covers: all of them, the learned ones only with a checkpoint."""
    learned_ok = state.learned_problem() is None
    return tuple(k for k in compare.COMPARED_KINDS if learned_ok or k not in ("learned", "fused"))


@st.cache_resource(max_entries=COMPARISONS_CACHED, ttl=state.CACHE_TTL_S,
               show_spinner="Judging every feature kind against the answers (once per hunt)…")
def comparison(content_hash: str, answers_json: str, kinds: tuple[str, ...], strategy: str,
               _ws: Workspace) -> compare.Comparison:
    """Every kind judged against the answers (``answers_json``: :meth:`Answers.to_json`),
    cached per track, answers, kinds and strategy."""
    answers = compare.read_answers(answers_json)
    return compare.compare_kinds(_ws.feature_track, answers, kinds, strategy=strategy)


@st.cache_resource(max_entries=FIGURES_CACHED, ttl=state.CACHE_TTL_S, show_spinner=False)
def figures(content_hash: str, answers_json: str, kinds: tuple[str, ...], strategy: str,
            whitened: bool, zoom_s: tuple[float, float] | None,
            _ws: Workspace) -> tuple[go.Figure, go.Figure]:
    """(rank plot, distance curves) of the cached comparison."""
    result = comparison(content_hash, answers_json, kinds, strategy, _ws)
    return rank_figure(result, whitened), judged_distance_figure(result, whitened, zoom_s)


@st.cache_resource(max_entries=FIGURES_CACHED, ttl=state.CACHE_TTL_S, show_spinner=False)
def self_similarity_picture(content_hash: str, answers_json: str, kinds: tuple[str, ...],
                            strategy: str, shown: tuple[str, ...], _ws: Workspace) -> go.Figure:
    """The self-similarity matrices of the ``shown`` kinds (labels), side by side."""
    result = comparison(content_hash, answers_json, kinds, strategy, _ws)
    matrices = {r.label: r.self_similarity for r in result.results if r.label in shown}
    return self_similarity_figure(matrices, _ws.audio.duration_s)
