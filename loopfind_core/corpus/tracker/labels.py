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
  whose plays are exactly a pattern loop's is that pattern loop and left out; (c) **figure
  loops**: one or more channels' events over a segment of 1/2 or 1/4 of a pattern play's rows
  (tiling the play: a bar or two) repeated at ≥ 2 positions, the shortest period of a figure
  (a segment made of two equal halves is its half), a shorter figure only where it is heard
  outside the longer repeated figures of its channel, and none whose occurrences are one per
  play in exactly the plays of a labelled pattern or channel loop holding its channels.
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

from loopfind_core.corpus.tracker.libxmp import SAMPLE_RATE_HZ, XMP_KEY_OFF
from loopfind_core.corpus.tracker.score import Note, Score

BLOCK = 32  # samples per energy block (1.45 ms): the resolution of every energy sum
ENVELOPE_HOP = 16  # blocks per envelope step when measuring a note's audible length (23 ms)
COUNT_BUCKETS = (2, 4, 10, 30)  # lower bounds of the occurrence-count buckets the caps spread
FIGURE_DIVISORS = (2, 4)  # a figure segment is a play's rows over one of these (32, 16 of 64)
# jump, break, speed and tempo effects: where a figure is in the song, not what it sounds like
# (the tempo of every row is part of a figure's content instead)
FLOW_EFFECTS = frozenset({0x0B, 0x0D, 0x0F, 0x87, 0x8E, 0xA3, 0xAB})
LOOP_SHARES = (("channel", 3), ("figure", 3), ("pattern", 2))  # eighths of max_loops per kind


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
    max_occurrences: int = 160
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
    kind: str  # "note", "pattern", "channel" or "figure"
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
    """Pattern loops, then channel loops, then figure loops (see the module docstring)."""
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
    sounds: list[Sound] = []
    names: set[str] = set()
    labelled: list[tuple[set[int], set[int]]] = []  # plays and channels of each kept loop
    for plays, channels, kind in candidates:
        first = score.plays[plays[0]]
        name = f"loop-pat{first.pattern:02d}"
        if kind == "channel":
            name += "-ch" + "+".join(f"{c:02d}" for c in channels)
        spans = [(score.plays[i].start_sample, score.plays[i].end_sample) for i in plays]
        if _add_loop(sounds, names, _loop_sound(energies, settings, spans, channels, kind, name)):
            labelled.append((set(plays), set(channels)))
    for positions, channels in _figure_candidates(score, settings):
        plays = [i for i, _, _ in positions]
        if len(set(plays)) == len(plays) and any(
                set(plays) == kept and set(channels) <= chs for kept, chs in labelled):
            continue  # the same places as a pattern or channel loop: that loop, cut shorter
        first, offset, rows = positions[0]
        row = int(score.row_starts[score.plays[first].first_row + offset, 3])
        name = (f"loop-pat{score.plays[first].pattern:02d}-rows{row:02d}-{row + rows - 1:02d}"
                "-ch" + "+".join(f"{c:02d}" for c in channels))
        spans = [_segment_span(score, *position) for position in positions]
        _add_loop(sounds, names, _loop_sound(energies, settings, spans, channels, "figure", name))
    return sounds


def _add_loop(sounds: list[Sound], names: set[str], sound: Sound | None) -> bool:
    """Append ``sound`` under a name not taken yet; False when there is none."""
    if sound is None:
        return False
    name, suffix = sound.sound, 2
    while name in names:
        name, suffix = f"{sound.sound}-{suffix}", suffix + 1
    names.add(name)
    sounds.append(Sound(sound.category, name, sound.occurrences, sound.channels,
                        sound.audibility_db, sound.kind, sound.inaudible))
    return True


def _segment_span(score: Score, play: int, offset: int, rows: int) -> tuple[int, int]:
    """Samples of the ``rows`` rows from row ``offset`` of a play (to the next row's start)."""
    p = score.plays[play]
    first = p.first_row + offset
    end = first + rows
    return (int(score.row_starts[first, 0]),
            int(score.row_starts[end, 0]) if end <= p.last_row else p.end_sample)


def _sounding(cell: tuple) -> tuple:
    """A cell without its flow effects (jumps, breaks, speed and tempo)."""
    note, instrument, volume, fxt1, fxp1, fxt2, fxp2 = cell
    fx1 = (0, 0) if fxt1 in FLOW_EFFECTS else (fxt1, fxp1)
    fx2 = (0, 0) if fxt2 in FLOW_EFFECTS else (fxt2, fxp2)
    return (note, instrument, volume, *fx1, *fx2)


