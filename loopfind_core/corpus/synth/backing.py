"""The backing: the un-annotated background music (drums, bass, pad, lead, vinyl bed).

One bar of each layer is rendered per track (:class:`_BackingParts`), then tiled over the
arrangement's sections with per-section filtering. Buffers are float64 samples at the track's
rate (Hz); layer gains are linear, filter cutoffs in Hz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.synth.arrangement import BACKGROUND_LAYERS, _Section
from loopfind_core.corpus.synth.dsp import (
    _add_at,
    _bandpass,
    _highpass,
    _lowpass,
    _normalise,
    _rms,
    _room,
    _swept_filter,
    _with_reverb,
)
from loopfind_core.corpus.synth.instruments import (
    _bass_timbre,
    _clap,
    _hat,
    _kick,
    _pattern,
    _render_bass_note,
    _render_notes,
    _shaker,
    _snare,
    _Voice,
)
from loopfind_core.corpus.synth.music import _Context, _melody_bar, _Note

# Mix gains of background layers (linear, on peak-normalised parts): kick leads, hats sit low.
LAYER_GAINS = {"kick": 1.0, "snare": 0.55, "hats": 0.22, "perc": 0.25, "bass": 0.55, "pad": 0.3,
               "lead": 0.22}
VINYL_CLICKS_PER_S = 30.0  # crackle density of a worn record


@dataclass(frozen=True)
class _BackingParts:
    """One-bar buffers of each background layer, rendered once per track and tiled.

    ``bass``, ``pad`` and ``lead`` hold one bar per progression step; ``roll`` holds the
    build-up snare bars (quarters, eighths, sixteenths). Buffers ring past the bar.
    """

    kick: np.ndarray
    snare: np.ndarray
    hats: np.ndarray
    perc: np.ndarray
    roll: tuple[np.ndarray, ...]
    bass: tuple[np.ndarray, ...]
    pad: tuple[np.ndarray, ...]
    lead: tuple[np.ndarray, ...]

    def bar(self, layer: str, bar: int, roll_index: int = 0) -> np.ndarray:
        if layer in ("bass", "pad", "lead"):
            cycle = getattr(self, layer)
            return cycle[bar % len(cycle)]
        if layer == "snare" and roll_index > 0:
            return self.roll[roll_index - 1]
        return getattr(self, layer)


def _bass_bar_notes(rng: np.random.Generator, ctx: _Context, root: int) -> list[_Note]:
    """One bar of the background bass on chord root ``root`` (MIDI), in the genre's style."""
    s, style = ctx.step_s, ctx.style.bass_style

    def at(step: int, steps: float, midi: int, period_beats: float = 0.0) -> _Note:
        return _Note(ctx.step_time_s(step), steps * s, midi, 1.0, period_beats * ctx.beat_s)

    if style == "offbeat":
        return [at(k, 1.5, root + (12 if k == 14 and rng.random() < 0.5 else 0))
                for k in (2, 6, 10, 14)]
    if style == "wobble":
        periods = rng.choice([0.5, 1.0 / 3.0, 0.25, 1.0], size=2)
        return [at(0, 7.5, root, periods[0]), at(8, 7.5, root, periods[1])]
    if style == "reese":
        return [at(0, 9.5, root), at(10, 5.5, root + int(rng.choice([0, 7, 12])))]
    return [at(0, 5.5, root), at(7, 2.5, root), at(10, 4.0, root + int(rng.choice([7, 12])))]


def _pad_voice(rng: np.random.Generator, style: str, bar_s: float) -> _Voice:
    if style == "rhodes":
        return _Voice(wave="fm", fm_ratio=1.0, fm_index=rng.uniform(1.0, 2.5), attack_s=0.004,
                      decay_s=rng.uniform(1.5, 3.0), sustain=0.2, release_s=0.3)
    if style == "organ":
        return _Voice(wave="organ", attack_s=0.01, decay_s=1.0, sustain=0.9, release_s=0.08,
                      cutoff_hz=rng.uniform(2500, 5000))
    return _Voice(wave="saw", n_osc=5, detune_cents=rng.uniform(10, 25),
                  attack_s=rng.uniform(0.1, 0.3) * bar_s, decay_s=2.0, sustain=0.8,
                  release_s=0.3, cutoff_hz=rng.uniform(900, 2500))


