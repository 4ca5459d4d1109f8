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
    before = (session.history, session.propose())
    estimate, count = session.precision_estimate(0.42)  # planted copies: 0.70, 0.63, 0.46
    assert (session.history, session.propose()) == before, "a dry run changes nothing"
    accepted = session.auto_accept(0.42)
    assert count == len(accepted) == 2 and all(is_planted(c, planted) for c in accepted)
    assert 0.5 < estimate <= 1.0  # the calibrated chance of windows this close to the query
    assert [a.auto for a in session.history] == [False, True, True]
    pending = session.propose()
    assert pending is not None and session.similarity(pending) < 0.42
    assert session.precision_estimate(0.42)[1] == 0, "nothing left above the threshold"
    assert session.undo() == accepted[-1] and len(session.found) == 2
    with pytest.raises(SelectionError, match="threshold"):
        session.auto_accept(1.5)
    estimate, count = RetrievalSession(planted_mfcc, 3.1, 0.6).precision_estimate(1.0)
    assert np.isnan(estimate) and count == 0, "nothing to accept: no estimate"


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


# ----- batch review: next_batch / answer_batch -------------------------------------------------


def test_a_naive_batch_is_the_next_proposals_one_at_a_time(planted_mfcc):
    """The naive scores never change, so a page of 8 is exactly the next 8 single proposals."""
    batch = RetrievalSession(planted_mfcc, 3.1, 0.6, strategy="naive").next_batch(8)
    session = RetrievalSession(planted_mfcc, 3.1, 0.6, strategy="naive", patience=10)
    singles = []
    for _ in range(8):
        singles.append(session.propose())
        session.answer(len(singles) % 3 == 0)
    assert [c.start_frame for c in batch] == [c.start_frame for c in singles]


def test_batch_review_finds_the_planted_copies(planted, planted_mfcc):
    session = RetrievalSession(planted_mfcc, planted.sound_starts_s[0], planted.sound_duration_s)
    pages = 0
    while batch := session.next_batch(12):
        session.answer_batch([(c, is_planted(c, planted)) for c in batch])
        pages += 1
    found = sorted(c.start_s for c in session.found)
    np.testing.assert_allclose(found, planted.sound_starts_s[1:], atol=0.05)
    # the copies are on page 1; then 5 empty pages spend the patience of 5
    assert pages == 6 and session.done and session.patience_left == 0
    assert [a.page for a in session.history] == [p for p in range(6) for _ in range(12)]


def test_patience_counts_a_page_with_nothing_ticked_as_one_no(planted_mfcc):
    session = RetrievalSession(planted_mfcc, 3.1, 0.6, patience=2)
    session.answer(False)  # one at a time: one no
    batch = session.next_batch(5)
    session.answer_batch([(c, i == 4) for i, c in enumerate(batch)])  # 4 no's, one yes: free
    assert len(session.rejected) == 5 and session.patience_left == 1
    session.answer_batch([(c, False) for c in session.next_batch(5)])  # an empty page: one no
    assert session.patience_left == 0 and session.done and session.next_batch(5) == []
    with pytest.raises(SelectionError, match="done"):
        session.answer_batch([(batch[0], True)])
    session.undo()  # the empty page's last answer: its other four are still an empty page
    assert session.patience_left == 0
    for _ in range(4):
        session.undo()
    assert session.patience_left == 1 and not session.done


