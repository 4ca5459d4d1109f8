"""The demo track: the demo corpus's first track, composed from a fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.demo import ensure_demo_track
from loopfind_core.corpus.synth import corpus_track, generate_corpus


@pytest.mark.slow
def test_the_demo_track_is_the_demo_corpus_first_track(tmp_path):
    folder = ensure_demo_track()
    dataset = read_dataset(folder)
    assert dataset.files == ("track_000_house.flac",)
    assert len(dataset.sounds()) >= 4
    track = corpus_track(2024, 0)
    stored, _ = sf.read(folder / dataset.files[0], dtype="float32")
    assert len(stored) == len(track.samples)
    assert np.max(np.abs(stored - track.samples)) < 1e-4  # 16-bit FLAC of the same music
    small = generate_corpus(tmp_path / "c", 2, 77)
    again, _ = sf.read(small[1], dtype="float32")
    assert np.max(np.abs(again - corpus_track(77, 1).samples)) < 1e-4
