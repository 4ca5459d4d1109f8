"""The ground truth of one module, derived from its score and its solo renders (stems).

Every rule is documented in ``docs/benchmark.md`` ("Real-music corpus"); in short:

- **samples**: one sound per (instrument, note, sample offset); an occurrence starts at the
  note's onset and lasts the sound's one window length, the median audible length of its notes
  on their solo stems (until the envelope stays :attr:`LabelSettings.decay_db` under the note's
  peak, before the channel's next note), clipped to 0.15-2 s. A sound any of whose notes is
  bent (arpeggio, portamento, retrigger) is left out: its truth would be ambiguous.
- **loops**: (a) a pattern's content played at ≥ 2 positions of the song, from its first row's
  start to its last row's end; (b) one or more channels' columns repeated in ≥ 2 pattern plays
  while the rest of the pattern differs (the same loop over another backing); a channel loop
  whose plays are exactly a pattern loop's is that pattern loop and left out.
- **audible**: an occurrence counts only where its stem (the channels it is played on) has at
  least :attr:`LabelSettings.min_audibility_db` of the energy of everything else in its window
  (mix minus stem) and is not near-silent itself.
- a sound is kept with 2 to :attr:`LabelSettings.max_occurrences` audible occurrences; at most
  :attr:`LabelSettings.max_samples` samples and :attr:`LabelSettings.max_loops` loops per song,
  drawn by a seed so that occurrence counts spread from 2 to many.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.tracker.libxmp import SAMPLE_RATE_HZ
from loopfind_core.corpus.tracker.score import Note, Score

BLOCK = 32  # samples per energy block (1.45 ms): the resolution of every energy sum
ENVELOPE_HOP = 16  # blocks per envelope step when measuring a note's audible length (23 ms)
COUNT_BUCKETS = (2, 3, 5, 9, 17)  # lower bounds of the occurrence-count buckets the caps spread


@dataclass(frozen=True)
class LabelSettings:
    """The labelling thresholds (docs/benchmark.md explains each)."""

    min_audibility_db: float = -10.0  # stem energy over the rest's in the window
    silence_dbfs: float = -50.0  # a stem quieter than this (RMS) in its window is silent
    decay_db: float = 20.0  # a note is audible until its envelope stays this far under its peak
    sample_min_s: float = 0.15
    sample_max_s: float = 2.0
    loop_min_s: float = 1.0
    loop_max_s: float = 30.0
    min_occurrences: int = 2
    max_occurrences: int = 40
    max_samples: int = 10
    max_loops: int = 8


@dataclass(frozen=True)
class Sound:
    """One labelled sound: its category, id, occurrences (seconds) and how it was found."""

    category: str  # "sample" or "loop"
    sound: str
    occurrences: tuple[tuple[float, float], ...]
    channels: tuple[int, ...]
    audibility_db: tuple[float, ...]  # per occurrence: stem over rest
    kind: str  # "note", "pattern" or "channel"
    inaudible: int = 0  # plays of the sound left out as inaudible or silent (still in the mix)


class Energies:
    """Block energies of the mix, each stem and each stem's rest (mix minus stem)."""

    def __init__(self, mix: np.ndarray, stems: list[np.ndarray]) -> None:
        self.mix = mix
        self.stems = stems
        self.n = len(mix)
        self._stem: dict[int, np.ndarray] = {}
        self._rest: dict[int, np.ndarray] = {}

    @staticmethod
    def _cumulative(signal: np.ndarray) -> np.ndarray:
        blocks = len(signal) // BLOCK
        power = np.square(signal[: blocks * BLOCK].astype(np.float64)).reshape(blocks, BLOCK)
        return np.concatenate([[0.0], np.cumsum(power.sum(axis=1))])

    def stem(self, channel: int) -> np.ndarray:
        if channel not in self._stem:
            self._stem[channel] = self._cumulative(self.stems[channel])
        return self._stem[channel]

    def rest(self, channel: int) -> np.ndarray:
        if channel not in self._rest:
            self._rest[channel] = self._cumulative(self.mix - self.stems[channel])
        return self._rest[channel]

    def window(self, channels: tuple[int, ...], start: int, end: int) -> tuple[float, float]:
        """Energy of the channels' stem and of the rest in samples [start, end)."""
        if len(channels) == 1:
            a, b = start // BLOCK, max(start // BLOCK + 1, end // BLOCK)
            c = channels[0]
            return self.stem(c)[b] - self.stem(c)[a], self.rest(c)[b] - self.rest(c)[a]
        stem = sum(self.stems[c][start:end].astype(np.float64) for c in channels)
        rest = self.mix[start:end] - stem
        return float(np.dot(stem, stem)), float(np.dot(rest, rest))

    def audibility(self, channels: tuple[int, ...], start: int, end: int,
                   settings: LabelSettings) -> float | None:
        """Stem over rest in dB, or None when the stem is silent in the window."""
        stem, rest = self.window(channels, start, end)
        rms_dbfs = 10 * np.log10(max(stem, 1e-30) / max(end - start, 1))
        if rms_dbfs < settings.silence_dbfs:
            return None
        return float(10 * np.log10(stem / max(rest, 1e-12)))


