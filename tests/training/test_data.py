"""Training data: repetitions are mined from the track itself."""

from __future__ import annotations

import numpy as np

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.spectrogram import log_mel
from loopfind_core.training.data import repetition_pairs
from testkit.audio import SR_HZ


def test_repetitions_are_mined_from_the_track_itself(planted):
    mel_db = log_mel(audio_from_samples(planted.samples, SR_HZ))
    pairs = repetition_pairs(mel_db, 32, max_relative_distance=0.9, partners=2)
    assert len(pairs) > 0 and pairs.shape[1] == 2
    assert np.all(np.abs(pairs[:, 0] - pairs[:, 1]) >= 32), "a partner never overlaps its excerpt"
    assert len(repetition_pairs(mel_db, 32, max_relative_distance=0.0)) == 0
    noise = np.random.default_rng(0).normal(size=mel_db.shape).astype(np.float32)
    assert len(repetition_pairs(noise, 32, max_relative_distance=0.5)) == 0