def _render_backing_parts(rng: np.random.Generator, ctx: _Context) -> _BackingParts:
    sr, style, harmony = ctx.sr_hz, ctx.style, ctx.harmony
    kick = _kick(rng, sr)
    snare_hit = _clap(rng, sr) if style.snare_is_clap else _snare(rng, sr)
    closed, open_ = _hat(rng, sr, rng.uniform(0.04, 0.08)), _hat(rng, sr, rng.uniform(0.2, 0.4))
    open_bar = _pattern(str(rng.choice(style.open_hat_patterns)), open_, ctx)
    hats = np.zeros(len(open_bar))
    _add_at(hats, _pattern(str(rng.choice(style.hat_patterns)), closed, ctx), 0)
    hats += 0.8 * open_bar
    perc = _pattern(str(rng.choice(style.perc_patterns)), _shaker(rng, sr), ctx)
    roll = tuple(_pattern(p, snare_hit, ctx) for p in
                 ("X...x...X...x...", "X.x.x.x.X.x.x.x.", "XxxxXxxxXxxxXxxx"))
    room = _room(rng, sr, rng.uniform(0.6, 1.4))

    bass_timbre = _bass_timbre(rng, style.bass_style)
    bar_n = ctx.bar_sample(1)
    bass = tuple(
        _normalise(_render_notes(
            _bass_bar_notes(rng, ctx, harmony.note(degree, 0)), bar_n,
            lambda note: _render_bass_note(note, bass_timbre, sr), sr))
        for degree in harmony.progression)
    pad_voice = _pad_voice(rng, style.pad_style, ctx.bar_s)
    pad = tuple(
        _normalise(_with_reverb(_render_notes(
            [_Note(0.0, 0.97 * ctx.bar_s, m) for m in harmony.chord(degree, 55, 4)], bar_n,
            lambda note: pad_voice.render(note.midi, note.gate_s, sr), sr), room, 0.4))
        for degree in harmony.progression)
    lead_voice = _Voice(wave=str(rng.choice(["square", "saw"])), attack_s=0.01, decay_s=1.0,
                        sustain=0.6, release_s=0.12, cutoff_hz=rng.uniform(1800, 4000),
                        vibrato_cents=rng.uniform(5, 20), vibrato_hz=rng.uniform(4.5, 6.5))
    lead = tuple(
        _normalise(_with_reverb(_render_notes(
            _melody_bar(rng, ctx, degree, 67, density=0.35), bar_n,
            lambda note: lead_voice.render(note.midi, note.gate_s, sr), sr), room, 0.3))
        for degree in harmony.progression)
    return _BackingParts(kick=kick, snare=_pattern(str(rng.choice(style.snare_patterns)),
                                                   snare_hit, ctx),
                         hats=_normalise(hats), perc=perc, roll=roll, bass=bass, pad=pad,
                         lead=lead)


def _render_backing(rng: np.random.Generator, ctx: _Context, sections: Sequence[_Section],
                    parts: _BackingParts, muted_bass_bars: set[int], n_total: int) -> np.ndarray:
    """The un-annotated music: every section's active layers, processed per section."""
    out = np.zeros(n_total)
    sr = ctx.sr_hz
    gains = dict(LAYER_GAINS, bass=LAYER_GAINS["bass"] * 10.0 ** (ctx.style.bass_gain_db / 20.0))
    for section in sections:
        s0 = ctx.bar_sample(section.start_bar)
        length = ctx.bar_sample(section.end_bar) - s0 + ctx.samples(4.0)
        drums, music = np.zeros(length), np.zeros(length)
        for bar in range(section.start_bar, section.end_bar):
            offset = ctx.bar_sample(bar) - s0
            layers = section.layers_at(bar)
            position = (bar - section.start_bar) / section.n_bars
            roll = 1 + min(int(position * 3), 2) if section.kind == "build" else 0
            for layer in BACKGROUND_LAYERS:
                if layer not in layers or (layer == "bass" and bar in muted_bass_bars):
                    continue
                bus = drums if layer in ("kick", "snare", "hats", "perc") else music
                _add_at(bus, parts.bar(layer, bar, roll), offset, gains[layer])
        end = ctx.bar_sample(section.end_bar) - s0
        if section.kind == "build":  # the music opens up towards the drop
            sweep = np.geomspace(rng.uniform(250, 500), rng.uniform(6000, 9000), end)
            music[:end] = _swept_filter(music[:end], sweep, sr)
        elif section.kind == "intro" and rng.random() < 0.5:
            drums = _lowpass(drums, rng.uniform(800, 2500), sr)
        elif section.kind == "outro" and rng.random() < 0.5:
            sweep = np.geomspace(rng.uniform(5000, 9000), rng.uniform(300, 800), end)
            music[:end] = _swept_filter(music[:end], sweep, sr)
        elif section.kind == "break":
            drums = _highpass(drums, rng.uniform(150, 600), sr)
        _add_at(out, drums + music, s0)
    if ctx.style.vinyl_level_db is not None:
        out += _rms(out) * 10.0 ** (ctx.style.vinyl_level_db / 20.0) * _vinyl(rng, n_total, sr)
    return out


def _vinyl(rng: np.random.Generator, n: int, sr_hz: int) -> np.ndarray:
    """A worn record: band-limited hiss and sparse crackle clicks, shape (n,), RMS 1."""
    hiss = _bandpass(rng.standard_normal(n), 500.0, 8000.0, sr_hz)
    clicks = np.zeros(n)
    n_clicks = int(VINYL_CLICKS_PER_S * n / sr_hz)
    clicks[rng.integers(0, n, size=n_clicks)] = 20.0 * rng.standard_normal(n_clicks)
    bed = hiss / _rms(hiss) + _bandpass(clicks, 1000.0, 6000.0, sr_hz)
    return bed / _rms(bed)
