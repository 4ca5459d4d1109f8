"""The benchmark corpus: procedurally composed electronic tracks with planted, annotated sounds.

The paper's dataset (§III-A) is 300 real songs of four genres (House, Dubstep, Drum&Bass,
Downtempo), 2 to 7.5 minutes long, in which annotators marked *samples* (stand-out sounds heard
at least twice, mostly under 3 s) and *loops* (seamlessly repeating musical and rhythmic
patterns). Those songs cannot be shipped, so this module composes look-alikes from a seed:

- a genre groove (tempo, drum patterns, swing) and an arrangement of sections (intro, build,
  drop, break, outro) in which background layers (drums, bass, pad, lead) enter and leave;
- 2-4 annotated **loops**: bar-aligned patterns (arp, chord stabs, percussion, drum fill, bass
  riff, hook, vocal chops) of 1, 2 or 4 bars; every repetition of the unit is one occurrence;
- 2-5 annotated **samples**: one-shots and effects of 0.2-6 s (impacts, risers, vocal chops,
  zaps, stabs, noise sweeps, bells), each played 2-8 times;
- what makes retrieval hard in real mixes: occurrences over different backing, with gain,
  filter, pitch and envelope changes, mixed quietly, and *decoys*: sounds made by the same
  synth with other notes, contours or vowels, either annotated as sounds of their own (when
  they repeat) or played once, un-annotated.

Every difficulty lever is a field of :class:`SynthConfig`. Each distinct sound is rendered
once; occurrences reuse it through cheap per-occurrence processing (scipy filters, gain,
interpolation for pitch), so a 4-minute track takes under a second on one core.

Everything is deterministic per seed: :func:`compose_track` draws from
``np.random.SeedSequence(seed)`` only, and :func:`generate_corpus` gives track ``k`` the ``k``-th
child of ``SeedSequence(seed)``, so track ``k`` is the same whatever ``n_tracks`` is.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, oaconvolve, sosfilt

from loopfind_core.base.errors import DatasetError, SelectionError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.dataset import ANNOTATIONS_FILE, Annotation, write_annotations

logger = logging.getLogger(__name__)

# --- Constants -----------------------------------------------------------------------------

GENERATOR_VERSION = 1  # bump whenever the music for a seed changes: cached corpora regenerate
A4_MIDI = 69
A4_HZ = 440.0
BEATS_PER_BAR = 4  # every genre here is in 4/4
STEPS_PER_BEAT = 4  # a 16th-note grid
STEPS_PER_BAR = BEATS_PER_BAR * STEPS_PER_BEAT  # 16 steps, the length of a pattern string
DB60 = math.log(1000.0)  # exp(-DB60 * t / T) has fallen by 60 dB at t = T
MIN_TAIL_S = 1.0  # ring-out after the last bar (the tail makes up the rest of the duration)
EDGE_FADE_S = 0.005  # fade at the ends of every rendered sound, against clicks
PEAK_DBFS = -1.0  # master peak after normalisation
PEAK_LINEAR = 10.0 ** (PEAK_DBFS / 20.0)  # ≈ 0.891
SOFT_CLIP_DRIVE = 1.5  # tanh(drive * x) on the peak-normalised mix: the loudest peak loses
#                        20 log10(1.5 / tanh(1.5)) ≈ 4.4 dB against quiet passages, a peak at
#                        -10 dBFS only 0.6 dB: peaks (kicks) tamed, the body untouched
LOOP_DURATION_LIMITS_S = (1.0, 16.0)  # a loop unit: 1, 2 or 4 bars, kept within these
MIN_TRACK_DURATION_S = 30.0  # (30 - MIN_TAIL_S) // 3 s = 9 bars at 80 BPM: 7 sections fit
MAX_TRACK_DURATION_S = 3600.0  # an hour; longer is surely a typo
VINYL_CLICKS_PER_S = 30.0  # crackle density of a worn record
MAX_TEMPO_JITTER_PERCENT = 25.0  # a sound played a quarter faster or slower is another groove
PLACEMENT_TRIES = 400  # random candidate positions tried per sample occurrence
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

NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
# Chord progressions as 0-based scale degrees, one chord per bar: i-VI-III-VII, i-iv-VI-v, ...
PROGRESSIONS = ((0, 5, 2, 6), (0, 3, 5, 4), (0, 5, 3, 4), (0, 6, 5, 6), (0, 3, 0, 4), (0, 2, 5, 6))

SECTION_KINDS = ("intro", "build", "drop", "break", "outro")
# Relative section lengths; drops are the longest, builds the shortest.
SECTION_WEIGHTS = {"intro": 2.0, "build": 1.0, "drop": 4.0, "break": 2.0, "outro": 2.0}
BACKGROUND_LAYERS = ("kick", "snare", "hats", "perc", "bass", "pad", "lead")
# Probability that each background layer plays in a section of each kind.
SECTION_LAYER_PROBABILITY = {
    "intro": {"kick": 0.8, "snare": 0.3, "hats": 0.9, "perc": 0.4, "bass": 0.2, "pad": 0.6,
              "lead": 0.1},
    "build": {"kick": 0.4, "snare": 1.0, "hats": 0.8, "perc": 0.3, "bass": 0.2, "pad": 0.8,
              "lead": 0.4},
    "drop": {"kick": 1.0, "snare": 1.0, "hats": 1.0, "perc": 0.7, "bass": 1.0, "pad": 0.6,
             "lead": 0.6},
    "break": {"kick": 0.1, "snare": 0.2, "hats": 0.4, "perc": 0.3, "bass": 0.3, "pad": 1.0,
              "lead": 0.6},
    "outro": {"kick": 0.9, "snare": 0.5, "hats": 0.8, "perc": 0.5, "bass": 0.4, "pad": 0.5,
              "lead": 0.1},
}
# Mix gains of background layers (linear, on peak-normalised parts): kick leads, hats sit low.
LAYER_GAINS = {"kick": 1.0, "snare": 0.55, "hats": 0.22, "perc": 0.25, "bass": 0.55, "pad": 0.3,
               "lead": 0.22}

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
SAMPLE_KINDS = ("hit", "riser", "vox", "zap", "stab", "noise", "bell")
# Designed durations per kind, all within 0.2-6 s (paper: most samples are under 3 s).
SAMPLE_DURATION_RANGE_S = {
    "hit": (0.6, 2.5), "riser": (2.0, 6.0), "vox": (0.3, 1.5), "zap": (0.2, 0.7),
    "stab": (0.3, 1.2), "noise": (0.8, 3.0), "bell": (0.5, 2.0),
}
SIBLING_DURATION_SPREAD = 1.25  # a sibling lasts between 1/1.25 and 1.25 times its family's


# --- Public types --------------------------------------------------------------------------


@dataclass(frozen=True)
class GenreStyle:
    """How one genre sounds: tempo, groove, instruments and the sounds it tends to plant.

    Drum patterns are strings of 16 steps (one bar of 16th notes): ``X`` accent, ``x``
    normal, ``g`` ghost, ``.`` rest. One pattern of each tuple is drawn per track.
    """

    name: str
    tempo_range_bpm: tuple[float, float]
    swing_range: tuple[float, float]  # fraction of a 16th step by which odd steps come late
    kick_patterns: tuple[str, ...]
    snare_patterns: tuple[str, ...]
    hat_patterns: tuple[str, ...]
    open_hat_patterns: tuple[str, ...]
    perc_patterns: tuple[str, ...]
    snare_is_clap: bool  # a clap instead of a snare on the backbeat
    bass_style: str  # "offbeat" (house pluck), "wobble", "reese" or "sub"
    pad_style: str  # "supersaw", "rhodes" or "organ"
    loop_kinds: tuple[str, ...]  # drawn uniformly; a kind listed twice is twice as likely
    sample_kinds: tuple[str, ...]  # likewise
    bass_gain_db: float = 0.0  # bass level against LAYER_GAINS (dubstep drops are bass-heavy)
    layer_change_scale: float = 1.0  # scales phrase_layer_toggle_probability: how restless
    #                                  the arrangement is (house grooves hold one loop long)
    vinyl_level_db: float | None = None  # a crackle-and-hiss bed, RMS vs the backing's


GENRES: dict[str, GenreStyle] = {
    "House": GenreStyle(
        name="House",
        tempo_range_bpm=(120.0, 128.0),
        swing_range=(0.0, 0.12),
        kick_patterns=("X...X...X...X...",),
        snare_patterns=("....X.......X...", "....X.......X..g"),
        hat_patterns=("x.x.x.x.x.x.x.x.", "gxgxgxgxgxgxgxgx", "..x...x...x...x."),
        open_hat_patterns=("..x...x...x...x.", "......x.......x."),
        perc_patterns=("...x..x....x..x.", "..g...g.g...g...", "x..x..x...x..x.."),
        snare_is_clap=True,
        bass_style="offbeat",
        pad_style="organ",
        loop_kinds=("stab", "stab", "arp", "perc", "vox", "bass", "hook"),
        sample_kinds=("vox", "vox", "stab", "riser", "noise", "hit", "bell"),
        layer_change_scale=0.3,
    ),
    "Dubstep": GenreStyle(
        name="Dubstep",
        tempo_range_bpm=(138.0, 142.0),
        swing_range=(0.0, 0.08),
        kick_patterns=("X.........x.....", "X......x..x.....", "X.....x........."),
        snare_patterns=("........X.......", "........X.....g."),
        hat_patterns=("x.x.x.x.x.x.x.x.", "x..x..x..x..x.x.", "xxx.x.xxx.x.x.xx"),
        open_hat_patterns=("......x.........", "..............x."),
        perc_patterns=("....g.......g...", "..x.......x..x..", "g..g..g..g..g..g"),
        snare_is_clap=False,
        bass_style="wobble",
        pad_style="supersaw",
        loop_kinds=("bass", "bass", "arp", "fill", "vox", "hook", "stab"),
        sample_kinds=("zap", "zap", "vox", "hit", "riser", "noise", "stab"),
        bass_gain_db=4.0,
        layer_change_scale=1.5,
    ),
    "Drum&Bass": GenreStyle(
        name="Drum&Bass",
        tempo_range_bpm=(170.0, 176.0),
        swing_range=(0.0, 0.1),
        kick_patterns=("X.........X.....", "X.X.......X.....", "X.......X.X....."),
        snare_patterns=("....X.......X...", "....X..g.g..X..g", "....X.g.....X.g."),
        hat_patterns=("x.x.x.x.x.x.x.x.", "gxgxgxgxgxgxgxgx", "x.xgx.xgx.xgx.xg"),
        open_hat_patterns=("..x.......x.....", "......x.......x."),
        perc_patterns=("..x...x...x...x.", "x..g..x..g..x..g", ".x.x.x.x.x.x.x.x"),
        snare_is_clap=False,
        bass_style="reese",
        pad_style="supersaw",
        loop_kinds=("bass", "perc", "fill", "fill", "arp", "stab", "vox"),
        sample_kinds=("hit", "zap", "riser", "vox", "noise", "stab", "bell"),
        bass_gain_db=2.0,
    ),
    "Downtempo": GenreStyle(
        name="Downtempo",
        tempo_range_bpm=(80.0, 100.0),
        swing_range=(0.15, 0.33),
        kick_patterns=("X......X..X.....", "X.....x...X.....", "X.........X..x.."),
        snare_patterns=("....X.......X...", "....X.......X..g"),
        hat_patterns=("x.x.x.x.x.x.x.x.", "x.xgx.x.x.xgx.x.", "xgxgxgxgxgxgxgxg"),
        open_hat_patterns=("............x...", "......x........."),
        perc_patterns=("..x.....x..x....", "...g..x....g..x.", "x...x.x.....x..."),
        snare_is_clap=False,
        bass_style="sub",
        pad_style="rhodes",
        loop_kinds=("hook", "hook", "arp", "perc", "stab", "vox", "bass"),
        sample_kinds=("vox", "noise", "bell", "bell", "stab", "hit", "riser"),
        vinyl_level_db=-14.0,
    ),
}


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
            raise SelectionError("Invalid SynthConfig: " + "; ".join(problems) + ".")


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


# --- DSP primitives ------------------------------------------------------------------------


def _midi_hz(midi: float | np.ndarray) -> float | np.ndarray:
    """Frequency (Hz) of a MIDI note number (equal temperament, A4 = 440 Hz)."""
    return A4_HZ * 2.0 ** ((np.asarray(midi, dtype=np.float64) - A4_MIDI) / 12.0)


def _phase(freq_hz: float | np.ndarray, n: int, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """Oscillator phase in cycles [0, 1) and its per-sample increment, both shape (n,)."""
    freq = np.clip(np.broadcast_to(np.asarray(freq_hz, dtype=np.float64), (n,)), 1.0,
                   0.45 * sr_hz)
    inc = freq / sr_hz
    return (np.cumsum(inc) - inc[0]) % 1.0, inc


def _saw(phase: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """Band-limited sawtooth (PolyBLEP correction around each wrap), range about [-1, 1]."""
    y = 2.0 * phase - 1.0
    lo = phase < inc
    t = phase[lo] / inc[lo]
    y[lo] -= t + t - t * t - 1.0
    hi = phase > 1.0 - inc
    t = (phase[hi] - 1.0) / inc[hi]
    y[hi] -= t * t + t + t + 1.0
    return y


def _square(phase: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """Band-limited square: the difference of two saws half a cycle apart."""
    return 0.5 * (_saw(phase, inc) - _saw((phase + 0.5) % 1.0, inc))


def _sos(btype: str, cutoff_hz: float | tuple[float, float], sr_hz: int,
         order: int = 2) -> np.ndarray:
    """Butterworth second-order sections; cutoffs are clipped inside (10 Hz, 0.95 Nyquist)."""
    top = 0.475 * sr_hz
    if btype == "bandpass":
        lo, hi = cutoff_hz  # type: ignore[misc]
        lo = min(max(lo, 10.0), top * 0.9)
        hi = min(max(hi, lo * 1.05), top)
        return butter(order, (lo, hi), btype="bandpass", fs=sr_hz, output="sos")
    return butter(order, min(max(float(cutoff_hz), 10.0), top), btype=btype, fs=sr_hz,
                  output="sos")


def _lowpass(x: np.ndarray, cutoff_hz: float, sr_hz: int, order: int = 2) -> np.ndarray:
    if cutoff_hz >= 0.47 * sr_hz:
        return x
    return sosfilt(_sos("lowpass", cutoff_hz, sr_hz, order), x)


def _highpass(x: np.ndarray, cutoff_hz: float, sr_hz: int, order: int = 2) -> np.ndarray:
    return sosfilt(_sos("highpass", cutoff_hz, sr_hz, order), x)


def _bandpass(x: np.ndarray, lo_hz: float, hi_hz: float, sr_hz: int,
              order: int = 1) -> np.ndarray:
    return sosfilt(_sos("bandpass", (lo_hz, hi_hz), sr_hz, order), x)


def _swept_filter(x: np.ndarray, cutoff_hz: np.ndarray, sr_hz: int, btype: str = "lowpass",
                  n_bands: int = 8, bandwidth_octaves: float = 1.0) -> np.ndarray:
    """A time-varying filter: crossfade, sample by sample, a bank of fixed filters.

    ``cutoff_hz`` has the shape of ``x``; for ``bandpass`` it is the centre frequency and the
    band spans ``bandwidth_octaves``. Each output sample interpolates linearly between the two
    bank filters whose cutoffs bracket its own (in log frequency). Cheap and click-free; the
    crossfade is what a listener (and an MFCC) hears as a moving filter.
    """
    lo, hi = float(cutoff_hz.min()), float(cutoff_hz.max())
    centres = np.geomspace(lo, max(hi, lo * 1.01), n_bands)
    half = 2.0 ** (bandwidth_octaves / 2.0)
    position = np.interp(np.log(cutoff_hz), np.log(centres), np.arange(n_bands))
    y = np.zeros(len(x))
    for band, centre in enumerate(centres):
        weight = np.maximum(0.0, 1.0 - np.abs(position - band))  # linear-interpolation hat
        if not weight.any():
            continue
        if btype == "bandpass":
            filtered = _bandpass(x, centre / half, centre * half, sr_hz)
        else:
            filtered = sosfilt(_sos(btype, centre, sr_hz), x)
        y += weight * filtered
    return y


def _decay(n: int, sr_hz: int, decay_s: float, attack_s: float = 0.002) -> np.ndarray:
    """Percussive envelope, shape (n,): linear attack, then -60 dB after ``decay_s``."""
    t = np.arange(n) / sr_hz
    env = np.exp(-DB60 * t / max(decay_s, 1e-3))
    if attack_s > 0:
        env *= np.minimum(t / attack_s, 1.0)
    return env


def _fade_edges(x: np.ndarray, sr_hz: int, fade_s: float = EDGE_FADE_S) -> np.ndarray:
    """``x`` with short linear fades at both ends (no clicks where it starts or is cut)."""
    n = min(len(x) // 2, max(1, int(fade_s * sr_hz)))
    ramp = np.linspace(0.0, 1.0, n, endpoint=False)
    y = x.copy()
    y[:n] *= ramp
    y[len(y) - n:] *= ramp[::-1]
    return y


def _normalise(x: np.ndarray) -> np.ndarray:
    """Peak-normalise to 1 (silence stays silence)."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return x / peak if peak > 0 else x