def audible_length_s(energies: Energies, note: Note, span_end: int,
                     settings: LabelSettings) -> float:
    """How long ``note`` sounds on its stem before ``span_end``: until its envelope (23-ms
    steps) stays ``decay_db`` under its peak."""
    cumulative = energies.stem(note.channel)
    first = note.onset_sample // BLOCK
    last = min(span_end // BLOCK, len(cumulative) - 1)
    steps = np.arange(first, last, ENVELOPE_HOP)
    if len(steps) == 0:
        return 0.0
    ends = np.minimum(steps + ENVELOPE_HOP, last)
    envelope = cumulative[ends] - cumulative[steps]
    peak = envelope.max()
    if peak <= 0:
        return 0.0
    loud = np.flatnonzero(envelope >= peak * 10 ** (-settings.decay_db / 10))
    return float((ends[loud[-1]] - first) * BLOCK / SAMPLE_RATE_HZ)


def sample_sounds(score: Score, energies: Energies, settings: LabelSettings) -> list[Sound]:
    """Every (instrument, note, offset) with 2 to max_occurrences audible notes."""
    by_key: dict[tuple[int, int, int], list[Note]] = defaultdict(list)
    for note in score.notes:
        by_key[note.key].append(note)
    next_onset = _next_onset_per_note(score)
    max_samples = int(settings.sample_max_s * SAMPLE_RATE_HZ)
    sounds = []
    for key, notes in sorted(by_key.items()):
        if len(notes) < settings.min_occurrences or any(n.pitch_altered for n in notes):
            continue
        lengths = [audible_length_s(energies, n, min(next_onset[n], n.onset_sample + max_samples,
                                                     score.n_samples), settings) for n in notes]
        length_s = float(np.clip(np.median(lengths), settings.sample_min_s, settings.sample_max_s))
        length = int(round(length_s * SAMPLE_RATE_HZ))
        kept: list[tuple[float, float]] = []
        levels: list[float] = []
        channels: set[int] = set()
        inaudible = 0
        for note in sorted(notes, key=lambda n: n.onset_sample):
            start = note.onset_sample
            if start + length > score.n_samples:
                continue
            if kept and start - kept[-1][0] * SAMPLE_RATE_HZ < length / 2:
                continue  # overlaps the previous occurrence by more than half
            level = energies.audibility((note.channel,), start, start + length, settings)
            if level is None or level < settings.min_audibility_db:
                inaudible += 1
                continue
            kept.append((start / SAMPLE_RATE_HZ, (start + length) / SAMPLE_RATE_HZ))
            levels.append(level)
            channels.add(note.channel)
        if settings.min_occurrences <= len(kept) <= settings.max_occurrences:
            instrument, pitch, offset = key
            name = f"s-i{instrument:02d}-n{pitch:03d}" + (f"-o{offset:x}" if offset else "")
            sounds.append(Sound("sample", name, tuple(kept), tuple(sorted(channels)),
                                tuple(levels), "note", inaudible))
    return sounds


def _next_onset_per_note(score: Score) -> dict[Note, int]:
    """Each note's span: up to the next note on its channel (or the end of the render)."""
    following: dict[Note, int] = {}
    last: dict[int, Note] = {}
    for note in sorted(score.notes, key=lambda n: n.onset_sample):
        if note.channel in last:
            following[last[note.channel]] = note.onset_sample
        last[note.channel] = note
    for note in last.values():
        following[note] = score.n_samples
    return following


def loop_sounds(score: Score, energies: Energies, settings: LabelSettings) -> list[Sound]:
    """Pattern loops, then channel loops (see the module docstring)."""
    complete = [i for i, p in enumerate(score.plays) if p.complete]
    by_content: dict[tuple, list[int]] = defaultdict(list)
    for i in complete:
        by_content[score.plays[i].content].append(i)
    pattern_sets = [tuple(v) for v in by_content.values() if len(v) >= settings.min_occurrences]
    column_plays: dict[tuple, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for i in complete:
        for c, column in enumerate(score.plays[i].columns):
            if column is not None:
                column_plays[column][i].add(c)
    channel_sets: dict[tuple[int, ...], set[int]] = defaultdict(set)
    for plays in column_plays.values():
        if len(plays) >= settings.min_occurrences:
            channel_sets[tuple(sorted(plays))] |= set().union(*plays.values())
    every = tuple(range(score.channels))
    candidates = [(plays, every, "pattern") for plays in pattern_sets]
    candidates += [(plays, tuple(sorted(chs)), "channel")
                   for plays, chs in channel_sets.items() if plays not in set(pattern_sets)]
    sounds, names = [], set()
    for plays, channels, kind in candidates:
        sound = _loop_sound(score, energies, settings, plays, channels, kind)
        if sound is None:
            continue
        name = sound.sound
        suffix = 2
        while name in names:
            name, suffix = f"{sound.sound}-{suffix}", suffix + 1
        names.add(name)
        sounds.append(Sound(sound.category, name, sound.occurrences, sound.channels,
                            sound.audibility_db, sound.kind, sound.inaudible))
    return sounds


def _loop_sound(score: Score, energies: Energies, settings: LabelSettings,
                plays: tuple[int, ...], channels: tuple[int, ...], kind: str) -> Sound | None:
    first = score.plays[plays[0]]
    duration_s = (first.end_sample - first.start_sample) / SAMPLE_RATE_HZ
    if not settings.loop_min_s <= duration_s <= settings.loop_max_s:
        return None
    kept, levels = [], []
    inaudible = 0
    for i in plays:
        play = score.plays[i]
        if kind == "pattern":
            silent = _mix_silent(energies, play.start_sample, play.end_sample, settings)
            level = None if silent else float("inf")
        else:
            level = energies.audibility(channels, play.start_sample, play.end_sample, settings)
        if level is None or level < settings.min_audibility_db:
            inaudible += 1
            continue
        kept.append((play.start_sample / SAMPLE_RATE_HZ, play.end_sample / SAMPLE_RATE_HZ))
        levels.append(level)
    if not settings.min_occurrences <= len(kept) <= settings.max_occurrences:
        return None
    if kind == "pattern":
        name = f"loop-pat{first.pattern:02d}"
    else:
        name = f"loop-pat{first.pattern:02d}-ch" + "+".join(f"{c:02d}" for c in channels)
    return Sound("loop", name, tuple(kept), channels, tuple(levels), kind, inaudible)


def _mix_silent(energies: Energies, start: int, end: int, settings: LabelSettings) -> bool:
    segment = energies.mix[start:end].astype(np.float64)
    energy = float(np.dot(segment, segment)) / max(end - start, 1)
    return 10 * np.log10(max(energy, 1e-30)) < settings.silence_dbfs


def spread_pick(sounds: list[Sound], cap: int, rng: np.random.Generator) -> list[Sound]:
    """At most ``cap`` sounds, drawn round-robin from occurrence-count buckets (2, 3-4, 5-8,
    9-16, 17+) in a seeded order, so that every song offers both few and many occurrences."""
    buckets: list[list[Sound]] = [[] for _ in COUNT_BUCKETS]
    for sound in sounds:
        index = max(i for i, low in enumerate(COUNT_BUCKETS) if len(sound.occurrences) >= low)
        buckets[index].append(sound)
    for bucket in buckets:
        order = rng.permutation(len(bucket))
        bucket[:] = [bucket[i] for i in order]
    picked: list[Sound] = []
    while len(picked) < cap and any(buckets):
        for bucket in buckets:
            if bucket and len(picked) < cap:
                picked.append(bucket.pop(0))
    return picked


def label_song(score: Score, mix: np.ndarray, stems: list[np.ndarray], settings: LabelSettings,
               seed: int) -> list[Sound]:
    """The song's samples and loops after the per-song caps (channel loops picked before
    pattern loops: the same loop under another backing is the case that matters most)."""
    energies = Energies(mix, stems)
    rng = np.random.default_rng(seed)
    samples = spread_pick(sample_sounds(score, energies, settings), settings.max_samples, rng)
    loops = loop_sounds(score, energies, settings)
    channel = spread_pick([s for s in loops if s.kind == "channel"], settings.max_loops, rng)
    pattern = spread_pick([s for s in loops if s.kind == "pattern"], settings.max_loops, rng)
    half = settings.max_loops - settings.max_loops // 2
    n_channel = min(len(channel), max(settings.max_loops - len(pattern), half))
    n_pattern = min(len(pattern), settings.max_loops - n_channel)
    return samples + channel[:n_channel] + pattern[:n_pattern]
