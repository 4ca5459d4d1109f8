"""Tempo and beat grid (librosa's beat tracker), for snapping selections and for export."""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from loopfind_core.base.audio import Audio
from loopfind_core.base.compile_cache import ensure_compiled
from loopfind_core.base.spectrogram import HOP_LENGTH, log_mel

MIN_BEATS = 4  # fewer detected beats than this is no grid


@dataclass(frozen=True)
class BeatGrid:
    """Estimated tempo and beat times of a track."""

    tempo_bpm: float  # 0.0 when no tempo was found
    beat_times_s: np.ndarray  # (n_beats,) seconds, increasing

    @property
    def has_beats(self) -> bool:
        return len(self.beat_times_s) >= MIN_BEATS

    @property
    def beat_period_s(self) -> float:
        """Median time between beats (seconds); 0.0 without a grid."""
        return float(np.median(np.diff(self.beat_times_s))) if self.has_beats else 0.0

    def snap(self, time_s: float) -> float:
        """The beat time nearest ``time_s`` (unchanged without a grid)."""
        if not self.has_beats:
            return float(time_s)
        return float(self.beat_times_s[np.argmin(np.abs(self.beat_times_s - time_s))])

    def snap_duration(self, duration_s: float) -> float:
        """``duration_s`` rounded to a whole number of beats, at least one."""
        if not self.has_beats:
            return float(duration_s)
        period = self.beat_period_s
        return max(1, round(duration_s / period)) * period

    def beat_position(self, time_s: float) -> float:
        """Where ``time_s`` falls on the grid, in beats from the first beat (fractional,
        extrapolated at the tempo before the first and after the last beat); NaN without one."""
        return float(self.beat_positions(np.array([time_s], dtype=np.float64))[0])

    def beat_positions(self, times_s: np.ndarray) -> np.ndarray:
        """:meth:`beat_position` of every time in ``times_s`` (seconds), vectorised."""
        times = np.asarray(times_s, dtype=np.float64)
        if not self.has_beats:
            return np.full(times.shape, np.nan)
        beats, period = self.beat_times_s, self.beat_period_s
        positions = np.interp(times, beats, np.arange(len(beats), dtype=np.float64))
        before, after = times < beats[0], times > beats[-1]
        positions[before] = (times[before] - beats[0]) / period
        positions[after] = len(beats) - 1 + (times[after] - beats[-1]) / period
        return positions


def estimate_beats(audio: Audio) -> BeatGrid:
    """Tempo (BPM) and beat times (seconds) of ``audio`` from librosa's dynamic-programming
    beat tracker on the onset strength of the features' log-mel (same STFT, same hop)."""
    ensure_compiled()  # the beat tracker's kernels, compiled once under a lock
    onsets = librosa.onset.onset_strength(S=log_mel(audio), sr=audio.sr_hz, hop_length=HOP_LENGTH)
    tempo, frames = librosa.beat.beat_track(
        onset_envelope=onsets, sr=audio.sr_hz, hop_length=HOP_LENGTH
    )
    times = librosa.frames_to_time(frames, sr=audio.sr_hz, hop_length=HOP_LENGTH)
    tempo_bpm = float(np.atleast_1d(tempo)[0]) if np.size(tempo) else 0.0
    return BeatGrid(tempo_bpm if np.isfinite(tempo_bpm) else 0.0, np.asarray(times, float))
