"""The adaptive review: pages of likely windows, the expected-matches stop, patience in a row,
no window astride confirmed ones, no silence, and the chances adapted to the hunt."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.features.registry import extract_features
from loopfind_core.retrieval.calibration import AdaptedModel, adapt_model
from loopfind_core.retrieval.review import (
    ADAPTIVE,
    ONE_AT_A_TIME,
    ReviewPolicy,
    local_minimum_starts,
    page_length,
)
from loopfind_core.retrieval.search import audible_starts, covered_starts
from loopfind_core.retrieval.session import RetrievalSession
from testkit.audio import SR_HZ, chirp, is_planted, kick_backing


def test_a_window_astride_two_confirmed_neighbours_is_covered():
    covered = covered_starts(100, 10, [20, 30], torch.device("cpu"))
    assert covered[20] and covered[25] and covered[30]  # inside, astride, inside
    # frames 20..39 are covered: a window of 10 from t is covered more than half for
    # t = 16…34 (at 15 and 35 exactly half)
    assert torch.nonzero(covered).flatten().tolist() == list(range(16, 35))
    assert not covered_starts(100, 10, [], torch.device("cpu")).any()


def test_local_minima_are_the_best_of_their_neighbourhood_best_first():
    scores = torch.tensor([5.0, 1.0, 4.0, 4.0, 3.0, 9.0, 9.0, 0.5, 9.0])
    allowed = torch.ones(9, dtype=torch.bool)
    assert local_minimum_starts(scores, allowed, 2).tolist() == [7, 1, 4]
    allowed[7] = False
    assert local_minimum_starts(scores, allowed, 2).tolist() == [1, 4, 6, 8]


@pytest.mark.parametrize(("chances", "expected"), [
    ([], 0), ([0.2, 0.9], 1), ([0.9, 0.8, 0.3, 0.9], 2), ([0.95] * 20, 12)])
def test_a_page_is_the_leading_run_of_likely_windows(chances, expected):
    assert page_length(chances, ADAPTIVE) == expected
    assert page_length(chances, ONE_AT_A_TIME) == min(1, len(chances))


def test_the_adapted_model_follows_the_answers_and_starts_at_the_shipped_one():
    assert AdaptedModel().chances(np.array([0.0]))[0] == pytest.approx(0.5)
    # the shipped model says 10 %, the user says yes every time: the chance rises
    logits = np.full(12, np.log(0.1 / 0.9))
    adapted = adapt_model(logits, np.ones(12, dtype=bool))
    assert adapted.chances(logits[:1])[0] > 0.5
    low, high = adapted.chance_range(logits[:1])
    assert low[0] < adapted.chances(logits[:1])[0] < high[0]
    doubting = adapt_model(logits, np.zeros(12, dtype=bool))
    assert doubting.chances(logits[:1])[0] < 0.1


@pytest.fixture(scope="module")
def loop_back_to_back():
    """A 1.0-s figure played 8 times back to back from 4 s, over noise; silence after 16 s."""
    rng = np.random.default_rng(3)
    samples = kick_backing(rng, 24.0)
    figure = np.concatenate([0.4 * chirp(0.5, 3000.0, 800.0), 0.4 * chirp(0.5, 1200.0, 300.0)])
    starts = [4.0 + k for k in range(8)]
    for start in starts:
        i = int(start * SR_HZ)
        samples[i: i + len(figure)] += figure
    samples[int(16.0 * SR_HZ):] = 0.0
    features = extract_features(audio_from_samples(samples, SR_HZ), "mel")
    return features, starts


def _overlaps(a, b) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_a_loop_played_back_to_back_gives_one_event_per_occurrence(loop_back_to_back):
    features, starts = loop_back_to_back
    session = RetrievalSession(features, starts[0], 1.0, review=ADAPTIVE)
    while page := session.next_page():
        decisions = [(w.candidate, any(_overlaps((w.candidate.start_s, w.candidate.end_s),
                                                 (s, s + 1.0)) >= 0.5 for s in starts[1:]))
                     for w in page]
        if len(decisions) == 1:
            session.answer(decisions[0][1])
        else:
            session.answer_batch(decisions)
    events = sorted(session.refined_start_s(c) for c in session.found)
    assert len(events) == len(starts) - 1
    assert all(b - a >= 1.0 - 0.03 for a, b in zip(events, events[1:])), events
    np.testing.assert_allclose(events, starts[1:], atol=0.03)


def test_silence_is_never_proposed(loop_back_to_back):
    features, starts = loop_back_to_back
    mask = audible_starts(features, features.seconds_to_frames(starts[0]), 43,
                          torch.device("cpu"))
    silent_from = features.seconds_to_frames(16.0)
    assert not mask[silent_from:].any() and mask[: silent_from - 43].all()
    session = RetrievalSession(features, starts[0], 1.0, patience=50,
                               review=ReviewPolicy(patience_in_a_row=True))
    while (candidate := session.propose()) is not None:
        assert candidate.start_s < 16.0, candidate  # never a window of silence
        session.answer(False)


def test_patience_in_a_row_is_reset_by_a_yes(planted, planted_mfcc):
    session = RetrievalSession(planted_mfcc, planted.sound_starts_s[0],
                               planted.sound_duration_s, patience=2,
                               review=ReviewPolicy(patience_in_a_row=True))
    session.answer(False)
    assert session.patience_left == 1
    candidate = session.propose()
    session.answer(is_planted(candidate, planted))  # the planted copies rank first
    assert session.patience_left == (2 if is_planted(candidate, planted) else 0)


def test_the_adaptive_hunt_stops_when_nothing_is_expected(planted, planted_mfcc):
    session = RetrievalSession(planted_mfcc, planted.sound_starts_s[0],
                               planted.sound_duration_s, patience=50, review=ADAPTIVE)
    judged = 0
    while page := session.next_page():
        decisions = [(w.candidate, is_planted(w.candidate, planted)) for w in page]
        if len(decisions) == 1:
            session.answer(decisions[0][1])
        else:
            session.answer_batch(decisions)
        judged += len(decisions)
    assert len(session.found) == 3
    assert session.expected_matches()[0] < ADAPTIVE.stop_below_expected
    assert judged < 50, "stopped by the expectation, long before patience"
