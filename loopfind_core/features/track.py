"""A feature track: one vector per spectrogram frame (paper §III-C), with its time base."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from loopfind_core.base.spectrogram import FRAME_RATE_HZ


@dataclass(frozen=True, eq=False)
class FeatureTrack:
    """A (frames × dims) float32 feature matrix with its time base."""

    kind: str  # registry name, e.g. "mfcc"
    values: np.ndarray = field(repr=False)  # float32, shape (n_frames, n_dims)
    frame_rate_hz: float  # frames per second; frame i starts at i / frame_rate_hz seconds

    @property
    def n_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_dims(self) -> int:
        return int(self.values.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.frame_rate_hz

    def seconds_to_frames(self, seconds: float) -> int:
        """The nearest frame index (or frame count) to a time in seconds."""
        return int(round(seconds * self.frame_rate_hz))

    def frames_to_seconds(self, frames: float) -> float:
        return frames / self.frame_rate_hz


def frame_grid(n_frames: int) -> FeatureTrack:
    """A feature track with no dimensions: just the frame grid every kind shares, for checking
    a selection against a track's length without computing features."""
    return FeatureTrack("time", np.zeros((n_frames, 0), dtype=np.float32), FRAME_RATE_HZ)
