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
    frame_power: np.ndarray | None = field(default=None, repr=False)  # float32, (n_frames,):
    #   the audio's mean square per frame (full scale = 1), for telling silence and far
    #   quieter windows apart (:func:`frame_power_of`); None where the audio is not at hand
    samples: np.ndarray | None = field(default=None, repr=False)  # the decoded audio (mono,
    #   at sample_rate_hz), shared, never copied: events are placed to the sample with it
    sample_rate_hz: int = 0

    def with_samples(self, samples: np.ndarray, sample_rate_hz: int) -> FeatureTrack:
        """The same track holding (a reference to) its audio, for sample-precise events."""
        return FeatureTrack(self.kind, self.values, self.frame_rate_hz, self.frame_power,
                            samples, int(sample_rate_hz))

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


def frame_power_of(samples: np.ndarray, hop_samples: int, n_frames: int) -> np.ndarray:
    """The mean square of ``samples`` (full scale ±1) over each hop of ``hop_samples``,
    frame i covering samples [i·hop, (i+1)·hop), shape (n_frames,), float32; frames past the
    audio's end are 0."""
    power = np.zeros(n_frames, dtype=np.float64)
    usable = min(n_frames, len(samples) // hop_samples)
    if usable:
        blocks = np.asarray(samples[: usable * hop_samples], dtype=np.float64)
        power[:usable] = np.mean(blocks.reshape(usable, hop_samples) ** 2, axis=1)
    if usable < n_frames and usable * hop_samples < len(samples):
        tail = np.asarray(samples[usable * hop_samples:], dtype=np.float64)
        power[usable] = float(np.mean(tail ** 2))
    return power.astype(np.float32)


def frame_grid(n_frames: int) -> FeatureTrack:
    """A feature track with no dimensions: just the frame grid every kind shares, for checking
    a selection against a track's length without computing features."""
    return FeatureTrack("time", np.zeros((n_frames, 0), dtype=np.float32), FRAME_RATE_HZ)
