"""The app's Plotly figures build from a planted track."""

from __future__ import annotations

import numpy as np

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.beats import BeatGrid
from loopfind_core.features.registry import extract_features
from loopfind_core.interactive.compare import distance_curve
from loopfind_core.interactive.figures import (
    TimelineMarks,
    distance_figure,
    selection_figure,
    self_similarity_figure,
    timeline_figure,
    waveform_envelope,
)
from testkit.audio import SR_HZ

GRID = BeatGrid(120.0, np.arange(0.5, 40.0, 0.5))  # a beat every 0.5 s from 0.5 s


def test_figures_build(planted):
    envelope = waveform_envelope(planted.samples, SR_HZ, points=500)
    assert len(envelope.times_s) == 500 and np.all(envelope.low <= envelope.high)
    image = np.zeros((128, 300), dtype=np.float32)
    figure = selection_figure(envelope, np.arange(300) / 10, image, (3.0, 1.0), GRID)
    assert figure.layout.dragmode == "select"
    marks = TimelineMarks((3.1, 3.7), [(11.7, 12.3)], [(20.0, 20.6)], (22.4, 23.0))
    assert len(timeline_figure(envelope, marks).layout.shapes) == 4
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mfcc")
    curve = distance_curve(track, 3.1, 0.6)
    assert len(distance_figure([curve, curve]).data) == 2
    assert len(self_similarity_figure({"a": np.eye(3), "b": np.eye(3)}, 40.0).data) == 2
