"""Musical context: the beat grid, the key and chords, the groove, and melody lines.

:class:`_Context` tells every renderer the sample rate (Hz), tempo (BPM), swing (fraction of
a 16th step) and harmony. Bars have 4 beats of 4 16th steps; note times are in seconds from
the start of the rendered unit, pitches in MIDI note numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.synth.genres import GenreStyle

BEATS_PER_BAR = 4  # every genre here is in 4/4
STEPS_PER_BEAT = 4  # a 16th-note grid
STEPS_PER_BAR = BEATS_PER_BAR * STEPS_PER_BEAT  # 16 steps, the length of a pattern string

NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
# Chord progressions as 0-based scale degrees, one chord per bar: i-VI-III-VII, i-iv-VI-v, ...
PROGRESSIONS = ((0, 5, 2, 6), (0, 3, 5, 4), (0, 5, 3, 4), (0, 6, 5, 6), (0, 3, 0, 4), (0, 2, 5, 6))


@dataclass(frozen=True)
class _Harmony:
    """A key and a chord progression (one chord per bar)."""

    tonic_midi: int  # the key's tonic in the bass register
    scale: tuple[int, ...]  # semitone offsets of the 7 scale degrees
    progression: tuple[int, ...]  # 0-based scale degrees, one per bar, cycling

    def note(self, degree: int, octave: int = 0) -> int:
        """MIDI note of a scale degree (any integer; wraps into octaves) above the tonic."""
        return self.tonic_midi + 12 * (octave + degree // 7) + self.scale[degree % 7]

    def chord(self, degree: int, low_midi: int, size: int = 3) -> tuple[int, ...]:
        """A stacked-thirds chord on ``degree``, transposed to start at or above ``low_midi``."""
        notes = [self.note(degree + 2 * k) for k in range(size)]
        shift = 12 * math.ceil((low_midi - notes[0]) / 12)
        return tuple(n + shift for n in notes)

    def chord_at_bar(self, bar: int) -> int:
        return self.progression[bar % len(self.progression)]


@dataclass(frozen=True)
class _Context:
    """Everything a renderer needs to know about the track: rate, groove and harmony."""

    sr_hz: int
    style: GenreStyle
    tempo_bpm: float
    swing: float
    harmony: _Harmony

    @property
    def beat_s(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bar_s(self) -> float:
        return BEATS_PER_BAR * self.beat_s

    @property
    def step_s(self) -> float:
        return self.beat_s / STEPS_PER_BEAT

    def step_time_s(self, step: int) -> float:
        """Onset of a 16th step from the start of its pattern, with swing on odd steps."""
        return step * self.step_s + (self.swing * self.step_s if step % 2 else 0.0)

    def bar_sample(self, bar: float) -> int:
        """First sample of a bar (bars may be fractional)."""
        return int(round(bar * self.bar_s * self.sr_hz))

    def samples(self, seconds: float) -> int:
        return int(round(seconds * self.sr_hz))


@dataclass(frozen=True)
class _Note:
    start_s: float  # from the start of the rendered unit
    gate_s: float  # how long the key is held
    midi: float
    velocity: float = 1.0
    lfo_period_s: float = 0.0  # wobble basses only: filter LFO period


def _make_context(rng: np.random.Generator, style: GenreStyle, sr_hz: int) -> _Context:
    scale = DORIAN if style.name in ("House", "Downtempo") and rng.random() < 0.4 else NATURAL_MINOR
    harmony = _Harmony(tonic_midi=int(rng.integers(33, 45)), scale=scale,
                       progression=PROGRESSIONS[int(rng.integers(0, len(PROGRESSIONS)))])
    tempo = round(float(rng.uniform(*style.tempo_range_bpm)), 1)
    return _Context(sr_hz, style, tempo, float(rng.uniform(*style.swing_range)), harmony)


def _melody_bar(rng: np.random.Generator, ctx: _Context, degree: int, low_midi: int,
                density: float, step_choices: Sequence[int] = (2, 2, 4)) -> list[_Note]:
    """Notes for one bar: chord tones (and passing scale notes) on an 8th/16th grid."""
    chord = ctx.harmony.chord(degree, low_midi, 3)
    notes: list[_Note] = []
    step = 0
    while step < STEPS_PER_BAR:
        length = int(rng.choice(step_choices))
        if rng.random() < density or not notes and step >= STEPS_PER_BAR // 2:
            midi = int(rng.choice(chord)) + (12 if rng.random() < 0.2 else 0)
            if rng.random() < 0.2:
                midi = ctx.harmony.note(degree + int(rng.integers(1, 6)), 0)
                midi += 12 * math.ceil((low_midi - midi) / 12)
            gate = min(length, STEPS_PER_BAR - step) * ctx.step_s * 0.9
            notes.append(_Note(ctx.step_time_s(step), gate, midi, rng.uniform(0.7, 1.0)))
        step += length
    return notes
