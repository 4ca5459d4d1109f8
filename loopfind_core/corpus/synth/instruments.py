"""Instruments: synth voices, basses, drum and percussion kits, and a formant singer.

Each renders one note, hit or phrase as a float64 array of samples at ``sr_hz`` (Hz), most of
them peak-normalised; durations are in seconds, pitches in MIDI note numbers, cutoffs and
formants in Hz.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.synth.dsp import (
    DB60,
    _add_at,
    _bandpass,
    _decay,
    _fade_edges,
    _highpass,
    _lowpass,
    _midi_hz,
    _normalise,
    _phase,
    _saw,
    _square,
    _swept_filter,
)
from loopfind_core.corpus.synth.music import STEPS_PER_BAR, _Context, _Note

VELOCITY = {"X": 1.0, "x": 0.75, "g": 0.35}  # pattern characters: accent, normal, ghost

# Vowel formants F1-F3 (Hz), rounded averages of Peterson & Barney (1952), adult speakers.
VOWEL_FORMANTS_HZ = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (300.0, 2250.0, 3000.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (320.0, 870.0, 2240.0),
}
VOWELS = tuple(VOWEL_FORMANTS_HZ)
FORMANT_BANDWIDTHS_HZ = (90.0, 110.0, 160.0)  # typical F1-F3 bandwidths of a sung vowel
FORMANT_GAINS = (1.0, 0.5, 0.25)  # higher formants are weaker (about -6 dB each)


# --- Voices --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Voice:
    """A subtractive/FM synth voice: oscillators, amplitude envelope, filter with envelope."""

    wave: str = "saw"  # "saw", "square", "sine", "fm" or "organ"
    n_osc: int = 1  # detuned oscillators (a "supersaw" when > 2)
    detune_cents: float = 0.0  # spread of the oscillators, ±this
    attack_s: float = 0.003
    decay_s: float = 0.3  # time to fall 60 dB towards the sustain level
    sustain: float = 0.0  # sustain level, 0..1
    release_s: float = 0.05
    cutoff_hz: float = 4000.0  # lowpass cutoff at rest
    filter_env_octaves: float = 0.0  # cutoff opens this much at the note start, then decays
    fm_ratio: float = 1.0  # "fm": modulator frequency / carrier frequency
    fm_index: float = 0.0  # "fm": modulation index at the note start (decays with decay_s)
    sub_level: float = 0.0  # a sine an octave down, for basses
    vibrato_cents: float = 0.0
    vibrato_hz: float = 5.0
    drive: float = 0.0  # tanh saturation amount (0: clean)

    def render(self, midi: float, gate_s: float, sr_hz: int) -> np.ndarray:
        """One note, shape (round((gate_s + release_s) * sr_hz),), peak about 1."""
        n_gate = max(1, int(gate_s * sr_hz))
        n = n_gate + int(self.release_s * sr_hz)
        t = np.arange(n) / sr_hz
        freq = _midi_hz(midi) * 2.0 ** (
            self.vibrato_cents / 1200.0 * np.sin(2 * np.pi * self.vibrato_hz * t))
        decay = np.exp(-DB60 * t / max(self.decay_s, 1e-3))
        y = np.zeros(n)
        spread = np.linspace(-1.0, 1.0, self.n_osc) if self.n_osc > 1 else np.zeros(1)
        for offset in spread:
            phase, inc = _phase(freq * 2.0 ** (offset * self.detune_cents / 1200.0), n, sr_hz)
            y += self._oscillator(phase, inc, decay)
        y /= self.n_osc
        if self.sub_level > 0:
            sub_phase, _ = _phase(freq / 2.0, n, sr_hz)
            y += self.sub_level * np.sin(2 * np.pi * sub_phase)
        if self.cutoff_hz < 0.47 * sr_hz:
            dark = _lowpass(y, self.cutoff_hz, sr_hz)
            if self.filter_env_octaves > 0:
                bright = _lowpass(y, self.cutoff_hz * 2.0 ** self.filter_env_octaves, sr_hz)
                y = dark + decay * (bright - dark)
            else:
                y = dark
        amp = self.sustain + (1.0 - self.sustain) * decay
        amp *= np.minimum(t / max(self.attack_s, 1e-4), 1.0)
        if n > n_gate:
            amp[n_gate:] *= np.linspace(1.0, 0.0, n - n_gate)
        y *= amp
        if self.drive > 0:
            y = np.tanh((1.0 + self.drive) * y) / np.tanh(1.0 + self.drive)
        return _fade_edges(y, sr_hz, 0.002)

    def _oscillator(self, phase: np.ndarray, inc: np.ndarray, decay: np.ndarray) -> np.ndarray:
        if self.wave == "saw":
            return _saw(phase, inc)
        if self.wave == "square":
            return _square(phase, inc)
        if self.wave == "fm":
            carrier = 2 * np.pi * phase
            return np.sin(carrier + self.fm_index * decay * np.sin(self.fm_ratio * carrier))
        if self.wave == "organ":  # drawbars 8', 4', 2 2/3', 2'
            angle = 2 * np.pi * phase
            return (np.sin(angle) + 0.5 * np.sin(2 * angle) + 0.3 * np.sin(3 * angle)
                    + 0.2 * np.sin(4 * angle)) / 2.0
        return np.sin(2 * np.pi * phase)


@dataclass(frozen=True)
class _BassTimbre:
    """A bass: a voice, or a wobble (LFO-swept lowpass) when ``wobble_hz`` is set."""

    voice: _Voice
    wobble_hz: tuple[float, float] = (0.0, 0.0)  # cutoff range swept by the LFO; (0, 0): none


def _bass_timbre(rng: np.random.Generator, style: str) -> _BassTimbre:
    if style == "wobble":
        voice = _Voice(wave="saw", sub_level=rng.uniform(0.5, 0.8))
        return _BassTimbre(voice, (rng.uniform(120, 220), rng.uniform(1800, 4000)))
    if style == "reese":
        return _BassTimbre(_Voice(wave="saw", n_osc=2, detune_cents=rng.uniform(12, 22),
                                  attack_s=0.01, decay_s=2.0, sustain=0.8, release_s=0.08,
                                  cutoff_hz=rng.uniform(300, 600), sub_level=0.6, drive=1.0))
    if style == "sub":
        return _BassTimbre(_Voice(wave="sine", attack_s=0.01, decay_s=1.5, sustain=0.7,
                                  release_s=0.1, drive=rng.uniform(0.3, 1.0)))
    return _BassTimbre(_Voice(wave="saw", attack_s=0.003, decay_s=rng.uniform(0.2, 0.35),
                              sustain=0.3, release_s=0.04, cutoff_hz=rng.uniform(350, 800),
                              filter_env_octaves=rng.uniform(1.5, 3.0), sub_level=0.5))


def _render_bass_note(note: _Note, timbre: _BassTimbre, sr_hz: int) -> np.ndarray:
    if timbre.wobble_hz[1] <= 0:
        return timbre.voice.render(note.midi, note.gate_s, sr_hz)
    n = max(1, int((note.gate_s + 0.03) * sr_hz))
    t = np.arange(n) / sr_hz
    freq = _midi_hz(note.midi)
    phase, inc = _phase(freq, n, sr_hz)
    phase2, inc2 = _phase(freq * 2.0 ** (14 / 1200.0), n, sr_hz)
    source = _saw(phase, inc) + 0.7 * _square(phase2, inc2)
    period_s = note.lfo_period_s if note.lfo_period_s > 0 else note.gate_s
    lfo = 0.5 - 0.5 * np.cos(2 * np.pi * t / period_s)  # 0..1, starts closed
    lo, hi = timbre.wobble_hz
    y = _swept_filter(source, lo * (hi / lo) ** lfo, sr_hz, n_bands=6)
    sub_phase, _ = _phase(freq / 2.0, n, sr_hz)
    y = np.tanh(1.8 * (0.6 * y + timbre.voice.sub_level * np.sin(2 * np.pi * sub_phase)))
    amp = np.minimum(t / 0.004, 1.0) * np.clip((n / sr_hz - t) / 0.03, 0.0, 1.0)
    return y * amp


def _render_notes(notes: Sequence[_Note], n: int, render: Callable[[_Note], np.ndarray],
                  sr_hz: int) -> np.ndarray:
    """Mix notes into a buffer of at least ``n`` samples (longer if a release rings past)."""
    rendered: dict[tuple[float, float, float], np.ndarray] = {}
    parts = []
    for note in notes:
        key = (round(note.midi, 3), round(note.gate_s, 4), round(note.lfo_period_s, 4))
        if key not in rendered:
            rendered[key] = render(note)
        parts.append((int(round(note.start_s * sr_hz)), note.velocity, rendered[key]))
    length = max([n] + [start + len(sound) for start, _, sound in parts])
    out = np.zeros(length)
    for start, velocity, sound in parts:
        out[start:start + len(sound)] += velocity * sound
    return out


# --- Drums ---------------------------------------------------------------------------------


def _kick(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    """A synthesised kick: a sine whose pitch drops fast, plus a click, saturated."""
    decay_s = rng.uniform(0.25, 0.6)
    n = int(decay_s * sr_hz)
    t = np.arange(n) / sr_hz
    start_hz, end_hz = rng.uniform(120, 220), rng.uniform(42, 60)
    freq = end_hz + (start_hz - end_hz) * np.exp(-t / rng.uniform(0.02, 0.05))
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr_hz) * _decay(n, sr_hz, decay_s, 0.001)
    click = _highpass(rng.standard_normal(n), 2000.0, sr_hz) * _decay(n, sr_hz, 0.012, 0.0)
    drive = rng.uniform(1.0, 3.0)
    return _normalise(np.tanh(drive * (body + rng.uniform(0.1, 0.4) * click)))


def _snare(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    """A snare: a short tone body plus band-passed noise."""
    decay_s = rng.uniform(0.12, 0.3)
    n = int(decay_s * sr_hz)
    t = np.arange(n) / sr_hz
    tone = np.sin(2 * np.pi * rng.uniform(170, 250) * t) * _decay(n, sr_hz, rng.uniform(0.06, 0.14))
    noise = _bandpass(rng.standard_normal(n), rng.uniform(1200, 2500), rng.uniform(6000, 9000),
                      sr_hz) * _decay(n, sr_hz, decay_s)
    return _normalise(rng.uniform(0.3, 0.6) * tone + _normalise(noise))


def _clap(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    """A clap: 3-4 noise bursts 8-14 ms apart, then a band-passed tail."""
    decay_s = rng.uniform(0.15, 0.3)
    spacing_s = rng.uniform(0.008, 0.014)
    n = int((decay_s + 4 * spacing_s) * sr_hz)
    env = np.zeros(n)
    n_bursts = int(rng.integers(3, 5))
    for k in range(n_bursts):
        start = int(k * spacing_s * sr_hz)
        length = n - start
        decay = decay_s if k == n_bursts - 1 else 0.006
        env[start:] += _decay(length, sr_hz, decay, 0.0005) * (0.8 if k < n_bursts - 1 else 1.0)
    noise = _bandpass(rng.standard_normal(n), rng.uniform(800, 1300), rng.uniform(2500, 4500),
                      sr_hz, order=2)
    return _normalise(noise * env)


def _hat(rng: np.random.Generator, sr_hz: int, decay_s: float) -> np.ndarray:
    """A hi-hat: six inharmonic squares (808-style ratios) and noise, high-passed."""
    n = int(decay_s * sr_hz)
    base_hz = rng.uniform(300, 450)
    metal = np.zeros(n)
    for ratio in (2.0, 3.0, 4.16, 5.43, 6.79, 8.21):
        phase, inc = _phase(base_hz * ratio, n, sr_hz)
        metal += _square(phase, inc)
    y = 0.5 * metal / 6 + rng.standard_normal(n) * rng.uniform(0.4, 0.9)
    y = _highpass(y, rng.uniform(6000, 7500), sr_hz, order=4)
    return _normalise(y * _decay(n, sr_hz, decay_s, 0.0005))


def _shaker(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    n = int(0.12 * sr_hz)
    y = _bandpass(rng.standard_normal(n), 4000, 9000, sr_hz, order=2)
    return _normalise(y * _decay(n, sr_hz, rng.uniform(0.06, 0.12), rng.uniform(0.005, 0.02)))


def _tone_drum(rng: np.random.Generator, sr_hz: int, freq_hz: float, decay_s: float,
               bend: float, noise: float) -> np.ndarray:
    """Congas, toms, rims: a sine falling from ``bend`` times its pitch, plus a noise tick."""
    n = int(decay_s * sr_hz)
    t = np.arange(n) / sr_hz
    freq = freq_hz * (1.0 + (bend - 1.0) * np.exp(-t / 0.015))
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr_hz) * _decay(n, sr_hz, decay_s, 0.001)
    tick = _bandpass(rng.standard_normal(n), 1500, 5000, sr_hz) * _decay(n, sr_hz, 0.02, 0.0)
    return _normalise(body + noise * tick)


def _cowbell(rng: np.random.Generator, sr_hz: int) -> np.ndarray:
    n = int(0.3 * sr_hz)
    base = rng.uniform(520, 600)
    y = np.zeros(n)
    for ratio in (1.0, 1.48):
        phase, inc = _phase(base * ratio, n, sr_hz)
        y += _square(phase, inc)
    y = _bandpass(y, 500, 3000, sr_hz, order=2)
    return _normalise(y * _decay(n, sr_hz, rng.uniform(0.15, 0.3), 0.001))


def _percussion_set(rng: np.random.Generator, sr_hz: int) -> dict[str, np.ndarray]:
    """A hand-percussion set for percussion loops; pitches differ from kit to kit."""
    conga_hz = rng.uniform(180, 260)
    tom_hz = rng.uniform(90, 150)
    return {
        "conga_hi": _tone_drum(rng, sr_hz, conga_hz * 1.5, rng.uniform(0.15, 0.3), 1.3, 0.3),
        "conga_lo": _tone_drum(rng, sr_hz, conga_hz, rng.uniform(0.2, 0.4), 1.3, 0.3),
        "tom": _tone_drum(rng, sr_hz, tom_hz, rng.uniform(0.3, 0.5), 1.8, 0.2),
        "rim": _tone_drum(rng, sr_hz, rng.uniform(700, 900), 0.05, 1.0, 1.5),
        "clave": _tone_drum(rng, sr_hz, rng.uniform(2000, 2600), 0.08, 1.0, 0.1),
        "cowbell": _cowbell(rng, sr_hz),
        "shaker": _shaker(rng, sr_hz),
    }


def _pattern(pattern: str, hit: np.ndarray, ctx: _Context) -> np.ndarray:
    """A drum pattern (16 steps a bar, any number of bars) rendered into one buffer."""
    n_bars = math.ceil(len(pattern) / STEPS_PER_BAR)
    out = np.zeros(ctx.bar_sample(n_bars) + len(hit))
    for step, char in enumerate(pattern):
        if char in VELOCITY:
            _add_at(out, hit, ctx.samples(ctx.step_time_s(step)), VELOCITY[char])
    return out


# --- Singer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _VoxTimbre:
    """A singer: register, formant shift (vocal tract length), breathiness, vibrato."""

    low_midi: int
    formant_shift: float
    breath: float
    vibrato_cents: float
    brightness_hz: float


def _vox_timbre(rng: np.random.Generator) -> _VoxTimbre:
    return _VoxTimbre(low_midi=int(rng.integers(52, 66)), formant_shift=rng.uniform(0.9, 1.2),
                      breath=rng.uniform(0.03, 0.2), vibrato_cents=rng.uniform(0, 30),
                      brightness_hz=rng.uniform(3000, 6000))


def _render_vox(segments: Sequence[tuple[float, float, int, str, str]], n: int,
                voice: _VoxTimbre, sr_hz: int, rng: np.random.Generator) -> np.ndarray:
    """Vocal-like chops: a glottal pulse train through formant filters, shape (n,).

    ``segments`` are ``(start_s, end_s, midi, vowel_from, vowel_to)``; the vowel glides from
    the first to the second over the syllable.
    """
    t = np.arange(n) / sr_hz
    f0 = np.full(n, _midi_hz(segments[0][2]) if segments else 200.0)
    gate = np.zeros(n)
    weights = np.zeros((len(VOWELS), n))  # (vowel, time)
    for start_s, end_s, midi, v_from, v_to in segments:
        a, b = int(start_s * sr_hz), min(int(end_s * sr_hz), n)
        if b <= a:
            continue
        f0[a:] = _midi_hz(midi)
        ramp = np.linspace(0.0, 1.0, b - a)
        weights[VOWELS.index(v_from), a:b] += 1.0 - ramp
        weights[VOWELS.index(v_to), a:b] += ramp
        attack, release = min(int(0.01 * sr_hz), b - a), min(int(0.04 * sr_hz), b - a)
        env = np.ones(b - a)
        env[:attack] = np.linspace(0.0, 1.0, attack)
        env[len(env) - release:] *= np.linspace(1.0, 0.0, release)
        gate[a:b] = np.maximum(gate[a:b], env)
    f0 *= 2.0 ** (voice.vibrato_cents / 1200.0 * np.sin(2 * np.pi * 5.5 * t))
    phase, inc = _phase(f0, n, sr_hz)
    source = _lowpass(_saw(phase, inc), voice.brightness_hz, sr_hz)
    source += voice.breath * rng.standard_normal(n)
    out = np.zeros(n)
    for index, vowel in enumerate(VOWELS):
        if not weights[index].any():
            continue
        shaped = np.zeros(n)
        for formant, bandwidth, gain in zip(VOWEL_FORMANTS_HZ[vowel], FORMANT_BANDWIDTHS_HZ,
                                            FORMANT_GAINS, strict=True):
            centre = formant * voice.formant_shift
            shaped += gain * _bandpass(source, centre - bandwidth, centre + bandwidth, sr_hz)
        out += weights[index] * shaped
    return out * gate
