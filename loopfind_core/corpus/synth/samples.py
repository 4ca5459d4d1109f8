"""Annotated samples: the one-shot kinds (hit, riser, vox, zap, stab, noise, bell) and the times
at which each sample's occurrences play.

Sample durations are 0.2-6 s; start times are in seconds from the start of the track. A
sample's level is in dB against the RMS of the music (backing and loops).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.synth.arrangement import _Section
from loopfind_core.corpus.synth.config import SynthConfig
from loopfind_core.corpus.synth.dsp import (
    _add_at,
    _decay,
    _fade_edges,
    _lowpass,
    _midi_hz,
    _normalise,
    _phase,
    _room,
    _saw,
    _square,
    _swept_filter,
    _with_reverb,
)
from loopfind_core.corpus.synth.instruments import VOWELS, _render_vox, _Voice, _vox_timbre
from loopfind_core.corpus.synth.music import STEPS_PER_BAR, _Context

logger = logging.getLogger(__name__)

PLACEMENT_TRIES = 400  # random candidate positions tried per sample occurrence
SAMPLE_KINDS = ("hit", "riser", "vox", "zap", "stab", "noise", "bell")
# Designed durations per kind, all within 0.2-6 s (paper: most samples are under 3 s).
SAMPLE_DURATION_RANGE_S = {
    "hit": (0.6, 2.5), "riser": (2.0, 6.0), "vox": (0.3, 1.5), "zap": (0.2, 0.7),
    "stab": (0.3, 1.2), "noise": (0.8, 3.0), "bell": (0.5, 2.0),
}
SIBLING_DURATION_SPREAD = 1.25  # a sibling lasts between 1/1.25 and 1.25 times its family's


# --- Sounds --------------------------------------------------------------------------------


def _sample_vox(timbre: np.random.Generator, content: np.random.Generator, n: int,
                ctx: _Context) -> np.ndarray:
    """A vocal chop: 1-4 syllables on tonic-chord notes, each gliding between two vowels."""
    voice = _vox_timbre(timbre)
    duration_s = n / ctx.sr_hz
    n_syllables = int(content.integers(1, max(2, min(4, int(duration_s / 0.15)) + 1)))
    cuts = np.sort(content.uniform(0.0, duration_s, size=n_syllables - 1))
    bounds = np.concatenate([[0.0], cuts, [duration_s]])
    degree = ctx.harmony.progression[0]
    chord = ctx.harmony.chord(degree, voice.low_midi, 3)
    segments = [
        (float(a), float(a + (b - a) * content.uniform(0.75, 1.0)),
         int(content.choice(chord)), str(content.choice(VOWELS)), str(content.choice(VOWELS)))
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return _render_vox(segments, n, voice, ctx.sr_hz, content)


def _sample_zap(timbre: np.random.Generator, content: np.random.Generator, n: int,
                ctx: _Context) -> np.ndarray:
    """A laser: a fast exponential pitch sweep (down, or up) with a sharp decay."""
    wave = str(timbre.choice(["square", "saw", "fm"]))
    cutoff = timbre.uniform(2500, 8000)
    s = np.arange(n) / n
    hi, lo = content.uniform(1500, 5000), content.uniform(80, 400)
    if content.random() < 0.3:
        hi, lo = lo, hi
    curve = content.uniform(0.3, 1.5)
    freq = hi * (lo / hi) ** (s ** curve)
    phase, inc = _phase(freq, n, ctx.sr_hz)
    if wave == "fm":
        y = np.sin(2 * np.pi * phase + 2.0 * np.sin(4 * np.pi * phase))
    else:
        y = _saw(phase, inc) if wave == "saw" else _square(phase, inc)
    y = _lowpass(y, cutoff, ctx.sr_hz)
    return y * _decay(n, ctx.sr_hz, n / ctx.sr_hz * content.uniform(1.0, 2.0), 0.002)


def _sample_hit(timbre: np.random.Generator, content: np.random.Generator, n: int,
                ctx: _Context) -> np.ndarray:
    """An impact: a dropping sub boom, a noise burst and a metallic ring."""
    sr = ctx.sr_hz
    t = np.arange(n) / sr
    boom_hz = timbre.uniform(40, 70) * 2.0 ** (content.uniform(-5, 5) / 12.0)
    freq = boom_hz * (1.0 + content.uniform(0.5, 2.0) * np.exp(-t / 0.05))
    boom = np.sin(2 * np.pi * np.cumsum(freq) / sr) * _decay(n, sr, n / sr, 0.001)
    noise = _lowpass(content.standard_normal(n), timbre.uniform(1500, 6000), sr)
    noise *= _decay(n, sr, content.uniform(0.2, 0.6) * n / sr, 0.001)
    ring = np.zeros(n)
    base = timbre.uniform(150, 400) * 2.0 ** (content.uniform(-7, 7) / 12.0)
    for ratio in content.uniform(1.0, 5.0, size=3):
        ring += np.sin(2 * np.pi * base * ratio * t)
    ring *= _decay(n, sr, content.uniform(0.3, 0.8) * n / sr, 0.001) / 3
    return boom + timbre.uniform(0.3, 0.8) * noise + timbre.uniform(0.1, 0.5) * ring


def _sample_riser(timbre: np.random.Generator, content: np.random.Generator, n: int,
                  ctx: _Context) -> np.ndarray:
    """A riser: noise through a rising band-pass, with an optional rising synth tone."""
    sr = ctx.sr_hz
    s = np.arange(n) / n
    lo, hi = content.uniform(200, 600), content.uniform(3000, 9000)
    curve = content.uniform(0.6, 2.0)
    centre = lo * (hi / lo) ** (s ** curve)
    y = _swept_filter(content.standard_normal(n), centre, sr, "bandpass",
                      bandwidth_octaves=timbre.uniform(0.8, 2.0))
    if timbre.random() < 0.6:
        start_midi = ctx.harmony.note(0, 1) + int(content.integers(-5, 6))
        freq = _midi_hz(start_midi) * 2.0 ** (content.uniform(12, 24) / 12.0 * s ** curve)
        phase, inc = _phase(freq, n, sr)
        y = _normalise(y) + timbre.uniform(0.2, 0.6) * _saw(phase, inc)
    return y * s ** content.uniform(1.0, 2.5)


def _sample_noise(timbre: np.random.Generator, content: np.random.Generator, n: int,
                  ctx: _Context) -> np.ndarray:
    """A noise effect: a downlifter or a whoosh (band-pass moving down, or up then down)."""
    sr = ctx.sr_hz
    s = np.arange(n) / n
    hi, lo = content.uniform(3000, 9000), content.uniform(150, 600)
    if content.random() < 0.5:
        centre = hi * (lo / hi) ** s  # downlifter
        amp = np.exp(-content.uniform(1.0, 3.0) * s) * np.minimum(s / 0.02, 1.0)
    else:
        peak = content.uniform(0.3, 0.7)
        shape = np.where(s < peak, s / peak, (1 - s) / (1 - peak))
        centre = lo * (hi / lo) ** shape  # whoosh
        amp = shape ** content.uniform(1.0, 2.0)
    y = _swept_filter(content.standard_normal(n), centre, sr, "bandpass",
                      bandwidth_octaves=timbre.uniform(0.5, 1.5))
    if timbre.random() < 0.4:  # a comb-like flanged colour
        delay = int(timbre.uniform(0.002, 0.008) * sr)
        y[delay:] += 0.7 * y[:-delay]
    return y * amp


def _sample_stab(timbre: np.random.Generator, content: np.random.Generator, n: int,
                 ctx: _Context) -> np.ndarray:
    """A chord hit (an "orchestra hit" / rave stab) with a filter envelope."""
    voice = _Voice(wave=str(timbre.choice(["saw", "square", "organ"])), n_osc=3,
                   detune_cents=timbre.uniform(8, 20), decay_s=n / ctx.sr_hz,
                   release_s=0.0, cutoff_hz=timbre.uniform(800, 2500),
                   filter_env_octaves=timbre.uniform(1.5, 3.0), drive=timbre.uniform(0.0, 1.5))
    degree = int(content.integers(0, 7))
    chord = ctx.harmony.chord(degree, int(timbre.integers(50, 62)), int(content.integers(3, 5)))
    y = sum(voice.render(m, n / ctx.sr_hz, ctx.sr_hz)[:n] for m in chord)
    return np.asarray(y)


def _sample_bell(timbre: np.random.Generator, content: np.random.Generator, n: int,
                 ctx: _Context) -> np.ndarray:
    """An FM bell: inharmonic ratio, 1-3 quick notes."""
    sr = ctx.sr_hz
    voice = _Voice(wave="fm", fm_ratio=float(timbre.choice([1.4, 2.76, 3.5])),
                   fm_index=timbre.uniform(2.0, 5.0), decay_s=timbre.uniform(0.6, 1.0) * n / sr,
                   release_s=0.0)
    low = int(timbre.integers(67, 80))
    y = np.zeros(n)
    n_notes = int(content.integers(1, 4))
    for k in range(n_notes):
        midi = ctx.harmony.note(int(content.integers(0, 7)), 0) + 12 * math.ceil(
            (low - ctx.harmony.tonic_midi) / 12)
        start = int(k * content.uniform(0.06, 0.15) * sr)
        if start < n:
            _add_at(y, voice.render(midi, (n - start) / sr, sr), start)
    return y


SampleRenderer = Callable[[np.random.Generator, np.random.Generator, int, _Context], np.ndarray]
SAMPLE_RENDERERS: dict[str, SampleRenderer] = {
    "hit": _sample_hit, "riser": _sample_riser, "vox": _sample_vox, "zap": _sample_zap,
    "stab": _sample_stab, "noise": _sample_noise, "bell": _sample_bell,
}


def _render_sample(kind: str, duration_s: float, timbre_seed: int, content_seed: int,
                   ctx: _Context) -> np.ndarray:
    """One sample sound, exactly ``duration_s`` long, with some room, edges faded, peak 1."""
    timbre = np.random.default_rng(timbre_seed)
    content = np.random.default_rng(content_seed)
    n = ctx.samples(duration_s)
    dry = SAMPLE_RENDERERS[kind](timbre, content, n, ctx)
    wet = timbre.uniform(0.0, 0.35)
    if wet > 0.05:
        dry = _with_reverb(dry, _room(timbre, ctx.sr_hz, timbre.uniform(0.4, 1.0)), wet)[:n]
    return _normalise(_fade_edges(dry[:n], ctx.sr_hz, 0.01))


# --- Placement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    """A window of time (s)."""

    start_s: float
    end_s: float

    def overlaps(self, other: _Span) -> bool:
        return self.start_s < other.end_s and other.start_s < self.end_s


@dataclass(frozen=True)
class _SampleDesign:
    """An annotated sample: what it is and where it plays. Siblings share ``timbre_seed``."""

    sound_id: str
    kind: str
    duration_s: float
    timbre_seed: int
    content_seed: int
    level_db: float
    starts_s: tuple[float, ...]


def _plan_samples(rng: np.random.Generator, ctx: _Context, sections: Sequence[_Section],
                  track_s: float, config: SynthConfig) -> list[_SampleDesign]:
    """Choose the annotated samples, their synths (siblings share one) and their starts."""
    n = int(rng.integers(config.samples_per_track[0], config.samples_per_track[1] + 1))
    designs: list[_SampleDesign] = []
    taken: list[_Span] = []
    for _ in range(3 * n + 5):  # a sound that does not fit twice is replaced by another
        if len(designs) == n:
            break
        if designs and rng.random() < config.sibling_probability:
            family = designs[int(rng.integers(0, len(designs)))]
            kind, timbre_seed = family.kind, family.timbre_seed
            duration_s = _sibling_duration(rng, kind, family.duration_s)
        else:
            kind = str(rng.choice(ctx.style.sample_kinds))
            timbre_seed = int(rng.integers(2**31))
            duration_s = rng.uniform(*SAMPLE_DURATION_RANGE_S[kind])
        duration_s = round(duration_s, 2)
        count = int(rng.integers(config.sample_occurrences[0], config.sample_occurrences[1] + 1))
        starts = _sample_starts(rng, kind, duration_s, ctx, sections, track_s, taken, count,
                                config)
        if len(starts) < 2:
            logger.debug("A %s of %.2f s fits fewer than 2 times; drawing another.", kind,
                         duration_s)
            continue
        taken += [_Span(start, start + duration_s) for start in starts]
        designs.append(_SampleDesign(f"sample_{kind}_{len(designs) + 1}", kind, duration_s,
                                     timbre_seed, int(rng.integers(2**31)),
                                     rng.uniform(*config.sample_level_db), tuple(starts)))
    return designs


def _sibling_duration(rng: np.random.Generator, kind: str, family_s: float) -> float:
    lo, hi = SAMPLE_DURATION_RANGE_S[kind]
    spread = math.log(SIBLING_DURATION_SPREAD)
    return float(np.clip(family_s * math.exp(rng.uniform(-spread, spread)), lo, hi))


def _sample_starts(rng: np.random.Generator, kind: str, d: float, ctx: _Context,
                   sections: Sequence[_Section], track_s: float, taken: Sequence[_Span],
                   count: int, config: SynthConfig) -> list[float]:
    """Start times (s) for ``count`` occurrences of a sound of ``d`` seconds.

    Risers lead into sections (drops first), hits land on section downbeats; other sounds
    either come back at one position of the phrase (same bar, same step: how producers place
    a recurring sample) or anywhere on the beat grid (sometimes off it). Occurrences of one
    sound never overlap; other annotated samples are avoided while there is room.
    """
    latest = track_s - d - 0.05
    n_bars = sections[-1].end_bar
    if kind == "riser":
        boundaries = [s.start_bar * ctx.bar_s for s in sections if s.kind == "drop"]
        boundaries += [s.start_bar * ctx.bar_s for s in sections if s.kind != "drop"]
        boundaries += [b * ctx.bar_s for b in rng.permutation(n_bars)]
        candidates = iter(b - d for b in boundaries)
    elif kind == "hit":
        downbeats = [s.start_bar * ctx.bar_s for s in sections]
        bars = [b * ctx.bar_s for b in rng.permutation(n_bars)]
        candidates = iter([downbeats[i] for i in rng.permutation(len(downbeats))] + bars)
    else:
        locked = (_phrase_position_times(rng, ctx, sections)
                  if rng.random() < config.sample_phrase_lock_probability else [])
        candidates = itertools.chain(
            locked, (_grid_time(rng, ctx, n_bars, config) for _ in range(PLACEMENT_TRIES)))
    chosen: list[_Span] = []
    fallback: list[_Span] = []
    for start_s in candidates:
        if len(chosen) >= count:
            break
        if not 0.0 <= start_s <= latest:
            continue
        span = _Span(start_s, start_s + d)
        if any(span.overlaps(c) for c in chosen):
            continue
        if any(span.overlaps(t) for t in taken):
            fallback.append(span)
            continue
        chosen.append(span)
    for span in fallback:  # crowded track: allow overlap with other sounds, never with itself
        if len(chosen) >= count:
            break
        if not any(span.overlaps(c) for c in chosen):
            chosen.append(span)
    return sorted(c.start_s for c in chosen)


def _phrase_position_times(rng: np.random.Generator, ctx: _Context,
                           sections: Sequence[_Section]) -> list[float]:
    """One position in the phrase (a bar of it and a step on the 8th grid) at every phrase
    of the track: first in sections of one kind (shuffled), then in the others (shuffled)."""
    phrase_bars = sections[0].phrase_bars
    bar_in_phrase = int(rng.integers(0, phrase_bars))
    step = int(rng.choice([0, 4, 8, 12, 0, 4, 8, 12, 2, 6, 10, 14]))
    favourite = sections[int(rng.integers(0, len(sections)))].kind
    preferred: list[float] = []
    others: list[float] = []
    for section in sections:
        for bar in range(section.start_bar + bar_in_phrase, section.end_bar, phrase_bars):
            time_s = bar * ctx.bar_s + ctx.step_time_s(step)
            (preferred if section.kind == favourite else others).append(time_s)
    return [preferred[i] for i in rng.permutation(len(preferred))] + [
        others[i] for i in rng.permutation(len(others))]


def _grid_time(rng: np.random.Generator, ctx: _Context, n_bars: int,
               config: SynthConfig) -> float:
    """A random start: off the grid, or on a 16th, 8th or beat (most likely a beat)."""
    if rng.random() < config.sample_offgrid_probability:
        return float(rng.uniform(0.0, n_bars * ctx.bar_s))
    steps_per_slot = int(rng.choice([1, 2, 4, 4, 4]))
    slots = n_bars * STEPS_PER_BAR // steps_per_slot
    step = int(rng.integers(0, slots)) * steps_per_slot
    return ctx.step_time_s(step % STEPS_PER_BAR) + (step // STEPS_PER_BAR) * ctx.bar_s