def _rms(x: np.ndarray) -> float:
    return math.sqrt(float(np.dot(x, x)) / len(x)) if len(x) else 0.0


def _add_at(out: np.ndarray, sound: np.ndarray, start: int, gain: float = 1.0) -> None:
    """Mix ``sound * gain`` into ``out`` from sample ``start``, cutting what falls outside."""
    if start >= len(out) or start + len(sound) <= 0:
        return
    a, b = max(start, 0), min(start + len(sound), len(out))
    out[a:b] += gain * sound[a - start:b - start]


def _room(rng: np.random.Generator, sr_hz: int, decay_s: float) -> np.ndarray:
    """A small diffuse-room impulse response: decaying, darkening noise, unit energy."""
    n = int(decay_s * sr_hz)
    ir = rng.standard_normal(n) * _decay(n, sr_hz, decay_s, attack_s=0.004)
    ir = _lowpass(ir, 5000.0, sr_hz)
    return ir / (np.sqrt(np.sum(ir * ir)) + 1e-12)


def _with_reverb(x: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    """``x`` plus its reverb; the result is longer by ``len(ir) - 1`` samples."""
    y = np.zeros(len(x) + len(ir) - 1)
    y[:len(x)] = x
    if wet > 0:
        y += wet * oaconvolve(x, ir)
    return y


def _shift_pitch(x: np.ndarray, cents: float) -> np.ndarray:
    """Resample by linear interpolation: pitch and speed change together; length is kept.

    A few tens of cents change the duration by about 1 %: the end is padded with silence
    or cut, so the sound's designed span stays where it was.
    """
    if cents == 0:
        return x
    ratio = 2.0 ** (cents / 1200.0)
    positions = np.arange(len(x)) * ratio
    return np.interp(positions, np.arange(len(x)), x, right=0.0)


def _stretch_time(x: np.ndarray, percent: float) -> np.ndarray:
    """Play ``x`` ``percent`` % faster (negative: slower) at the same pitch; length is kept.

    A phase vocoder (librosa's) changes the speed only; as in :func:`_shift_pitch`, the end is
    padded with silence or cut, so the sound still starts where it was planted.
    """
    if percent == 0:
        return x
    import librosa  # only stress corpora stretch time: keep the default generator light

    stretched = librosa.effects.time_stretch(np.asarray(x, dtype=np.float32),
                                             rate=1.0 + percent / 100.0)
    out = np.zeros(len(x), dtype=np.float64)
    n = min(len(x), len(stretched))
    out[:n] = stretched[:n]
    return out


# --- Musical context -----------------------------------------------------------------------


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


# --- Background parts ----------------------------------------------------------------------


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


# --- Arrangement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    kind: str  # one of SECTION_KINDS
    start_bar: int
    n_bars: int
    phrase_bars: int  # layers may change every phrase
    layers: tuple[frozenset[str], ...]  # active background layers, one set per phrase

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.n_bars

    def layers_at(self, bar: int) -> frozenset[str]:
        return self.layers[min((bar - self.start_bar) // self.phrase_bars, len(self.layers) - 1)]


def _choose_length(rng: np.random.Generator, bar_s: float,
                   config: SynthConfig) -> tuple[int, float]:
    """The track's duration (s), uniform in the configured range, and its number of bars:
    as many as fit with at least MIN_TAIL_S of ring-out after them."""
    duration_s = float(rng.uniform(config.min_duration_s, config.max_duration_s))
    return int((duration_s - MIN_TAIL_S) // bar_s), duration_s


def _plan_sections(rng: np.random.Generator, n_bars: int, style: GenreStyle,
                   config: SynthConfig) -> tuple[_Section, ...]:
    """Intro, then 2-4 build/drop cycles with breaks between them, then an outro.

    Sections of one kind share a layer template drawn once per track (the second drop is
    the first drop again, give or take a layer); within a section, layers may flip at each
    phrase.
    """
    toggle_probability = min(0.5, config.phrase_layer_toggle_probability
                             * style.layer_change_scale)
    phrase = next(p for p in (4, 2, 1) if n_bars // p >= 10 or p == 1)
    n_phrases = n_bars // phrase
    cycles = int(np.clip(n_phrases // 10, 2, 4))
    kinds = ["intro"]
    for cycle in range(cycles):
        kinds += ["build", "drop"] + (["break"] if cycle < cycles - 1 else [])
    kinds.append("outro")
    weights = np.array([SECTION_WEIGHTS[k] * rng.uniform(0.7, 1.3) for k in kinds])
    lengths = _allocate(n_phrases, weights)
    templates = {kind: {layer for layer in BACKGROUND_LAYERS
                        if rng.random() < SECTION_LAYER_PROBABILITY[kind][layer]}
                 for kind in SECTION_KINDS}

    def flips() -> set[str]:
        return {layer for layer in BACKGROUND_LAYERS if rng.random() < toggle_probability}

    sections = []
    start = 0
    for index, (kind, length) in enumerate(zip(kinds, lengths, strict=True)):
        n = length * phrase + (n_bars - n_phrases * phrase if index == len(kinds) - 1 else 0)
        base = templates[kind] ^ flips()
        layers = [frozenset(base ^ flips()) for _ in range(math.ceil(n / phrase))]
        sections.append(_Section(kind, start, n, phrase, tuple(layers)))
        start += n
    return tuple(sections)


def _allocate(total: int, weights: np.ndarray) -> list[int]:
    """Split ``total`` units in proportion to ``weights``, each part at least 1."""
    extra = total - len(weights)
    shares = weights / weights.sum() * extra
    parts = np.floor(shares).astype(int)
    order = np.argsort(-(shares - parts))
    parts[order[:extra - parts.sum()]] += 1
    return [int(p) + 1 for p in parts]


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


# --- Loops ---------------------------------------------------------------------------------


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


# --- Samples -------------------------------------------------------------------------------


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


# --- Per-occurrence variation and levels ---------------------------------------------------


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
        y = _stretch_time(y, rng.uniform(-percent, percent))
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


# --- Composition ---------------------------------------------------------------------------


def _style_of(genre: str) -> GenreStyle:
    if genre not in GENRES:
        raise SelectionError(
            f"Unknown genre {genre!r}: choose one of {', '.join(GENRES)}."
        )
    return GENRES[genre]


def _make_context(rng: np.random.Generator, style: GenreStyle, sr_hz: int) -> _Context:
    scale = DORIAN if style.name in ("House", "Downtempo") and rng.random() < 0.4 else NATURAL_MINOR
    harmony = _Harmony(tonic_midi=int(rng.integers(33, 45)), scale=scale,
                       progression=PROGRESSIONS[int(rng.integers(0, len(PROGRESSIONS)))])
    tempo = round(float(rng.uniform(*style.tempo_range_bpm)), 1)
    return _Context(sr_hz, style, tempo, float(rng.uniform(*style.swing_range)), harmony)


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
        SelectionError: the genre is unknown, the seed negative or the file name empty.
    """
    style = _style_of(genre)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SelectionError(f"Seed {seed!r} must be a non-negative integer.")
    if not file_name:
        raise SelectionError("file_name is empty: give the track's file name, e.g. "
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


# --- Corpus --------------------------------------------------------------------------------


def track_file_name(index: int, genre: str) -> str:
    """``track_000_house.flac``: zero-padded index, genre in lower case without symbols."""
    slug = "".join(ch for ch in genre.lower() if ch.isalnum())
    return f"track_{index:03d}_{slug}.flac"


def corpus_track(seed: int, index: int, config: SynthConfig = SynthConfig()) -> SynthTrack:
    """Track ``index`` of the corpus of ``seed``, exactly as :func:`generate_corpus` writes it,
    without composing the others (genres round-robin; its seed the ``index``-th child of
    ``SeedSequence(seed)``)."""
    genres = list(GENRES)
    genre = genres[index % len(genres)]
    child = np.random.SeedSequence(int(seed)).spawn(int(index) + 1)[index]
    return compose_track(int(child.generate_state(1)[0]), genre, track_file_name(index, genre),
                         config)


def generate_corpus(out_dir: str | Path, n_tracks: int, seed: int,
                    config: SynthConfig = SynthConfig(),
                    progress: ProgressCallback = no_progress) -> list[Path]:
    """Write ``n_tracks`` tracks (16-bit FLAC) and their ``annotations.csv`` into ``out_dir``.

    Genres go round-robin in the order of :data:`GENRES` (House, Dubstep, Drum&Bass,
    Downtempo). Track ``k``'s seed is the ``k``-th child of ``SeedSequence(seed)``, so it does
    not depend on ``n_tracks``. ``progress(done, n_tracks, message)`` is called after each track.

    Returns:
        The paths of the audio files, in order.

    Raises:
        SelectionError: ``n_tracks`` < 1 or ``seed`` negative.
        DatasetError: ``out_dir`` exists and is not a folder, or cannot be written.
    """
    if not isinstance(n_tracks, (int, np.integer)) or n_tracks < 1:
        raise SelectionError(f"n_tracks {n_tracks!r} must be a whole number of at least 1.")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SelectionError(f"Seed {seed!r} must be a non-negative integer.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"Output folder {str(out)!r} exists and is a file, not a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        message = f"Output folder {str(out)!r} could not be created ({error})."
        raise DatasetError(message) from error
    paths: list[Path] = []
    annotations: list[Annotation] = []
    for index in range(int(n_tracks)):
        track = corpus_track(int(seed), index, config)
        genre = track.genre
        name = track_file_name(index, genre)
        path = out / name
        try:
            sf.write(path, track.samples, track.sr_hz, format="FLAC", subtype="PCM_16")
        except (OSError, sf.LibsndfileError) as error:
            raise DatasetError(f"Could not write {str(path)!r} ({error}).") from error
        paths.append(path)
        annotations += track.annotations
        logger.info("Wrote %s (%s, %.1f BPM, %.1f s, %d occurrences).", name, genre,
                    track.tempo_bpm, track.duration_s, len(track.annotations))
        progress(index + 1, int(n_tracks), f"composed {name}")
    try:
        write_annotations(out / ANNOTATIONS_FILE, annotations)
    except OSError as error:
        message = f"Could not write {str(out / ANNOTATIONS_FILE)!r} ({error})."
        raise DatasetError(message) from error
    return paths
