"""Algorithm 1 as a session: it finds planted sounds, honours patience, undoes exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopfind_core.base.errors import SelectionError
from loopfind_core.features.track import FeatureTrack
from loopfind_core.retrieval.session import (
    NEGATIVE_WEIGHT,
    RetrievalSession,
    active_scores,
    query_window_frames,
)
from testkit.audio import is_planted


@pytest.mark.parametrize("strategy", ["naive", "active"])
@pytest.mark.parametrize("kind_fixture", ["planted_mfcc"])
def test_finds_every_planted_occurrence(request, planted, strategy, kind_fixture):
    features = request.getfixturevalue(kind_fixture)
    session = RetrievalSession(
        features, planted.sound_starts_s[0], planted.sound_duration_s, strategy=strategy
    )
    answers = 0
    while (candidate := session.propose()) is not None:
        session.answer(is_planted(candidate, planted))
        answers += 1
    found = sorted(c.start_s for c in session.found)
    np.testing.assert_allclose(found, planted.sound_starts_s[1:], atol=0.05)  # within a frame
    # the three planted copies are the three nearest windows: found before any rejection
    assert [a.is_match for a in session.history[:3]] == [True, True, True]
    assert len(session.rejected) == 5 and session.done and answers == 8


def test_propose_is_stable_until_answered(planted_mfcc):
    session = RetrievalSession(planted_mfcc, 3.1, 0.6)
    first = session.propose()
    assert session.propose() == first
    session.answer(False)
    assert session.propose() != first


def test_undo_restores_the_question_and_state(planted_mfcc):
    session = RetrievalSession(planted_mfcc, 3.1, 0.6)
    first = session.propose()
    session.answer(True)
    second = session.propose()
    session.answer(False)
    assert session.undo() == second
    assert session.found == [first] and session.rejected == []
    assert session.propose() == second
    session.undo()
    assert session.propose() == first and session.history == ()
    assert session.undo() is None


def test_finish_and_undo_finish(planted_mfcc):
    session = RetrievalSession(planted_mfcc, 3.1, 0.6)
    session.answer(True)
    session.finish()
    assert session.done and session.propose() is None
    with pytest.raises(SelectionError, match="done"):
        session.answer(True)
    session.undo()
    assert not session.done and len(session.found) == 1


def test_deterministic(planted_mfcc):
    def run():
        session = RetrievalSession(planted_mfcc, 3.1, 0.6, patience=3)
        trace = []
        while (c := session.propose()) is not None:
            trace.append(c)
            session.answer(len(trace) % 2 == 0)
        return trace

    assert run() == run()


@pytest.mark.parametrize(
    "start_s,duration_s,fragment",
    [(-1.0, 1.0, "outside"), (5.0, 0.0, "empty"), (39.5, 2.0, "past the end"),
     (1.0, 25.0, "more than half"), (float("nan"), 1.0, "finite"), (1000.0, 1.0, "outside"),
     ("abc", 1.0, "numbers")],
)
def test_absurd_selections_are_refused(planted_mfcc, start_s, duration_s, fragment):
    with pytest.raises(SelectionError, match=fragment):
        RetrievalSession(planted_mfcc, start_s, duration_s)


def test_bad_settings(planted_mfcc):
    with pytest.raises(SelectionError, match="strategy"):
        RetrievalSession(planted_mfcc, 3.1, 0.6, strategy="magic")
    with pytest.raises(SelectionError, match="Patience"):
        RetrievalSession(planted_mfcc, 3.1, 0.6, patience=0)


def test_active_rule_is_rocchio_centroid():
    import torch

    pos = [torch.tensor([1.0, 4.0]), torch.tensor([3.0, 0.0])]
    neg = [torch.tensor([2.0, 2.0])]
    assert torch.allclose(active_scores(pos, []), torch.tensor([2.0, 2.0]))
    expected = torch.tensor([2.0, 2.0]) - NEGATIVE_WEIGHT * neg[0]
    assert torch.allclose(active_scores(pos, neg), expected)


def small_track(seed: int) -> FeatureTrack:
    rng = np.random.default_rng(seed)
    return FeatureTrack("test", rng.standard_normal((120, 4)).astype(np.float32), 10.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 3),
    strategy=st.sampled_from(["naive", "active"]),
    length_s=st.sampled_from([0.3, 1.0, 2.5]),
    patience=st.integers(1, 6),
    actions=st.lists(st.sampled_from(["yes", "no", "undo", "finish"]), max_size=40),
)
def test_any_answer_sequence_keeps_invariants(seed, strategy, length_s, patience, actions):
    track = small_track(seed)
    session = RetrievalSession(track, 2.0, length_s, patience=patience, strategy=strategy)
    window = session.window_frames
    snapshots = [(session.history, session._finished)]
    for action in actions:
        if action == "undo":
            session.undo()
            if len(snapshots) > 1:
                snapshots.pop()
            assert (session.history, session._finished) == snapshots[-1]
            continue
        if action == "finish":
            session.finish()
        elif session.propose() is not None:
            session.answer(action == "yes")
        if (session.history, session._finished) != snapshots[-1]:
            snapshots.append((session.history, session._finished))
        starts = [session.query_frame] + [a.candidate.start_frame for a in session.history]
        for i, a in enumerate(starts):
            for b in starts[i + 1 :]:
                assert window - abs(a - b) <= window / 2  # never more than half overlapping
        assert len(session.rejected) <= patience
        if len(session.rejected) == patience:
            assert session.done and session.propose() is None


def test_query_window_frames_rounds_to_frames(planted_mfcc):
    start, length = query_window_frames(planted_mfcc, 1.0, 0.5)
    assert start == round(planted_mfcc.frame_rate_hz) and length == round(
        0.5 * planted_mfcc.frame_rate_hz
    )


def test_auto_accept_takes_confident_proposals_and_undo_returns_them(planted, planted_mfcc):
    session = RetrievalSession(planted_mfcc, planted.sound_starts_s[0], planted.sound_duration_s)
    first = session.propose()
    session.answer(is_planted(first, planted))
    estimate, count = session.precision_estimate(0.42)  # planted copies: 0.70, 0.63, 0.46
    assert (estimate, count) == (1.0, 1)
    accepted = session.auto_accept(0.42)
    assert len(accepted) == 2 and all(is_planted(c, planted) for c in accepted)
    assert [a.auto for a in session.history] == [False, True, True]
    pending = session.propose()
    assert pending is not None and session.confidence(pending) < 0.42
    assert session.precision_estimate(0.42)[1] == 1, "automatic answers are not evidence"
    assert session.undo() == accepted[-1] and len(session.found) == 2
    with pytest.raises(SelectionError, match="threshold"):
        session.auto_accept(1.5)
    assert np.isnan(RetrievalSession(planted_mfcc, 3.1, 0.6).precision_estimate(0.5)[0])


def test_revising_an_automatic_answer_makes_it_the_users(planted, planted_mfcc):
    session = RetrievalSession(planted_mfcc, planted.sound_starts_s[0], planted.sound_duration_s)
    session.answer(True)
    accepted = session.auto_accept(0.0)[:1] or [None]
    assert session.auto_accepted and accepted[0] in session.auto_accepted
    session.revise(accepted[0].start_frame, yes=False)
    assert accepted[0] in session.rejected and accepted[0] not in session.auto_accepted
    with pytest.raises(SelectionError, match="No answer"):
        session.revise(-5, yes=True)


def test_refined_starts_are_finer_than_a_frame(planted, planted_mfcc):
    session = RetrievalSession(planted_mfcc, planted.sound_starts_s[0], planted.sound_duration_s)
    frame_errors, refined_errors = [], []
    while (candidate := session.propose()) is not None:
        truth = min(planted.sound_starts_s[1:], key=lambda s: abs(s - candidate.start_s))
        if abs(truth - candidate.start_s) < 0.1:
            frame_errors.append(abs(candidate.start_s - truth))
            refined_errors.append(abs(session.refined_start_s(candidate) - truth))
        session.answer(is_planted(candidate, planted))
    assert len(refined_errors) == 3
    assert np.mean(refined_errors) < np.mean(frame_errors)
    assert max(refined_errors) < 0.006  # a quarter of a 23 ms frame
    assert session.refined_start_s(session.query) == planted.sound_starts_s[0]
