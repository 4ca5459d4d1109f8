"""Annotated loops: the loop instruments (arp, stab, perc, fill, bass, hook, vox) and the bars
where each loop's repetitions play.

A loop unit is 1, 2 or 4 bars, kept within 1-16 s; every repetition starts on a bar line.
A loop's level is in dB against the backing's RMS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.synth.arrangement import _Section
from loopfind_core.corpus.synth.config import SynthConfig
from loopfind_core.corpus.synth.dsp import _add_at, _normalise
from loopfind_core.corpus.synth.instruments import (
    VOWELS,
    _bass_timbre,
    _percussion_set,
    _render_bass_note,
    _render_notes,
    _render_vox,
    _snare,
    _Voice,
    _vox_timbre,
)
from loopfind_core.corpus.synth.music import STEPS_PER_BAR, _Context, _melody_bar, _Note

LOOP_DURATION_LIMITS_S = (1.0, 16.0)  # a loop unit: 1, 2 or 4 bars, kept within these
LOOP_KINDS = ("arp", "stab", "perc", "fill", "bass", "hook", "vox")
LOOP_UNIT_BARS = {"arp": (1, 2), "stab": (1, 2), "perc": (1, 2), "fill": (1,), "bass": (2, 4),
                  "hook": (2, 4), "vox": (1, 2)}
LOOP_SECTIONS = {
    "arp": ("build", "drop", "break"),
    "stab": ("intro", "drop", "break"),
    "perc": ("intro", "drop", "break", "outro"),
    "fill": ("intro", "drop", "outro"),
    "bass": ("drop", "outro"),
    "hook": ("drop", "break"),
    "vox": ("build", "drop", "break"),
}


@dataclass(frozen=True)
class _LoopDesign:
    """An annotated loop: what plays and where. ``timbre_seed`` is shared by siblings."""

    sound_id: str
    kind: str
    unit_bars: int
    timbre_seed: int
    content_seed: int
    start_bars: tuple[int, ...]  # bar of each annotated repetition
    level_db: float


def _loop_percussion(timbre: np.random.Generator, content: np.random.Generator,
                     unit_bars: int, degrees: Sequence[int], ctx: _Context,
                     fill: bool = False) -> np.ndarray:
    """Hand percussion (3 instruments of a set) on the 16th grid; or, with ``fill``, a drum
    fill: sparse first half, then a snare/tom roll that thickens."""
    kit = _percussion_set(timbre, ctx.sr_hz)
    if fill:
        kit["snare"] = _snare(timbre, ctx.sr_hz)
        names = ["snare", "tom", "conga_lo", "rim"]
    else:
        names = [str(name) for name in timbre.choice(sorted(kit), size=3, replace=False)]
    steps = unit_bars * STEPS_PER_BAR
    out = np.zeros(ctx.bar_sample(unit_bars) + ctx.sr_hz)
    for step in range(steps):
        if fill:
            density = 0.15 if step < steps // 2 else 0.55 + 0.4 * step / steps
        else:
            density = 0.35 if step % 2 == 0 else 0.2
        if content.random() < density or step == 0:
            name = names[int(content.integers(0, len(names)))]
            _add_at(out, kit[name], ctx.samples(ctx.step_time_s(step)), content.uniform(0.5, 1.0))
    return out


def _loop_fill(timbre: np.random.Generator, content: np.random.Generator, unit_bars: int,
               degrees: Sequence[int], ctx: _Context) -> np.ndarray:
    return _loop_percussion(timbre, content, unit_bars, degrees, ctx, fill=True)


def _loop_vox(timbre: np.random.Generator, content: np.random.Generator, unit_bars: int,
              degrees: Sequence[int], ctx: _Context) -> np.ndarray:
    """Vocal chops on the 16th grid, on chord tones, each with a vowel glide."""
    voice = _vox_timbre(timbre)
    segments = []
    step = 0
    while step < unit_bars * STEPS_PER_BAR:
        length = int(content.choice([1, 2, 2, 3, 4]))
        if content.random() < 0.55:
            degree = degrees[step // STEPS_PER_BAR]
            midi = ctx.harmony.chord(degree, voice.low_midi, 3)[int(content.integers(0, 3))]
            start_s = ctx.step_time_s(step)
            segments.append((start_s, start_s + 0.9 * length * ctx.step_s, midi,
                             str(content.choice(VOWELS)), str(content.choice(VOWELS))))
        step += length
    n = ctx.bar_sample(unit_bars) + ctx.samples(0.3)
    return _render_vox(segments, n, voice, ctx.sr_hz, content)


def _loop_stab(timbre: np.random.Generator, content: np.random.Generator, unit_bars: int,
               degrees: Sequence[int], ctx: _Context) -> np.ndarray:
    """Chord stabs: 3-5 short chords a bar on syncopated steps."""
    sr = ctx.sr_hz
    voice = _Voice(wave=str(timbre.choice(["saw", "organ", "square"])), n_osc=3,
                   detune_cents=timbre.uniform(5, 15), decay_s=timbre.uniform(0.15, 0.4),
                   release_s=0.05, cutoff_hz=timbre.uniform(1000, 3000),
                   filter_env_octaves=timbre.uniform(1.0, 2.5))
    low = int(timbre.integers(55, 64))
    notes = []
    for bar, degree in enumerate(degrees):
        hits = content.choice(STEPS_PER_BAR, size=int(content.integers(3, 6)), replace=False)
        for step in sorted(int(h) for h in hits):
            notes += [_Note(ctx.step_time_s(bar * STEPS_PER_BAR + step), 1.5 * ctx.step_s, midi)
                      for midi in ctx.harmony.chord(degree, low, 3)]
    return _render_notes(notes, ctx.bar_sample(unit_bars),
                         lambda note: voice.render(note.midi, note.gate_s, sr), sr)


def _loop_bass(timbre: np.random.Generator, content: np.random.Generator, unit_bars: int,
               degrees: Sequence[int], ctx: _Context) -> np.ndarray:
    """A bass riff in the genre's bass style (wobbles change LFO rate note by note)."""
    sr = ctx.sr_hz
    bass = _bass_timbre(timbre, ctx.style.bass_style)
    steps = unit_bars * STEPS_PER_BAR
    notes = []
    step = 0
    while step < steps:
        length = int(content.choice([2, 3, 4, 6, 8]))
        if content.random() < 0.75 or step == 0:
            degree = degrees[step // STEPS_PER_BAR] + int(content.choice([0, 0, 0, 2, 4, 7]))
            period_s = float(content.choice([0.5, 1.0 / 3.0, 0.25, 1.0])) * ctx.beat_s
            gate_s = min(length, steps - step) * ctx.step_s * 0.95
            notes.append(_Note(ctx.step_time_s(step), gate_s, ctx.harmony.note(degree, 0), 1.0,
                               period_s))
        step += length
    return _render_notes(notes, ctx.bar_sample(unit_bars),
                         lambda note: _render_bass_note(note, bass, sr), sr)


def _loop_hook(timbre: np.random.Generator, content: np.random.Generator, unit_bars: int,
               degrees: Sequence[int], ctx: _Context) -> np.ndarray:
    """A melodic hook on an FM, square or saw lead."""
    sr = ctx.sr_hz
    voice = _Voice(wave=str(timbre.choice(["fm", "square", "saw"])),
                   fm_ratio=float(timbre.choice([1.0, 2.0, 3.5])),
                   fm_index=timbre.uniform(0.5, 3.0), decay_s=timbre.uniform(0.4, 1.2),
                   sustain=timbre.uniform(0.0, 0.4), release_s=0.1,
                   cutoff_hz=timbre.uniform(2000, 6000), vibrato_cents=timbre.uniform(0, 15))
    low = int(timbre.integers(62, 72))
    notes = [
        _Note(note.start_s + bar * ctx.bar_s, note.gate_s, note.midi, note.velocity)
        for bar, degree in enumerate(degrees)
        for note in _melody_bar(content, ctx, degree, low, density=0.6)
    ]
    return _render_notes(notes, ctx.bar_sample(unit_bars),
                         lambda note: voice.render(note.midi, note.gate_s, sr), sr)


def _loop_arp(timbre: np.random.Generator, content: np.random.Generator, unit_bars: int,
              degrees: Sequence[int], ctx: _Context) -> np.ndarray:
    """A plucked synth arpeggiating chord tones on 16ths or 8ths (up, down, both, random)."""
    sr = ctx.sr_hz
    voice = _Voice(wave=str(timbre.choice(["saw", "square"])), n_osc=int(timbre.integers(1, 3)),
                   detune_cents=timbre.uniform(4, 12), decay_s=timbre.uniform(0.12, 0.4),
                   release_s=0.04, cutoff_hz=timbre.uniform(900, 3500),
                   filter_env_octaves=timbre.uniform(1.0, 3.0))
    low = int(timbre.integers(55, 70))
    rate = int(content.choice([1, 2]))
    shape = str(content.choice(["up", "down", "updown", "random"]))
    notes = []
    for bar, degree in enumerate(degrees):
        chord = list(ctx.harmony.chord(degree, low, 4))
        chord += [m + 12 for m in chord[:2]]
        if shape == "down":
            chord = chord[::-1]
        elif shape == "updown":
            chord = chord + chord[-2:0:-1]
        elif shape == "random":
            chord = [int(m) for m in content.permutation(chord)]
        for k, step in enumerate(range(0, STEPS_PER_BAR, rate)):
            if content.random() < 0.12:
                continue
            notes.append(_Note(ctx.step_time_s(bar * STEPS_PER_BAR + step),
                               0.8 * rate * ctx.step_s, chord[k % len(chord)],
                               content.uniform(0.7, 1.0)))
    return _render_notes(notes, ctx.bar_sample(unit_bars),
                         lambda note: voice.render(note.midi, note.gate_s, sr), sr)


LoopRenderer = Callable[[np.random.Generator, np.random.Generator, int, Sequence[int], _Context],
                        np.ndarray]
LOOP_RENDERERS: dict[str, LoopRenderer] = {
    "arp": _loop_arp, "stab": _loop_stab, "perc": _loop_percussion, "fill": _loop_fill,
    "bass": _loop_bass, "hook": _loop_hook, "vox": _loop_vox,
}


def _render_loop(kind: str, unit_bars: int, timbre_seed: int, content_seed: int,
                 ctx: _Context) -> np.ndarray:
    """One unit of a loop (``unit_bars`` bars plus its ring-out), peak 1.

    ``timbre_seed`` fixes the instrument, ``content_seed`` the notes and rhythm (and which
    chords of the progression it plays over): two loops that share the first and not the
    second are decoys of each other.
    """
    timbre = np.random.default_rng(timbre_seed)
    content = np.random.default_rng(content_seed)
    degrees = [ctx.harmony.chord_at_bar(int(content.integers(0, 4))) for _ in range(unit_bars)]
    return _normalise(LOOP_RENDERERS[kind](timbre, content, unit_bars, degrees, ctx))


def _loop_unit_choices(kind: str, ctx: _Context, sections: Sequence[_Section]) -> list[int]:
    longest = max(s.n_bars for s in sections)
    lo, hi = LOOP_DURATION_LIMITS_S
    return [b for b in LOOP_UNIT_BARS[kind] if lo <= b * ctx.bar_s <= hi and b <= longest] or [1]


def _loop_starts(rng: np.random.Generator, kind: str, unit_bars: int,
                 sections: Sequence[_Section], busy: set[int], target: int,
                 dropout: float) -> list[int]:
    """Bar-aligned starts of a loop's repetitions, over at least two sections when possible:
    first the sections of one "home" kind (a drop loop comes back in every drop), then others.

    Fills come at the end of phrases; other loops enter a section on a unit boundary and
    repeat to its end, each repetition dropped with probability ``dropout``. ``busy`` holds
    bars taken by loops of the same kind.
    """
    fitting = [s for s in sections if s.n_bars >= unit_bars]
    home = str(rng.choice(LOOP_SECTIONS[kind]))
    order: list[_Section] = []
    for group in ([s for s in fitting if s.kind == home],
                  [s for s in fitting if s.kind != home and s.kind in LOOP_SECTIONS[kind]],
                  [s for s in fitting if s.kind not in LOOP_SECTIONS[kind]]):
        order += [group[i] for i in rng.permutation(len(group))]
    starts: list[int] = []
    used_sections = 0
    for section in order:
        if kind == "fill":
            group = min(4, section.phrase_bars * 2) if section.n_bars >= 2 else 1
            candidates = list(range(section.start_bar + group - 1, section.end_bar, group))
        else:
            n_units = section.n_bars // unit_bars
            first = int(rng.integers(0, max(1, n_units // 2) + 1)) if n_units > 2 else 0
            candidates = [section.start_bar + u * unit_bars for u in range(first, n_units)]
        added = [b for b in candidates
                 if not busy.intersection(range(b, b + unit_bars)) and rng.random() >= dropout]
        if added:
            starts += added
            used_sections += 1
        if len(starts) >= target and used_sections >= 2:
            break
    if len(starts) > target:  # keep a random subset, so the loop drops in and out
        starts = [starts[i] for i in sorted(rng.choice(len(starts), size=target, replace=False))]
    return sorted(starts)


def _plan_loops(rng: np.random.Generator, ctx: _Context, sections: Sequence[_Section],
                config: SynthConfig) -> list[_LoopDesign]:
    """Choose the annotated loops, their instruments (siblings share one) and their bars."""
    n_loops = int(rng.integers(config.loops_per_track[0], config.loops_per_track[1] + 1))
    busy: dict[str, set[int]] = {kind: set() for kind in LOOP_KINDS}
    designs: list[_LoopDesign] = []
    attempts = 0
    while len(designs) < n_loops and attempts < 4 * n_loops + 8:
        attempts += 1
        if designs and rng.random() < config.sibling_probability:
            family = designs[int(rng.integers(0, len(designs)))]
            kind, timbre_seed, units = family.kind, family.timbre_seed, [family.unit_bars]
        else:
            kind = str(rng.choice(ctx.style.loop_kinds))
            timbre_seed = int(rng.integers(2**31))
            units = _loop_unit_choices(kind, ctx, sections)
        unit_bars = int(rng.choice(units))
        target = int(rng.integers(config.loop_occurrences[0], config.loop_occurrences[1] + 1))
        starts = _loop_starts(rng, kind, unit_bars, sections, busy[kind], target,
                              config.loop_dropout_probability)
        if len(starts) < config.loop_occurrences[0]:
            starts = _loop_starts(rng, kind, unit_bars, sections, busy[kind], target, 0.0)
        if len(starts) < config.loop_occurrences[0]:
            continue
        for bar in starts:
            busy[kind].update(range(bar, bar + unit_bars))
        sound_id = f"loop_{kind}_{len(designs) + 1}"
        level = rng.uniform(*config.loop_level_db)
        designs.append(_LoopDesign(sound_id, kind, unit_bars, timbre_seed,
                                   int(rng.integers(2**31)), tuple(starts), level))
    return designs
