"""Track composition: :func:`compose_track` turns a seed, a genre and a :class:`SynthConfig`
into one mastered track and its annotations.

It draws the key and tempo, the arrangement, the backing, the loops and samples (with their
decoys), mixes every occurrence at its level (dB) and masters the mix to a peak of
:data:`PEAK_DBFS` (dBFS).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from loopfind_core.base.errors import ConfigurationError
from loopfind_core.corpus.dataset import Annotation
from loopfind_core.corpus.synth.arrangement import _choose_length, _plan_sections
from loopfind_core.corpus.synth.backing import _render_backing, _render_backing_parts
from loopfind_core.corpus.synth.config import SynthConfig, SynthTrack
from loopfind_core.corpus.synth.dsp import _rms
from loopfind_core.corpus.synth.genres import _style_of
from loopfind_core.corpus.synth.loops import LOOP_KINDS, _LoopDesign, _plan_loops, _render_loop
from loopfind_core.corpus.synth.music import _Context, _make_context
from loopfind_core.corpus.synth.samples import (
    _grid_time,
    _plan_samples,
    _render_sample,
    _SampleDesign,
    _sibling_duration,
    _Span,
)
from loopfind_core.corpus.synth.variation import _add_at_level, _Variation, _vary

logger = logging.getLogger(__name__)

PEAK_DBFS = -1.0  # master peak after normalisation
PEAK_LINEAR = 10.0 ** (PEAK_DBFS / 20.0)  # ≈ 0.891
SOFT_CLIP_DRIVE = 1.5  # tanh(drive * x) on the peak-normalised mix: the loudest peak loses
#                        20 log10(1.5 / tanh(1.5)) ≈ 4.4 dB against quiet passages, a peak at
#                        -10 dBFS only 0.6 dB: peaks (kicks) tamed, the body untouched


def compose_track(seed: int, genre: str, file_name: str,
                  config: SynthConfig = SynthConfig()) -> SynthTrack:
    """Compose one track of ``genre`` with annotated loops and samples.

    Args:
        seed: any non-negative integer; the same seed, genre and config give the same track.
        genre: a key of :data:`GENRES`.
        file_name: written into every annotation's ``file`` field.
        config: difficulty and size knobs.

    Returns:
        The track (float32 mono at ``config.sr_hz``, peak -1 dBFS, duration uniform between
        ``config.min_duration_s`` and ``config.max_duration_s``) and its annotations: loops
        first, then samples, each sound's occurrences sorted by start time.

    Raises:
        ConfigurationError: the genre is unknown, the seed negative or the file name empty.
    """
    style = _style_of(genre)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigurationError(f"Seed {seed!r} must be a non-negative integer.")
    if not file_name:
        raise ConfigurationError("file_name is empty: give the track's file name, e.g. "
                             "'track_000_house.flac'.")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6)]
    plan_rng, parts_rng, loop_rng, sample_rng, vary_rng, fx_rng = streams
    sr = config.sr_hz
    ctx = _make_context(plan_rng, style, sr)
    n_bars, duration_s = _choose_length(plan_rng, ctx.bar_s, config)
    sections = _plan_sections(plan_rng, n_bars, style, config)

    loops = _plan_loops(loop_rng, ctx, sections, config)
    muted_bass = {bar for loop in loops if loop.kind == "bass"
                  for start in loop.start_bars for bar in range(start, start + loop.unit_bars)}
    parts = _render_backing_parts(parts_rng, ctx)
    mix = _render_backing(fx_rng, ctx, sections, parts, muted_bass, ctx.samples(duration_s))
    _add_loops(mix, loops, ctx, n_bars, config, loop_rng, vary_rng)
    samples = _plan_samples(sample_rng, ctx, sections, duration_s, config)
    _add_samples(mix, samples, ctx, n_bars, config, sample_rng, vary_rng)
    if len(loops) < config.loops_per_track[0] or len(samples) < config.samples_per_track[0]:
        logger.warning("%s holds only %d loop(s) and %d sample(s): the track (%.0f s) is too "
                       "short for the configured counts.", file_name, len(loops), len(samples),
                       duration_s)

    annotations = [
        Annotation(file_name, style.name, "loop", loop.sound_id, ctx.bar_sample(bar) / sr,
                   ctx.bar_sample(bar) / sr + loop.unit_bars * ctx.bar_s)
        for loop in loops for bar in loop.start_bars
    ] + [
        Annotation(file_name, style.name, "sample", sample.sound_id, start_s,
                   start_s + sample.duration_s)
        for sample in samples for start_s in sample.starts_s
    ]
    return SynthTrack(samples=_master(mix), sr_hz=sr, genre=style.name, tempo_bpm=ctx.tempo_bpm,
                      annotations=tuple(annotations))


def _add_loops(mix: np.ndarray, loops: Sequence[_LoopDesign], ctx: _Context, n_bars: int,
               config: SynthConfig, rng: np.random.Generator,
               vary_rng: np.random.Generator) -> None:
    """Mix every loop repetition, then each loop's decoys: one-off units of its instrument
    playing other notes where no loop of its kind plays (variation bars)."""
    reference = _rms(mix)  # levels are set against the backing
    variation = _Variation.for_loops(config)
    busy = {kind: set() for kind in LOOP_KINDS}
    for loop in loops:
        for bar in loop.start_bars:
            busy[loop.kind].update(range(bar, bar + loop.unit_bars))
    for loop in loops:
        span_n = ctx.bar_sample(loop.unit_bars)
        unit = _render_loop(loop.kind, loop.unit_bars, loop.timbre_seed, loop.content_seed, ctx)
        for bar in loop.start_bars:
            sound, gain_db = _vary(unit, vary_rng, variation, ctx.sr_hz)
            _add_at_level(mix, sound, ctx.bar_sample(bar), span_n, loop.level_db + gain_db,
                          reference)
        free = [b for b in range(0, n_bars - loop.unit_bars + 1, loop.unit_bars)
                if not busy[loop.kind].intersection(range(b, b + loop.unit_bars))]
        for _ in range(min(config.loop_decoys_per_sound, len(free))):
            bar = free.pop(int(rng.integers(0, len(free))))
            busy[loop.kind].update(range(bar, bar + loop.unit_bars))
            decoy = _render_loop(loop.kind, loop.unit_bars, loop.timbre_seed,
                                 int(rng.integers(2**31)), ctx)
            sound, gain_db = _vary(decoy, vary_rng, variation, ctx.sr_hz)
            _add_at_level(mix, sound, ctx.bar_sample(bar), span_n, loop.level_db + gain_db,
                          reference)


def _add_samples(mix: np.ndarray, samples: Sequence[_SampleDesign], ctx: _Context, n_bars: int,
                 config: SynthConfig, rng: np.random.Generator,
                 vary_rng: np.random.Generator) -> None:
    """Mix every sample occurrence, then each sample's decoys: un-annotated one-offs of its
    synth with other content (notes, contour, vowels), clear of its own occurrences."""
    reference = _rms(mix)  # levels are set against the music (backing and loops)
    variation = _Variation.for_samples(config)
    track_s = len(mix) / ctx.sr_hz
    for sample in samples:
        sound = _render_sample(sample.kind, sample.duration_s, sample.timbre_seed,
                               sample.content_seed, ctx)
        for start_s in sample.starts_s:
            varied, gain_db = _vary(sound, vary_rng, variation, ctx.sr_hz)
            _add_at_level(mix, varied, ctx.samples(start_s), len(sound),
                          sample.level_db + gain_db, reference)
        own = [_Span(s, s + sample.duration_s) for s in sample.starts_s]
        for _ in range(config.sample_decoys_per_sound):
            duration_s = round(_sibling_duration(rng, sample.kind, sample.duration_s), 2)
            spans = (_Span(t, t + duration_s) for t in
                     (_grid_time(rng, ctx, n_bars, config) for _ in range(50)))
            span = next((x for x in spans
                         if x.end_s < track_s and not any(x.overlaps(o) for o in own)), None)
            if span is None:
                continue
            decoy = _render_sample(sample.kind, duration_s, sample.timbre_seed,
                                   int(rng.integers(2**31)), ctx)
            varied, gain_db = _vary(decoy, vary_rng, variation, ctx.sr_hz)
            _add_at_level(mix, varied, ctx.samples(span.start_s), len(decoy),
                          sample.level_db + gain_db, reference)


def _master(mix: np.ndarray) -> np.ndarray:
    """Master bus: gentle tanh soft clip, then peak-normalise to PEAK_DBFS; float32.

    Works in place on ``mix`` (a full-length buffer is the biggest thing we hold).
    """
    peak = float(np.max(np.abs(mix)))
    if peak == 0:
        return mix.astype(np.float32)
    mix *= SOFT_CLIP_DRIVE / peak
    np.tanh(mix, out=mix)  # peak now tanh(SOFT_CLIP_DRIVE)
    mix *= PEAK_LINEAR / float(np.max(np.abs(mix)))
    return mix.astype(np.float32)
