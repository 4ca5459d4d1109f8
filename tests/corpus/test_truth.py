"""Ground truth: overlaps, and the simulated user who answers from it."""

from __future__ import annotations

from loopfind_core.corpus.dataset import Occurrence
from loopfind_core.corpus.truth import overlap_s, simulate_user
from loopfind_core.retrieval.session import RetrievalSession


def test_simulated_user_finds_all_planted(planted_mfcc, planted):
    occurrences = [Occurrence(s, s + planted.sound_duration_s) for s in planted.sound_starts_s]
    session = RetrievalSession(planted_mfcc, occurrences[0].start_s, occurrences[0].duration_s)
    hunt = simulate_user(session, occurrences, 0)
    assert hunt.found == 3 and hunt.answers == 3 + 5


def test_simulated_user_needs_half_overlap(planted_mfcc, planted):
    # Ground truth shifted by 70% of d: the planted copies no longer count as matches.
    d = planted.sound_duration_s
    occurrences = [Occurrence(s + 0.7 * d, s + 1.7 * d) for s in planted.sound_starts_s]
    occurrences[0] = Occurrence(planted.sound_starts_s[0], planted.sound_starts_s[0] + d)
    session = RetrievalSession(planted_mfcc, occurrences[0].start_s, d)
    assert simulate_user(session, occurrences, 0).found == 0


def test_overlap():
    assert overlap_s(0, 2, 1, 3) == 1 and overlap_s(0, 1, 2, 3) == 0