def _figure_candidates(score: Score, settings: LabelSettings
                       ) -> list[tuple[tuple[tuple[int, int, int], ...], tuple[int, ...]]]:
    """Figure loops before audibility: (positions (play, row offset, rows), channels).

    A segment of a channel is its events (flow effects left out) and the tempo of each row over
    ``rows`` = a complete play's rows / 2 or / 4, at offsets tiling the play, with at least one
    note. Equal segments at ≥ 2 positions make a figure, unless the segment is two equal halves
    of a segment length the play also has (the half is the figure), or the figure lasts under
    loop_min_s or over loop_max_s, or every one of its positions lies inside a longer figure of
    the same channel. Channels with exactly the same positions form one figure."""
    figures: dict[tuple[int, tuple], list[tuple[int, int, int]]] = defaultdict(list)
    for i, play in enumerate(score.plays):
        if not play.complete:
            continue
        n = play.last_row - play.first_row + 1
        lengths = {n // d for d in FIGURE_DIVISORS if n % d == 0 and n // d >= 2}
        rows_played = play.content[2]
        tempo = [tuple(int(x) for x in score.row_starts[r, 4:6])
                 for r in range(play.first_row, play.last_row + 1)]
        for rows in lengths:
            for offset in range(0, n, rows):
                for c in range(score.channels):
                    cells = tuple(_sounding(row[c]) for row in rows_played[offset:offset + rows])
                    if not any(0 < cell[0] < XMP_KEY_OFF for cell in cells):
                        continue
                    half = rows // 2
                    if half in lengths and rows % 2 == 0 and cells[:half] == cells[half:] \
                            and tempo[offset:offset + half] == tempo[offset + half:offset + rows]:
                        continue  # periodic: its half is the figure
                    key = (rows, cells, tuple(tempo[offset:offset + rows]))
                    figures[(c, key)].append((i, offset, rows))
    covered: dict[int, set[tuple[int, int]]] = defaultdict(set)  # channel: (play, row) inside
    by_positions: dict[tuple, set[int]] = defaultdict(set)
    for (c, _key), positions in sorted(figures.items(), key=lambda item: -item[0][1][0]):
        if len(positions) < settings.min_occurrences:
            continue
        start, end = _segment_span(score, *positions[0])
        if not settings.loop_min_s <= (end - start) / SAMPLE_RATE_HZ <= settings.loop_max_s:
            continue
        inside = [{(i, offset + k) for k in range(rows)} for i, offset, rows in positions]
        if all(rows_of <= covered[c] for rows_of in inside):
            continue  # only ever heard as part of a longer figure of this channel
        for rows_of in inside:
            covered[c] |= rows_of
        by_positions[tuple(sorted(positions))].add(c)
    return [(positions, tuple(sorted(chs))) for positions, chs in by_positions.items()]


def _loop_sound(energies: Energies, settings: LabelSettings, spans: list[tuple[int, int]],
                channels: tuple[int, ...], kind: str, name: str) -> Sound | None:
    """A loop with its audible occurrences among ``spans`` (sample ranges), or None when it
    is too short or long or has too few or too many of them."""
    duration_s = (spans[0][1] - spans[0][0]) / SAMPLE_RATE_HZ
    if not settings.loop_min_s <= duration_s <= settings.loop_max_s:
        return None
    kept, levels = [], []
    inaudible = 0
    for start, end in sorted(spans):
        if kept and kept[-1][1] * SAMPLE_RATE_HZ - start > (end - start) / 2:
            continue  # overlaps the previous occurrence by more than half
        if kind == "pattern":
            level = None if _mix_silent(energies, start, end, settings) else float("inf")
        else:
            level = energies.audibility(channels, start, end, settings)
        if level is None or level < settings.min_audibility_db:
            inaudible += 1
            continue
        kept.append((start / SAMPLE_RATE_HZ, end / SAMPLE_RATE_HZ))
        levels.append(level)
    if not settings.min_occurrences <= len(kept) <= settings.max_occurrences:
        return None
    return Sound("loop", name, tuple(kept), channels, tuple(levels), kind, inaudible)


def _mix_silent(energies: Energies, start: int, end: int, settings: LabelSettings) -> bool:
    segment = energies.mix[start:end].astype(np.float64)
    energy = float(np.dot(segment, segment)) / max(end - start, 1)
    return 10 * np.log10(max(energy, 1e-30)) < settings.silence_dbfs


def spread_pick(sounds: list[Sound], cap: int, rng: np.random.Generator,
                busiest_first: bool = False) -> list[Sound]:
    """At most ``cap`` sounds, drawn round-robin from occurrence-count buckets (2–3, 4–9,
    10–29, 30+: the bands ``evaluate`` reports; 30+ first with ``busiest_first``) in a seeded
    order, so that every song offers both few and many occurrences."""
    buckets: list[list[Sound]] = [[] for _ in COUNT_BUCKETS]
    for sound in sounds:
        index = max(i for i, low in enumerate(COUNT_BUCKETS) if len(sound.occurrences) >= low)
        buckets[index].append(sound)
    for bucket in buckets:
        order = rng.permutation(len(bucket))
        bucket[:] = [bucket[i] for i in order]
    if busiest_first:
        buckets.reverse()
    picked: list[Sound] = []
    while len(picked) < cap and any(buckets):
        for bucket in buckets:
            if bucket and len(picked) < cap:
                picked.append(bucket.pop(0))
    return picked


def pick_loops(loops: list[Sound], cap: int, rng: np.random.Generator) -> list[Sound]:
    """At most ``cap`` loops: each kind is sure of its :data:`LOOP_SHARES` eighths of the
    places (rounded up, channel loops first); places a kind leaves unused go to the others in
    the order channel, figure, pattern. Figure loops are drawn busiest first (the drum figure
    heard all song long)."""
    picked = {kind: spread_pick([s for s in loops if s.kind == kind], cap, rng,
                                busiest_first=kind == "figure") for kind, _ in LOOP_SHARES}
    places, left = {}, cap
    for kind, eighths in LOOP_SHARES:
        places[kind] = min(len(picked[kind]), -(-cap * eighths // 8), left)
        left -= places[kind]
    for kind, _ in LOOP_SHARES:
        extra = min(len(picked[kind]) - places[kind], left)
        places[kind] += extra
        left -= extra
    return [s for kind, _ in LOOP_SHARES for s in picked[kind][:places[kind]]]


def label_song(score: Score, mix: np.ndarray, stems: list[np.ndarray], settings: LabelSettings,
               seed: int) -> list[Sound]:
    """The song's samples and loops after the per-song caps (:func:`pick_loops`)."""
    energies = Energies(mix, stems)
    rng = np.random.default_rng(seed)
    samples = spread_pick(sample_sounds(score, energies, settings), settings.max_samples, rng)
    return samples + pick_loops(loop_sounds(score, energies, settings), settings.max_loops, rng)
