"""The research switches of the session (kept off in the product): the beat-phase prior and
speed variants.

Speed variants: occurrences played a few percent faster or slower than the query still match.
A tiny generated track: a riff of 20 short tones as the query, the same riff resampled
(+100 cents: pitch and speed up 6 %) or time-stretched (5 % faster, same pitch) elsewhere, and
decoys that share the riff's first 14 tones. Without variants the decoys are nearer than the
changed occurrence; with them, the changed occurrence is proposed first.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.corpus.synth import stretch_time
from loopfind_core.features.registry import extract_features
from loopfind_core.research.evaluate import EvaluationConfig, evaluate_dataset
from loopfind_core.research.variants import (
    ResearchSession,
    beat_phase_penalty,
    speed_factors,
    variant_profile,
)
from loopfind_core.retrieval.search import WindowSearch
from loopfind_core.retrieval.session import RetrievalSession

SR_HZ = 22050
QUERY_S, CHANGED_S, DECOYS_S = 3.0, 14.0, (25.0, 33.0)
RIFF_S = 2.0
VARIANTS = (-6, -3, 3, 6)


def riff(frequencies_hz: np.ndarray, tone_s: float = 0.1) -> np.ndarray:
    """Decaying sine tones back to back, one per frequency."""
    t = np.arange(int(tone_s * SR_HZ)) / SR_HZ
    return np.concatenate([np.sin(2 * np.pi * f * t) * np.exp(-8.0 * t)
                           for f in frequencies_hz]).astype(np.float32)


def resampled(x: np.ndarray, cents: float) -> np.ndarray:
    """As a sampler plays it ``cents`` higher: pitch and speed change together."""
    ratio = 2.0 ** (cents / 1200.0)
    positions = np.arange(int(len(x) / ratio)) * ratio
    return np.interp(positions, np.arange(len(x)), x).astype(np.float32)


def track_with(changed: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    samples = 0.03 * rng.standard_normal(40 * SR_HZ).astype(np.float32)
    frequencies = rng.uniform(300.0, 3000.0, 20)
    decoy = riff(np.concatenate([frequencies[:14], rng.uniform(300.0, 3000.0, 6)]))
    for start_s, sound in [(QUERY_S, riff(frequencies)), (CHANGED_S, changed(frequencies)),
                           *((s, decoy) for s in DECOYS_S)]:
        i = int(start_s * SR_HZ)
        samples[i:i + len(sound)] += 0.4 * sound
    return samples


CHANGES = {
    "resampled +100 cents": lambda f: resampled(riff(f), 100.0),
    "time-stretched 5 % faster": lambda f: stretch_time(riff(f), 5.0).astype(np.float32)[
        : int(len(riff(f)) / 1.05)],
}


@cache
def features_with(change: str):
    """Whitened MFCC (the app's kind of features) of the track whose second occurrence has
    ``change`` (a key of CHANGES)."""
    return extract_features(audio_from_samples(track_with(CHANGES[change]), SR_HZ), "mfcc",
                            whiten=0.3)


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("strategy", ["naive", "active"])
def test_a_changed_occurrence_is_proposed_first_only_with_speed_variants(change, strategy):
    features = features_with(change)
    plain = RetrievalSession(features, QUERY_S, RIFF_S, strategy=strategy)
    robust = ResearchSession(features, QUERY_S, RIFF_S, strategy=strategy,
                              speed_variants=VARIANTS)
    assert abs(plain.propose().start_s - CHANGED_S) > 1.0  # a decoy comes first ...
    assert abs(robust.propose().start_s - CHANGED_S) < 0.1  # ... unless variants are on


def test_speed_one_and_template_profile_reproduce_the_plain_search():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(300, 5)).astype(np.float32)
    search = WindowSearch(values, 20)
    torch.testing.assert_close(search.warped_window(40, 1.0), search.window(40))
    torch.testing.assert_close(search.template_profile(search.window(40)),
                               search.distance_profile(40), rtol=1e-4, atol=1e-3)
    # played twice as fast, frame k is frame 2k of the original; 5 % faster, a frame is skipped
    torch.testing.assert_close(search.warped_window(40, 2.0)[:5], search.frames[40:50:2])
    faster = search.warped_window(40, 1.05)  # 20 frames spanning 21: one is skipped
    torch.testing.assert_close(faster[[0, -1]], search.frames[[40, 60]])
    # past the end of the track the last frame is repeated, so every start works
    assert search.warped_window(search.n_starts - 1, 1.25).shape == (20, 5)
    least = variant_profile(search, 40, speed_factors(VARIANTS))
    assert torch.all(least <= search.distance_profile(40) + 1e-6)
    with pytest.raises(SelectionError, match="template"):
        search.template_profile(torch.zeros(19, 5))


def test_speed_factors_and_their_validation():
    assert speed_factors(()) == (1.0,)
    assert speed_factors((3, -3, 0, 3.0)) == (1.0, 0.97, 1.03)
    for bad in [(30,), (float("nan"),), ("fast",), tuple(range(1, 10))]:
        with pytest.raises(SelectionError):
            speed_factors(bad)
    features = features_with("resampled +100 cents")
    with pytest.raises(SelectionError, match="speed variant"):
        ResearchSession(features, QUERY_S, RIFF_S, speed_variants=(50,))
    with pytest.raises(SelectionError, match="speed variant"):
        evaluate_dataset("/nonexistent", EvaluationConfig(speed_variants=(-40,)))


def test_undo_and_determinism_hold_with_speed_variants():
    features = features_with("resampled +100 cents")

    def run(answers):
        session = ResearchSession(features, QUERY_S, RIFF_S, patience=3,
                                   speed_variants=VARIANTS)
        proposals = []
        for yes in answers:
            proposals.append(session.propose().start_frame)
            session.answer(yes)
        return session, proposals

    answers = [True, False, True, False]
    session, proposals = run(answers)
    assert run(answers)[1] == proposals
    before = session.propose()
    session.answer(False)
    assert session.undo() == before and session.propose() == before
    assert [a.is_match for a in session.history] == answers


def test_beat_prior_penalises_off_beat_starts(planted, planted_mfcc):
    grid = BeatGrid(120.0, np.arange(0.0, 40.0, 0.5))
    penalty = beat_phase_penalty(grid, query_frame=0, n_starts=100, frame_rate_hz=43.0664,
                                 device=torch.device("cpu"))
    assert float(penalty[0]) == 0.0 and float(penalty.max()) <= 1.0
    assert float(penalty[11]) == pytest.approx(1.0, abs=0.05)  # a quarter second: half a beat
    session = ResearchSession(planted_mfcc, 3.0, 0.6, beats=grid, beat_prior=1.0)
    assert session.propose() is not None
    with pytest.raises(SelectionError, match="beat_prior"):
        ResearchSession(planted_mfcc, 3.0, 0.6, beats=grid, beat_prior=-1.0)
