"""The generator's settings and result: :class:`SynthConfig` and :class:`SynthTrack`.

:class:`SynthConfig` holds every knob that sets a corpus's size and difficulty, and checks
them: durations in seconds, levels and gain jitters in dB, cutoffs in Hz, pitch jitter in
cents, tempo jitter in percent, the rest counts and probabilities. :class:`SynthTrack` is one
composed track (samples at ``sr_hz`` Hz) with its annotations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loopfind_core.base.errors import ConfigurationError
from loopfind_core.corpus.dataset import Annotation

MIN_TRACK_DURATION_S = 30.0  # (30 - MIN_TAIL_S) // 3 s = 9 bars at 80 BPM: 7 sections fit
MAX_TRACK_DURATION_S = 3600.0  # an hour; longer is surely a typo
MAX_TEMPO_JITTER_PERCENT = 25.0  # a sound played a quarter faster or slower is another groove


@dataclass(frozen=True)
class SynthConfig:
    """Every knob that sets the corpus's size and difficulty.

    Levels are RMS ratios in dB: a sample's RMS over its span against the RMS of the whole
    track's music (backing and loops), a loop's RMS over its unit against the RMS of the whole
    backing. Like a fader, the level is fixed per sound, so a sound stands out in a break and
    is masked in a drop. Ranges are ``(low, high)``, drawn uniformly unless said otherwise.

    The defaults are calibrated to the paper's naive baseline (§IV): nearest-neighbour search
    over MFCC frames, patience 5, first occurrence as query. On 4 corpora of 48 tracks
    (``python -m loopfind_core synth --tracks 48 --seed 51..54``, then ``evaluate --features
    mfcc --strategy naive``) it reaches recall 0.31 on samples (paper: 0.30) and 0.49 on
    loops (paper: 0.51). The main levers: ``sample_level_db`` and ``loop_level_db`` (recall
    rises by roughly 0.01-0.02 per dB), the filter probabilities,
    ``sample_phrase_lock_probability`` and the decoys.
    """

    sr_hz: int = 22050  # sample rate of the rendered tracks (the paper's features use 22050)
    min_duration_s: float = 120.0  # shortest track (paper: 2 minutes)
    max_duration_s: float = 420.0  # longest track (paper: 7.5 minutes; brief: 7)
    loops_per_track: tuple[int, int] = (2, 4)  # annotated loop sounds per track
    samples_per_track: tuple[int, int] = (2, 5)  # annotated sample sounds per track
    loop_occurrences: tuple[int, int] = (3, 16)  # annotated repetitions of one loop
    sample_occurrences: tuple[int, int] = (2, 8)  # annotated occurrences of one sample
    sample_level_db: tuple[float, float] = (-12.0, -4.0)  # per sound, vs the music's RMS
    loop_level_db: tuple[float, float] = (-2.0, 4.0)  # per sound, vs the backing's RMS
    sample_gain_jitter_db: float = 3.0  # per occurrence: extra gain uniform in ±this
    loop_gain_jitter_db: float = 2.0  # per occurrence: extra gain uniform in ±this
    sample_lowpass_probability: float = 0.5  # per sample occurrence: chance of a lowpass
    sample_highpass_probability: float = 0.3  # per sample occurrence: chance of a highpass
    loop_lowpass_probability: float = 0.2  # per loop repetition: chance of a lowpass
    loop_highpass_probability: float = 0.1  # per loop repetition: chance of a highpass
    lowpass_cutoff_hz: tuple[float, float] = (1200.0, 8000.0)  # lowpass cutoff, log-uniform
    highpass_cutoff_hz: tuple[float, float] = (80.0, 700.0)  # highpass cutoff, log-uniform
    sample_pitch_jitter_cents: float = 40.0  # per sample occurrence: pitch shift in ±this
    loop_pitch_jitter_cents: float = 0.0  # per loop repetition (0: loops stay in tune)
    # Pitch jitter resamples (pitch and speed change together, as a sampler does); tempo jitter
    # time-stretches (speed changes, pitch stays, as a DJ's key lock does). The tempo knobs are
    # 0 by default; the stress corpora of docs/results.md §6.6 switch them on.
    sample_tempo_jitter_percent: float = 0.0  # per sample occurrence: speed in ±this %
    loop_tempo_jitter_percent: float = 0.0  # per loop repetition: speed in ±this %
    sample_envelope_jitter_db: float = 9.0  # per sample occurrence: its end faded by 0..this
    sibling_probability: float = 0.35  # a new sound reuses an earlier sound's synth (decoy)
    sample_decoys_per_sound: int = 2  # un-annotated one-off siblings of each sample sound
    loop_decoys_per_sound: int = 1  # un-annotated one-off sibling units of each loop sound
    loop_dropout_probability: float = 0.15  # chance that one repetition of a loop is left out
    sample_phrase_lock_probability: float = 0.5  # a sample recurs at one phrase position
    sample_offgrid_probability: float = 0.25  # otherwise: chance of a start off the 16th grid
    phrase_layer_toggle_probability: float = 0.15  # per phrase: a background layer flips

    def __post_init__(self) -> None:
        problems = _config_problems(self)
        if problems:
            raise ConfigurationError("Invalid SynthConfig: " + "; ".join(problems) + ".")


@dataclass(frozen=True)
class SynthTrack:
    """One composed track and its ground truth."""

    samples: np.ndarray  # float32 mono, shape (n,), peak at PEAK_DBFS
    sr_hz: int
    genre: str
    tempo_bpm: float
    annotations: tuple[Annotation, ...]  # file field = the track's file name

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sr_hz


# --- Config validation ---------------------------------------------------------------------


def _range_problem(name: str, pair: tuple[float, float], low: float, high: float) -> str | None:
    a, b = pair
    if not (low <= a <= b <= high):
        return f"{name} {pair} must satisfy {low} <= low <= high <= {high}"
    return None


def _config_problems(c: SynthConfig) -> list[str]:
    problems: list[str] = []
    if not 8000 <= c.sr_hz <= 96000:
        problems.append(f"sr_hz {c.sr_hz} must be between 8000 and 96000")
    if c.min_duration_s < MIN_TRACK_DURATION_S:
        problems.append(
            f"min_duration_s {c.min_duration_s} must be at least {MIN_TRACK_DURATION_S} s"
        )
    if not c.min_duration_s <= c.max_duration_s <= MAX_TRACK_DURATION_S:
        problems.append(
            f"max_duration_s {c.max_duration_s} must be between min_duration_s "
            f"({c.min_duration_s}) and {MAX_TRACK_DURATION_S} s"
        )
    checks = [
        _range_problem("loops_per_track", c.loops_per_track, 1, 8),
        _range_problem("samples_per_track", c.samples_per_track, 1, 10),
        _range_problem("loop_occurrences", c.loop_occurrences, 2, 64),
        _range_problem("sample_occurrences", c.sample_occurrences, 2, 32),
        _range_problem("sample_level_db", c.sample_level_db, -40.0, 20.0),
        _range_problem("loop_level_db", c.loop_level_db, -40.0, 20.0),
        _range_problem("lowpass_cutoff_hz", c.lowpass_cutoff_hz, 100.0, c.sr_hz / 2),
        _range_problem("highpass_cutoff_hz", c.highpass_cutoff_hz, 20.0, c.sr_hz / 4),
    ]
    problems += [p for p in checks if p]
    for name in ("sample_lowpass_probability", "sample_highpass_probability",
                 "loop_lowpass_probability", "loop_highpass_probability", "sibling_probability",
                 "loop_dropout_probability", "sample_offgrid_probability",
                 "sample_phrase_lock_probability",
                 "phrase_layer_toggle_probability"):
        value = getattr(c, name)
        if not 0.0 <= value <= 1.0:
            problems.append(f"{name} {value} must be a probability between 0 and 1")
    if c.loop_dropout_probability > 0.8:
        problems.append(f"loop_dropout_probability {c.loop_dropout_probability} must be <= 0.8")
    for name in ("sample_gain_jitter_db", "loop_gain_jitter_db", "sample_pitch_jitter_cents",
                 "loop_pitch_jitter_cents", "sample_envelope_jitter_db"):
        value = getattr(c, name)
        if not 0.0 <= value <= 1200.0:
            problems.append(f"{name} {value} must be between 0 and 1200")
    for name in ("sample_tempo_jitter_percent", "loop_tempo_jitter_percent"):
        value = getattr(c, name)
        if not 0.0 <= value <= MAX_TEMPO_JITTER_PERCENT:
            problems.append(f"{name} {value} must be between 0 and {MAX_TEMPO_JITTER_PERCENT}")
    for name in ("sample_decoys_per_sound", "loop_decoys_per_sound"):
        value = getattr(c, name)
        if not 0 <= value <= 10:
            problems.append(f"{name} {value} must be between 0 and 10")
    return problems
