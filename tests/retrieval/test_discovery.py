"""Discovery without a click: the anchor at a planted sound repeats where the sound does."""

from __future__ import annotations

import pytest

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.features.registry import extract_features
from loopfind_core.retrieval.discovery import reduce_dimensions, suggestion_at
from loopfind_core.retrieval.search import WindowSearch
from testkit.audio import SR_HZ


def test_a_suggestion_at_the_planted_sound_lists_its_occurrences(planted):
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mel-std")
    length = track.seconds_to_frames(planted.sound_duration_s)
    search = WindowSearch(reduce_dimensions(track.values), length, device="cpu")
    suggestion = suggestion_at(track, search, track.seconds_to_frames(planted.sound_starts_s[0]))
    assert suggestion.start_s == pytest.approx(planted.sound_starts_s[0], abs=0.05)
    assert suggestion.duration_s == pytest.approx(planted.sound_duration_s, abs=0.05)
    starts = [start for start, _ in suggestion.occurrences]
    assert starts == pytest.approx(list(planted.sound_starts_s), abs=0.05)
    assert suggestion.score > 0
