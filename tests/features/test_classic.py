"""Classic features: whitening over the track gives its Mahalanobis distance."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.errors import SelectionError
from loopfind_core.features.classic import whiten_over_track
from loopfind_core.features.registry import extract_features
from loopfind_core.retrieval.session import RetrievalSession
from testkit.audio import is_planted


def test_whitening_gives_the_tracks_mahalanobis_distance(planted):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 6))
    white = whiten_over_track(x, shrinkage=0.0)
    np.testing.assert_allclose(np.cov(white.T, bias=True), np.eye(6), atol=1e-3)
    mixed = x @ rng.normal(size=(6, 6))  # any invertible linear change of the features ...
    same = whiten_over_track(mixed, shrinkage=0.0)  # ... leaves the distances unchanged
    d_white = np.linalg.norm(white[:50, None] - white[None, :50], axis=2)
    d_same = np.linalg.norm(same[:50, None] - same[None, :50], axis=2)
    np.testing.assert_allclose(d_white, d_same, rtol=1e-3, atol=1e-3)
    with pytest.raises(SelectionError, match="shrinkage"):
        whiten_over_track(x, shrinkage=-1.0)

    track = extract_features(audio_from_samples(planted.samples, 22050), "mfcc", whiten=0.3)
    session = RetrievalSession(track, planted.sound_starts_s[0], planted.sound_duration_s)
    while (candidate := session.propose()) is not None:
        session.answer(is_planted(candidate, planted))
    assert len(session.found) == 3