def test_a_page_submitted_twice_is_refused_and_nothing_recorded(planted_mfcc):
    session = RetrievalSession(planted_mfcc, 3.1, 0.6)
    batch = session.next_batch(4)
    session.answer_batch([(c, True) for c in batch])
    history = session.history
    with pytest.raises(SelectionError, match="answered already"):
        session.answer_batch([(session.propose(), True), (batch[-1], True)])
    assert session.history == history
    session.answer_batch([])  # an empty page records nothing
    assert session.history == history
    with pytest.raises(SelectionError, match="at least one"):
        session.next_batch(0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 3),
    strategy=st.sampled_from(["naive", "active"]),
    length_s=st.sampled_from([0.3, 1.0, 2.5]),
    size=st.integers(1, 14),
    singles=st.lists(st.booleans(), max_size=3),
    pages=st.lists(st.lists(st.booleans(), max_size=14), max_size=4),
)
def test_any_batch_sequence_keeps_invariants(seed, strategy, length_s, size, singles, pages):
    session = RetrievalSession(small_track(seed), 2.0, length_s, patience=3, strategy=strategy)
    window = session.window_frames
    for yes in singles:  # a few answers one at a time first: a batch follows any history
        if session.propose() is not None:
            session.answer(yes)
    snapshots = []
    for ticks in pages:
        before = session.history
        batch = session.next_batch(size)
        assert session.history == before, "next_batch changes nothing"
        assert session.next_batch(size) == batch, "deterministic"
        assert session.next_batch(1) == ([session.propose()] if batch else [])
        if not batch:
            assert session.done
            break
        assert batch[0] == session.propose() and len(batch) <= size
        starts = [session.query_frame] + [a.candidate.start_frame for a in before]
        starts += [c.start_frame for c in batch]
        for i, a in enumerate(starts):
            for b in starts[i + 1 :]:
                assert window - abs(a - b) <= window / 2  # never more than half overlapping
        decisions = [(c, ticks[i] if i < len(ticks) else False) for i, c in enumerate(batch)]
        spent = session.patience - session.patience_left
        session.answer_batch(decisions)
        recorded = session.history[len(before):]
        assert [(a.candidate, a.is_match, a.auto) for a in recorded] == [
            (c, yes, False) for c, yes in decisions]  # recorded exactly, in order
        assert len({a.page for a in recorded}) == 1 and recorded[0].page is not None
        empty = not any(yes for _, yes in decisions)
        assert session.patience - session.patience_left == min(session.patience, spent + empty)
        snapshots.append((before, batch))
    for before, batch in reversed(snapshots):  # undo takes them back one by one
        for _ in batch:
            session.undo()
        assert session.history == before
        assert session.next_batch(size) == batch, "undoing a page brings the page back"



# ----- branches: the next candidate after each action, computed ahead --------------------------


def replayed(seed, length_s, patience, strategy, history, finished) -> RetrievalSession:
    """A fresh session brought to the same state by the same answers."""
    session = RetrievalSession(small_track(seed), 2.0, length_s, patience=patience,
                               strategy=strategy)
    for answer in history:
        assert session.propose() == answer.candidate
        session.answer(answer.is_match)
    if finished:
        session.finish()
    return session


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 3),
    strategy=st.sampled_from(["naive", "active"]),
    length_s=st.sampled_from([0.3, 1.0, 2.5]),
    patience=st.integers(1, 4),
    actions=st.lists(st.sampled_from(["yes", "no", "undo", "finish"]), max_size=30),
)
def test_branches_are_what_each_action_then_proposes(seed, strategy, length_s, patience,
                                                     actions):
    """After any sequence of actions, branches() changes nothing observable and equals what
    answer(True), answer(False) and undo() each lead propose() to return."""
    session = RetrievalSession(small_track(seed), 2.0, length_s, patience=patience,
                               strategy=strategy)
    for action in actions:
        state = (session.history, session._finished)
        pending, patience_left = session.propose(), session.patience_left
        predicted = session.branches()
        assert (session.history, session._finished) == state, "branches() changes nothing"
        assert (session.propose(), session.patience_left) == (pending, patience_left)
        assert session.branches() == predicted, "deterministic"
        for yes, expected in ((True, predicted.yes), (False, predicted.no)):
            twin = replayed(seed, length_s, patience, strategy, *state)
            if pending is None:
                assert expected is None
            else:
                twin.answer(yes)
                assert twin.propose() == expected
        twin = replayed(seed, length_s, patience, strategy, *state)
        assert twin.undo() == predicted.undo
        if action == "undo":
            session.undo()
        elif action == "finish":
            session.finish()
        elif session.propose() is not None:
            session.answer(action == "yes")


def test_branches_of_a_planted_hunt(planted, planted_mfcc):
    session = RetrievalSession(planted_mfcc, planted.sound_starts_s[0], planted.sound_duration_s)
    assert session.branches().undo is None, "nothing to take back yet"
    first = session.propose()
    after_yes, after_no, _ = session.branches()
    assert after_yes is not None and after_no is not None
    session.answer(True)
    assert session.propose() == after_yes and session.branches().undo == first
    session.finish()
    assert session.branches() == (None, None, after_yes), "undo brings back the pending one"


def test_match_evidence_scores_the_query_like_the_positives(planted, planted_mfcc):
    session = RetrievalSession(planted_mfcc, planted.sound_starts_s[0], planted.sound_duration_s)
    evidence = session.match_evidence(session.query)
    assert evidence.relative_score == pytest.approx(0.0, abs=1e-6)
    assert evidence.similarity == pytest.approx(1.0) and evidence.n_found == 0
    candidate = session.propose()
    assert 0.0 <= session.match_probability(candidate) <= 1.0
