"""Discovery's suggestions as a user sees them: never a silent window, never the same sound twice
(loopfind_core/retrieval/discovery.py), on a generated track that ends in near-silence."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.features.registry import extract_features
from loopfind_core.retrieval.discovery import Suggestion, discover, pool_frames
from testkit.audio import SR_HZ, planted_track

MUSIC_S = 40.0  # the planted track: kick, noise and a chirp planted four times
TAIL_S = 6.0  # then this long at about −86 dBFS: room for a dozen half-second windows
TAIL_LEVEL = 5e-5  # the tail's noise amplitude (full scale 1)


@pytest.fixture(scope="module")
def planted_with_tail():
    planted = planted_track(seed=3, duration_s=MUSIC_S)
    rng = np.random.default_rng(7)
    tail = (TAIL_LEVEL * rng.standard_normal(int(TAIL_S * SR_HZ))).astype(np.float32)
    samples = np.concatenate([planted.samples, tail])
    return planted, extract_features(audio_from_samples(samples, SR_HZ), "mel")


@pytest.fixture(scope="module")
def suggestions(planted_with_tail) -> list[Suggestion]:
    _, track = planted_with_tail
    return discover(track, None, max_suggestions=10)


def overlap_s(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_no_suggestion_is_the_silent_tail(suggestions):
    assert suggestions
    for s in suggestions:
        assert s.start_s + s.duration_s / 2 < MUSIC_S, f"a silent suggestion: {s}"
        silent = [o for o in s.occurrences if (o[0] + o[1]) / 2 >= MUSIC_S]
        assert not silent, f"{s} repeats in the silent tail at {silent}"


def test_no_two_suggestions_are_the_same_sound(suggestions):
    for i, a in enumerate(suggestions):
        for b in suggestions[i + 1:]:
            shorter = min(a.duration_s, b.duration_s)
            assert overlap_s((a.start_s, a.end_s), (b.start_s, b.end_s)) <= shorter / 4, (a, b)
            shared = sum(any(overlap_s(o, p) > shorter / 4 for p in a.occurrences)
                         for o in b.occurrences)
            assert 2 * shared <= len(b.occurrences), f"{b} repeats where {a} does"


def test_the_planted_sound_is_still_suggested(planted_with_tail, suggestions):
    planted, _ = planted_with_tail
    chirps = [(s, s + planted.sound_duration_s) for s in planted.sound_starts_s]
    covered = max(sum(any(overlap_s(o, c) > planted.sound_duration_s / 2 for o in s.occurrences)
                      for c in chirps) for s in suggestions)
    assert covered >= 3


def test_frames_are_averaged_in_groups():
    values = np.arange(14, dtype=np.float32).reshape(7, 2)
    pooled = pool_frames(values, 3)
    assert pooled.shape == (2, 2)
    assert pooled.tolist() == [[2.0, 3.0], [8.0, 9.0]]
