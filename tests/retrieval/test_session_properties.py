"""Property-based tests of the session and the search, beyond tests/retrieval/test_session.py's
invariant test (which checks history and the finished flag after yes/no/undo/finish):

- any sequence of yes, no, undo, finish, auto-accept and revise, on random small tracks with
  random masks of valid starts and an optional beat prior, keeps every window (query, answered
  and pending) apart by the suppression rule, honours patience, and ``undo`` restores the
  *whole observable state* (history, found, rejected, patience left, done, the pending
  proposal, every score, the precision estimate) exactly;
- a session replayed from scratch with the same answers proposes the same windows;
- the FFT distance profile equals brute force, is symmetric and zero on itself, for random
  shapes; ``best_allowed_start`` is the earliest lowest allowed score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.features.track import FeatureTrack
from loopfind_core.research.variants import ResearchSession
from loopfind_core.retrieval.search import MAX_OVERLAP_FRACTION, WindowSearch, best_allowed_start
from loopfind_core.retrieval.session import RetrievalSession

FRAME_RATE_HZ = 10.0  # small synthetic tracks: 10 frames per second
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=HEALTH)
FEWER = settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)


@dataclass(frozen=True)
class Setup:
    features: FeatureTrack
    t0_s: float
    duration_s: float
    patience: int
    strategy: str
    valid_starts: np.ndarray | None
    beats: BeatGrid | None


@st.composite
def setups(draw) -> Setup:
    """A random small feature track and a valid query on it."""
    n_frames = draw(st.integers(40, 160))
    n_dims = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((n_frames, n_dims)).astype(np.float32)
    if draw(st.booleans()):  # repeated material: copies of one motif
        motif = values[:8].copy()
        for start in rng.integers(0, n_frames - 8, size=4):
            values[start : start + 8] = motif
    features = FeatureTrack("test", values, FRAME_RATE_HZ)
    window = draw(st.integers(1, n_frames // 2))
    start = draw(st.integers(0, n_frames - window))
    n_starts = n_frames - window + 1
    valid = None
    if draw(st.booleans()):
        valid = rng.random(n_starts) < draw(st.sampled_from([0.3, 0.7, 1.0]))
    beats = None
    if draw(st.booleans()):
        period_s = draw(st.sampled_from([0.4, 0.5, 0.73]))
        beats = BeatGrid(60.0 / period_s, np.arange(0.0, n_frames / FRAME_RATE_HZ, period_s))
    return Setup(features, start / FRAME_RATE_HZ, window / FRAME_RATE_HZ,
                 draw(st.integers(1, 6)), draw(st.sampled_from(["naive", "active"])), valid,
                 beats)


def new_session(setup: Setup) -> RetrievalSession:
    return ResearchSession(
        setup.features, setup.t0_s, setup.duration_s, patience=setup.patience,
        strategy=setup.strategy, device="cpu", valid_starts=setup.valid_starts,
        beats=setup.beats, beat_prior=0.5 if setup.beats is not None else 0.0,
    )


def observable_state(session: RetrievalSession) -> tuple:
    """Everything a caller can read off the session (``propose`` only fills the pending slot
    it would fill anyway)."""
    pending = session.propose()
    return (
        session.history, tuple(session.found), tuple(session.rejected),
        tuple(session.auto_accepted), session.patience_left, session.done, pending,
        tuple(session.scores().tolist()), repr(session.precision_estimate(0.5)),
        None if pending is None else session.similarity(pending),
    )


def windows_in_play(session: RetrievalSession) -> list[int]:
    pending = session.propose()
    return ([session.query_frame] + [a.candidate.start_frame for a in session.history]
            + ([pending.start_frame] if pending is not None else []))


def assert_invariants(session: RetrievalSession, setup: Setup) -> None:
    window = session.window_frames
    starts = windows_in_play(session)
    for i, a in enumerate(starts):
        for b in starts[i + 1 :]:
            overlap = max(0, window - abs(a - b))
            assert overlap <= MAX_OVERLAP_FRACTION * window, (a, b, window)
    n_starts = setup.features.n_frames - window + 1
    for answer in session.history:
        assert 0 <= answer.candidate.start_frame < n_starts
        if setup.valid_starts is not None:
            assert setup.valid_starts[answer.candidate.start_frame]
        assert 0.0 <= session.similarity(answer.candidate) <= 1.0
    assert len(session.found) + len(session.rejected) == len(session.history)
    if len(session.rejected) >= session.patience:  # patience is honoured
        assert session.done and session.propose() is None and session.patience_left == 0
        with pytest.raises(SelectionError):
            session.answer(True)
    elif not session._finished:
        assert session.done == (session.propose() is None)


ACTIONS = st.lists(
    st.one_of(st.sampled_from(["yes", "no", "undo", "finish", "revise"]),
              st.tuples(st.just("auto"), st.sampled_from([0.0, 0.3, 0.6, 1.0]))),
    max_size=30,
)


@SETTINGS
@given(setup=setups(), actions=ACTIONS, revise_index=st.integers(0, 50))
def test_any_sequence_keeps_windows_apart_honours_patience_and_undoes_exactly(
    setup, actions, revise_index
):
    session = new_session(setup)
    # One entry per undoable step: the observable state before it (None when a later revise
    # changed an answer it depended on), with the history length it had.
    undo_stack: list[tuple[tuple | None, int]] = []
    assert_invariants(session, setup)
    for action in actions:
        before = observable_state(session)
        if action == "undo":
            session.undo()
            if undo_stack:
                expected, _ = undo_stack.pop()
                if expected is not None:
                    assert observable_state(session) == expected
            else:
                assert observable_state(session) == before, "undo with nothing to undo"
        elif action == "finish":
            if not session._finished:
                undo_stack.append((before, len(session.history)))
            session.finish()
            assert session.done and session.propose() is None
        elif action in ("yes", "no"):
            if session.propose() is not None:
                session.answer(action == "yes")
                undo_stack.append((before, len(session.history) - 1))
        elif action == "revise":
            if session.history:
                index = revise_index % len(session.history)
                answer = session.history[index]
                session.revise(answer.candidate.start_frame, yes=not answer.is_match)
                revised = session.history[index]
                assert revised.candidate == answer.candidate and not revised.auto
                assert revised.is_match != answer.is_match
                undo_stack = [(state if length <= index else None, length)
                              for state, length in undo_stack]
        else:
            accepted = session.auto_accept(action[1])
            if accepted:
                length = len(session.history) - len(accepted)
                undo_stack += [(before, length)] + [(None, length + k)
                                                    for k in range(1, len(accepted))]
            # each had a chance ≥ the threshold when accepted (automatic answers do not adapt
            # the model, so answer_chances still gives the chances they were accepted at)
            chance_of = session.answer_chances()
            assert all(chance_of[c.start_frame] >= action[1] - 1e-9 for c in accepted)
        assert_invariants(session, setup)


@FEWER
@given(setup=setups(), answers=st.lists(st.booleans(), max_size=20))
def test_a_replayed_session_proposes_the_same_windows(setup, answers):
    def run() -> list:
        session, trace = new_session(setup), []
        for yes in answers:
            candidate = session.propose()
            if candidate is None:
                break
            trace.append(candidate)
            session.answer(yes)
        return trace + [observable_state(session)]

    assert run() == run()


@FEWER
@given(setup=setups(), answers=st.lists(st.booleans(), min_size=1, max_size=20))
def test_undoing_everything_returns_to_the_fresh_session(setup, answers):
    session, fresh = new_session(setup), observable_state(new_session(setup))
    given_answers = 0
    for yes in answers:
        if session.propose() is None:
            break
        session.answer(yes)
        given_answers += 1
    for _ in range(given_answers):
        session.undo()
    assert observable_state(session) == fresh
    assert session.undo() is None and observable_state(session) == fresh


# ----- the search ----------------------------------------------------------------------------


def brute_force_profile(values: np.ndarray, start: int, length: int) -> np.ndarray:
    query = values[start : start + length].astype(np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(values.astype(np.float64), length, axis=0)
    # windows: (n_starts, n_dims, length)
    return ((windows - query.T[None]) ** 2).sum(axis=(1, 2)) / length


@settings(max_examples=100, deadline=None)
@given(n_frames=st.integers(2, 120), n_dims=st.integers(1, 8), seed=st.integers(0, 2**16),
       offset=st.sampled_from([0.0, 100.0]), data=st.data())
def test_fft_profile_is_the_brute_force_distance_symmetric_and_zero_on_itself(
    n_frames, n_dims, seed, offset, data
):
    length = data.draw(st.integers(1, n_frames))
    a = data.draw(st.integers(0, n_frames - length))
    b = data.draw(st.integers(0, n_frames - length))
    values = (np.random.default_rng(seed).standard_normal((n_frames, n_dims)) + offset)
    values = values.astype(np.float32)
    search = WindowSearch(values, length, device="cpu")
    profile_a = search.distance_profile(a).numpy()
    profile_b = search.distance_profile(b).numpy()
    scale = 2.0 * n_dims  # the mean distance between unrelated unit-variance frames
    tolerance = 1e-3 * scale
    np.testing.assert_allclose(profile_a, brute_force_profile(values, a, length),
                               rtol=1e-3, atol=tolerance)
    assert (profile_a >= 0).all()
    assert profile_a[a] == pytest.approx(0.0, abs=tolerance)
    assert profile_a[b] == pytest.approx(profile_b[a], abs=tolerance)


@settings(max_examples=200, deadline=None)
@given(scores=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, math.inf]), min_size=1,
                       max_size=40),
       mask_seed=st.integers(0, 2**16))
def test_best_allowed_start_is_the_earliest_lowest_allowed(scores, mask_seed):
    allowed = np.random.default_rng(mask_seed).random(len(scores)) < 0.6
    best = best_allowed_start(torch.tensor(scores), torch.tensor(allowed))
    if not allowed.any():
        assert best is None
        return
    candidates = [i for i in range(len(scores)) if allowed[i]]
    lowest = min(scores[i] for i in candidates)
    assert best == next(i for i in candidates if scores[i] == lowest)
