"""Comparing feature kinds: distance curves, ranked proposals, self-similarity, recalls."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.corpus.dataset import Occurrence, SoundTruth
from loopfind_core.corpus.truth import matching_sound
from loopfind_core.features.registry import extract_features
from loopfind_core.interactive.compare import (
    distance_curve,
    occurrence_ranks,
    ranked_proposals,
    self_similarity,
    simulated_recalls,
)
from testkit.audio import SR_HZ


def test_compare_ranks_the_planted_sound_first(planted):
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mel-std")
    query = planted.sound_starts_s[0]
    curve = distance_curve(track, query, planted.sound_duration_s)
    assert np.median(curve.relative_distance) == pytest.approx(1.0, abs=1e-3)  # torch: lower
    proposals = ranked_proposals(curve, limit=10)
    others = [Occurrence(s, s + planted.sound_duration_s) for s in planted.sound_starts_s[1:]]
    assert sorted(occurrence_ranks(proposals, curve.window_s, others)) == [1, 2, 3]
    matrix = self_similarity(track, size=50)
    assert matrix.shape == (50, 50) and np.allclose(np.diag(matrix), 1.0, atol=1e-4)
    sound = SoundTruth("p.wav", "test", "sample", "zap",
                       tuple(Occurrence(s, s + planted.sound_duration_s)
                             for s in planted.sound_starts_s))
    assert matching_sound([sound], 11.8, 0.6) == (sound, 1)
    assert matching_sound([sound], 20.0, 0.6) is None
    recalls = simulated_recalls({"mel-std": track}, sound, 0, patience=2)
    assert [(r.strategy, r.recall) for r in recalls] == [("naive", 1.0), ("active", 1.0)]
