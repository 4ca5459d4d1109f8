"""Per-occurrence variation and levels: what makes each occurrence of a sound differ, and mixing
a sound at a level relative to a reference RMS.

Pitch jitter is in cents, tempo jitter in percent, gain and envelope jitter in dB, filter
cutoffs in Hz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.synth.config import SynthConfig
from loopfind_core.corpus.synth.dsp import (
    _add_at,
    _highpass,
    _lowpass,
    _rms,
    _shift_pitch,
    stretch_time,
)


@dataclass(frozen=True)
class _Variation:
    """How much one category's occurrences differ from each other (see SynthConfig)."""

    gain_jitter_db: float
    lowpass_probability: float
    highpass_probability: float
    lowpass_cutoff_hz: tuple[float, float]
    highpass_cutoff_hz: tuple[float, float]
    pitch_jitter_cents: float
    envelope_jitter_db: float
    tempo_jitter_percent: float = 0.0

    @staticmethod
    def for_samples(c: SynthConfig) -> _Variation:
        return _Variation(c.sample_gain_jitter_db, c.sample_lowpass_probability,
                          c.sample_highpass_probability, c.lowpass_cutoff_hz,
                          c.highpass_cutoff_hz, c.sample_pitch_jitter_cents,
                          c.sample_envelope_jitter_db, c.sample_tempo_jitter_percent)

    @staticmethod
    def for_loops(c: SynthConfig) -> _Variation:
        return _Variation(c.loop_gain_jitter_db, c.loop_lowpass_probability,
                          c.loop_highpass_probability, c.lowpass_cutoff_hz,
                          c.highpass_cutoff_hz, c.loop_pitch_jitter_cents, 0.0,
                          c.loop_tempo_jitter_percent)


def _vary(sound: np.ndarray, rng: np.random.Generator, variation: _Variation,
          sr_hz: int) -> tuple[np.ndarray, float]:
    """One occurrence of a sound: pitch, speed, envelope and filters changed at random.

    A jitter of 0 draws nothing from ``rng``, so a knob added at 0 leaves every corpus made
    without it unchanged, sample for sample.

    Returns the processed sound and a gain offset in dB for this occurrence.
    """
    y = sound
    if variation.pitch_jitter_cents > 0:
        cents = variation.pitch_jitter_cents
        y = _shift_pitch(y, rng.uniform(-cents, cents))
    if variation.tempo_jitter_percent > 0:
        percent = variation.tempo_jitter_percent
        y = stretch_time(y, rng.uniform(-percent, percent))
    if variation.envelope_jitter_db > 0:
        fade_db = rng.uniform(0.0, variation.envelope_jitter_db)
        y = y * 10.0 ** (-fade_db / 20.0 * np.linspace(0.0, 1.0, len(y)))
    if rng.random() < variation.lowpass_probability:
        y = _lowpass(y, _log_uniform(rng, variation.lowpass_cutoff_hz), sr_hz)
    if rng.random() < variation.highpass_probability:
        y = _highpass(y, _log_uniform(rng, variation.highpass_cutoff_hz), sr_hz)
    jitter = variation.gain_jitter_db
    return y, float(rng.uniform(-jitter, jitter))


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def _add_at_level(out: np.ndarray, sound: np.ndarray, start: int, span_n: int,
                  level_db: float, reference_rms: float) -> None:
    """Mix ``sound`` into ``out`` at ``start`` so that its RMS over its first ``span_n``
    samples is ``level_db`` relative to ``reference_rms``."""
    own = _rms(sound[:span_n])
    if own > 0:
        _add_at(out, sound, start, reference_rms * 10.0 ** (level_db / 20.0) / own)
