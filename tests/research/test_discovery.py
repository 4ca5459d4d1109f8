"""Discovery measured against the ground truth: suggestions scored, ``discover --data``."""

from __future__ import annotations

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.cli import main
from loopfind_core.corpus.dataset import Occurrence, SoundTruth
from loopfind_core.features.registry import extract_features
from loopfind_core.research.discovery import score_suggestions
from loopfind_core.retrieval.discovery import discover
from testkit.audio import SR_HZ


def test_discovery_finds_the_planted_chirp_and_is_measured(planted, tiny_dataset, capsys):
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mel-std")
    suggestions = discover(track, None, max_suggestions=10)
    assert 1 <= len(suggestions) <= 10
    truth = SoundTruth("t", "House", "sample", "chirp", tuple(
        Occurrence(s, s + planted.sound_duration_s) for s in planted.sound_starts_s))
    score = score_suggestions(suggestions, [truth])
    assert score.sounds == 1 and score.discovered == 1 and score.occurrence_recall >= 0.75
    assert main(["discover", "--data", str(tiny_dataset), "--features", "mel-std"]) == 0
    assert "2 of 2 annotated sounds" in capsys.readouterr().out
    assert main(["discover"]) == 2
