"""Discovery: the sounds worth hunting in a track, found without a click.

For a few window lengths — sample-sized (0.5 s, 1 s) and, when the track has a beat grid,
1, 2 and 4 bars (else 2, 4 and 8 s) — anchor windows are taken every half window. Each anchor's
distance profile (the hunt's distance, :mod:`loopfind_core.retrieval.search`, over the features
reduced to their main directions and averaged down to about :data:`SEARCH_RATE_HZ` frames a
second) gives its repetitions: non-overlapping windows closer than ``max_relative_distance`` ×
the profile's median. Every anchor's profile comes from one table of all frame pairs' dot
products (:class:`FramePairs`), not one search per anchor. An anchor's score is how far below
that limit its repetitions are on average, times log2(1 + their number): close repetitions
matter more than many.
A window repeating more than ``MAX_REPETITIONS`` times is texture and is left out. Suggestions
are picked greedily by score, loop-length and sample-length ones in turn, skipping

- silence: an anchor the hunt would not propose for being silent (its mean power
  :data:`~loopfind_core.retrieval.search.SILENCE_BELOW_LOUD_DB` under the track's loud frames,
  :func:`~loopfind_core.retrieval.search.audible_starts`); its repetitions too quiet to be the
  sound are dropped by the same rule;
- the same sound again: an anchor that overlaps a chosen suggestion's occurrences by more than
  a quarter (that sound at another phase), whose occurrences mostly do, or most of whose
  occurrences sit at one offset from
  a chosen suggestion's (the same occurrence set: another length, or another bar of the same
  loop), the offset at most the longest window tried.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.features.track import FeatureTrack
from loopfind_core.retrieval.search import WindowSearch, audible_starts, suppression_radius

SAMPLE_LENGTHS_S = (0.5, 1.0)
BAR_LENGTHS = (1, 2, 4)  # bars (4 beats) when the tempo is known
FALLBACK_LOOP_LENGTHS_S = (2.0, 4.0, 8.0)
ANCHORS_PER_WINDOW = 2  # anchors start every 1/2 window
REDUCED_DIMS = 16  # principal directions kept for the search: 8× cheaper than 128 dims
SEARCH_RATE_HZ = 11.0  # frames are averaged down to about this many per second for the search
MAX_SEARCH_FRAMES = 4096  # ... and to at most this many (the pair table: 4096² float32, 64 MiB)
ANCHOR_CHUNK = 256  # anchors whose profiles are held at once
MAX_RELATIVE_DISTANCE = 0.55  # a repetition is closer than this × the median distance (tuned on
#                              the tuning corpus, seed 99: docs/results.md §6.3)
MAX_REPETITIONS = 24  # more is texture (a drum hit, a pad), not a sound worth hunting
DEFAULT_SUGGESTIONS = 10


@dataclass(frozen=True)
class Suggestion:
    """A repeated sound: its best window and every window where it repeats (seconds)."""

    start_s: float
    duration_s: float
    occurrences: tuple[tuple[float, float], ...]  # (start_s, end_s), the anchor included, sorted
    score: float  # mean closeness (1 − distance / limit) × log2(1 + repetitions); higher = better

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def window_lengths_s(beats: BeatGrid | None) -> list[float]:
    """The window lengths tried, in seconds."""
    if beats is not None and beats.has_beats:
        loops = [4 * bars * beats.beat_period_s for bars in BAR_LENGTHS]
    else:
        loops = list(FALLBACK_LOOP_LENGTHS_S)
    return list(SAMPLE_LENGTHS_S) + loops


def reduce_dimensions(values: np.ndarray, dims: int = REDUCED_DIMS) -> np.ndarray:
    """The features projected on their ``dims`` main principal directions (centred)."""
    centred = values - values.mean(axis=0, keepdims=True)
    if centred.shape[1] <= dims:
        return np.ascontiguousarray(centred, dtype=np.float32)
    _, _, directions = np.linalg.svd(centred[:: max(1, len(centred) // 4000)],
                                     full_matrices=False)
    return np.ascontiguousarray(centred @ directions[:dims].T, dtype=np.float32)


def pooling_factor(n_frames: int, frame_rate_hz: float) -> int:
    """How many track frames the search averages into one: about :data:`SEARCH_RATE_HZ`
    search frames a second, and at most :data:`MAX_SEARCH_FRAMES` of them."""
    return max(1, round(frame_rate_hz / SEARCH_RATE_HZ), math.ceil(n_frames / MAX_SEARCH_FRAMES))


def pool_frames(values: np.ndarray, factor: int) -> np.ndarray:
    """The mean of every ``factor`` consecutive frames (a last partial group is left out),
    shape (n_frames // factor, n_dims), float32."""
    usable = (len(values) // factor) * factor
    grouped = values[:usable].reshape(-1, factor, values.shape[1])
    return np.ascontiguousarray(grouped.mean(axis=1), dtype=np.float32)


class FramePairs:
    """The dot products of every pair of (centred) frames: every window's distance profile,
    for many anchors at once. The distance is the hunt's (``WindowSearch.distance_profile``):
    the mean squared Euclidean distance per frame between two windows of L frames,
    (‖W_t‖² + ‖W_s‖² − 2 · Σ_k x[t + k] · x[s + k]) / L.

    Args:
        values: float32 array, shape (n_frames, n_dims); its memory is n_frames² × 4 bytes.
    """

    def __init__(self, values: np.ndarray) -> None:
        frames = np.asarray(values, dtype=np.float32)
        frames = frames - frames.mean(axis=0, keepdims=True)  # distances unchanged
        self.n_frames = len(frames)
        self._dots = frames @ frames.T  # (n_frames, n_frames)
        energy = np.einsum("ij,ij->i", frames.astype(np.float64), frames.astype(np.float64))
        self._cumulative_energy = np.concatenate([[0.0], np.cumsum(energy)])

    def profiles(self, starts: np.ndarray, window_frames: int) -> np.ndarray:
        """Mean squared distance per frame, shape (len(starts), n_starts), of every window of
        ``window_frames`` to the window at each of ``starts``; clamped at 0 (rounding)."""
        n_starts = self.n_frames - window_frames + 1
        starts = np.asarray(starts, dtype=np.int64)
        dots = np.zeros((len(starts), n_starts), dtype=np.float32)
        for k in range(window_frames):
            dots += self._dots[starts + k, k : k + n_starts]
        cumulative = self._cumulative_energy
        window_energy = (cumulative[window_frames:] - cumulative[:-window_frames]).astype(
            np.float32)
        squared = window_energy[None, :] + window_energy[starts, None] - 2.0 * dots
        return np.maximum(squared, 0.0) / window_frames


@dataclass(frozen=True)
class _Anchor:
    start: int  # frames
    length: int  # frames
    repetitions: tuple[tuple[int, float], ...]  # (start frame, relative distance)
    score: float

    def scaled(self, factor: int) -> _Anchor:
        """The same anchor in frames ``factor`` times shorter (search frames → track frames)."""
        return _Anchor(self.start * factor, self.length * factor,
                       tuple((s * factor, d) for s, d in self.repetitions), self.score)


def _anchor_of(profile: np.ndarray, start: int, window_frames: int, limit: float) -> _Anchor:
    """An anchor window and its repetitions, from its distance profile: the non-overlapping
    windows (at most half a window shared) closer than ``limit`` × the median distance,
    nearest first. A window that repeats more than :data:`MAX_REPETITIONS` times is texture
    (a drum hit, a pad), not a sound worth hunting: it gets no repetitions."""
    median = float(np.median(profile))
    if median <= 0:
        return _Anchor(start, window_frames, (), 0.0)
    relative = profile / median
    radius = suppression_radius(window_frames)
    blocked = np.zeros(len(relative), dtype=bool)
    blocked[max(0, start - radius + 1) : start + radius] = True
    minima = np.r_[True, relative[1:] <= relative[:-1]] & np.r_[relative[:-1] <= relative[1:], True]
    candidates = np.flatnonzero(minima & (relative < limit))  # local minima below the limit
    repetitions = []
    for frame in candidates[np.argsort(relative[candidates], kind="stable")]:
        if blocked[frame]:
            continue
        repetitions.append((int(frame), float(relative[frame])))
        if len(repetitions) > MAX_REPETITIONS:
            return _Anchor(start, window_frames, (), 0.0)
        blocked[max(0, frame - radius + 1) : frame + radius] = True
    return _scored(start, window_frames, repetitions, limit)


def _scored(start: int, length: int, repetitions: Sequence[tuple[int, float]],
            limit: float) -> _Anchor:
    closeness = float(np.mean([1.0 - d / limit for _, d in repetitions])) if repetitions else 0.0
    score = closeness * float(np.log2(1 + len(repetitions)))
    return _Anchor(start, length, tuple(sorted(repetitions)), score)


def _overlap(a_start: int, a_length: int, b_start: int, b_length: int) -> int:
    return max(0, min(a_start + a_length, b_start + b_length) - max(a_start, b_start))


def _anchors(pairs: FramePairs, window_frames: int, limit: float) -> list[_Anchor]:
    """Every anchor of one window length (search frames) that repeats."""
    n_starts = pairs.n_frames - window_frames + 1
    starts = np.arange(0, n_starts, max(1, window_frames // ANCHORS_PER_WINDOW))
    found = []
    for chunk in range(0, len(starts), ANCHOR_CHUNK):
        batch = starts[chunk : chunk + ANCHOR_CHUNK]
        for start, profile in zip(batch, pairs.profiles(batch, window_frames)):
            anchor = _anchor_of(profile, int(start), window_frames, limit)
            if anchor.repetitions:
                found.append(anchor)
    return found


def discover(
    track: FeatureTrack, beats: BeatGrid | None = None,
    max_suggestions: int = DEFAULT_SUGGESTIONS,
    max_relative_distance: float = MAX_RELATIVE_DISTANCE,
) -> list[Suggestion]:
    """The ``max_suggestions`` most clearly repeated sounds of ``track``: loop-length and
    sample-length suggestions alternate (each ranked by score), so neither crowds out the
    other; never a silent window, never the same sound twice (module docstring)."""
    if max_suggestions < 1:
        raise SelectionError("Ask for at least one suggestion.")
    factor = pooling_factor(track.n_frames, track.frame_rate_hz)
    pairs = FramePairs(pool_frames(reduce_dimensions(track.values), factor))
    by_class: dict[bool, list[_Anchor]] = {True: [], False: []}  # is loop-length → anchors
    for length_s in window_lengths_s(beats):
        length = max(2, round(length_s * track.frame_rate_hz / factor))
        if 3 * length > pairs.n_frames:
            continue
        by_class[length_s > max(SAMPLE_LENGTHS_S)] += [
            a.scaled(factor) for a in _anchors(pairs, length, max_relative_distance)]
    for anchors in by_class.values():
        anchors.sort(key=lambda a: -a.score)
    longest = max((max(a.length for a in anchors) for anchors in by_class.values() if anchors),
                  default=0)
    chosen: list[_Anchor] = []
    queues = [iter(by_class[True]), iter(by_class[False])]
    while len(chosen) < max_suggestions and queues:
        for queue in list(queues):
            anchor = _next_pick(queue, track, chosen, longest, max_relative_distance)
            if anchor is None:
                queues.remove(queue)
                continue
            chosen.append(anchor)
            if len(chosen) == max_suggestions:
                break
    return [_suggestion(track, a) for a in chosen]


def _next_pick(queue: Iterator[_Anchor], track: FeatureTrack, chosen: Sequence[_Anchor],
               max_shift: int, limit: float) -> _Anchor | None:
    """The queue's next anchor that is neither a chosen sound again (:func:`_is_chosen`) nor
    silent (its quiet repetitions dropped), or None when the queue runs out."""
    for anchor in queue:
        if _is_chosen(anchor, chosen, max_shift):  # cheap: checked before the level
            continue
        audible = _audible(track, anchor, limit)
        if audible is not None and (audible is anchor
                                    or not _is_chosen(audible, chosen, max_shift)):
            return audible
    return None


def _audible(track: FeatureTrack, anchor: _Anchor, limit: float) -> _Anchor | None:
    """The anchor with only the repetitions a hunt of it could propose (not silent, not far
    quieter than the anchor: :func:`audible_starts`); None when the anchor itself is silent or
    no repetition is left."""
    if anchor.start + anchor.length > track.n_frames:
        return None
    audible = audible_starts(track, anchor.start, anchor.length, torch.device("cpu")).numpy()
    kept = [(s, d) for s, d in anchor.repetitions if s < len(audible) and audible[s]]
    if not audible[anchor.start] or not kept:
        return None
    return anchor if len(kept) == len(anchor.repetitions) else _scored(
        anchor.start, anchor.length, kept, limit)


def _starts(anchor: _Anchor) -> list[int]:
    return sorted([anchor.start] + [s for s, _ in anchor.repetitions])


def _is_chosen(anchor: _Anchor, chosen: Sequence[_Anchor], max_shift: int) -> bool:
    """The anchor is a chosen sound again: its window, or more than half of its occurrences,
    overlap an occurrence of a chosen sound by more than a quarter of the shorter one (that
    sound, or part of it, at another phase or length), or more than half of its occurrences
    sit at one offset of at most ``max_shift`` frames from a chosen sound's occurrences, to
    within a quarter of the shorter window (another bar of the same loop)."""
    starts = _starts(anchor)
    for other in chosen:
        shorter = min(anchor.length, other.length)

        def overlaps(start: int, other: _Anchor = other, shorter: int = shorter) -> bool:
            return any(4 * _overlap(start, anchor.length, s, other.length) > shorter
                       for s in _starts(other))

        if (overlaps(anchor.start) or 2 * sum(map(overlaps, starts)) > len(starts)
                or 2 * _most_at_one_offset(starts, _starts(other), max_shift, shorter / 4)
                > len(starts)):
            return True
    return False


def _most_at_one_offset(starts: Sequence[int], others: Sequence[int], max_shift: int,
                        tolerance: float) -> int:
    """The most of ``starts`` that one offset (|offset| ≤ ``max_shift``) puts within
    ``tolerance`` of some of ``others``."""
    mine, theirs = np.asarray(starts, dtype=np.float64), np.asarray(others, dtype=np.float64)
    offsets = (mine[:, None] - theirs[None, :]).ravel()
    offsets = offsets[np.abs(offsets) <= max_shift]
    if offsets.size == 0:
        return 0
    # for each trial offset: (trial, mine, theirs) distances after the shift
    gaps = np.abs(mine[None, :, None] - theirs[None, None, :] - offsets[:, None, None])
    return int((gaps <= tolerance).any(axis=2).sum(axis=1).max())


def _suggestion(track: FeatureTrack, anchor: _Anchor) -> Suggestion:
    seconds = track.frames_to_seconds
    duration = seconds(anchor.length)
    starts = _starts(anchor)
    return Suggestion(seconds(anchor.start), duration,
                      tuple((seconds(s), seconds(s) + duration) for s in starts), anchor.score)


def suggestion_at(
    track: FeatureTrack, search: WindowSearch, start_frame: int,
    max_relative_distance: float = MAX_RELATIVE_DISTANCE,
) -> Suggestion:
    """The suggestion of the anchor window at ``start_frame`` of ``search``, found and scored
    as :func:`discover` does (no repetitions and score 0 when it repeats nowhere, or so often
    it is texture). ``search`` is a :class:`WindowSearch` of any window length over
    ``track``'s features reduced by :func:`reduce_dimensions`, at the track's own frame rate
    (:func:`discover` searches frames averaged down, :func:`pooling_factor`). For controls
    that pick anchors otherwise, e.g. at random (``scripts/discovery_random_baseline.py``)."""
    profile = search.distance_profile(start_frame).cpu().numpy()
    return _suggestion(track, _anchor_of(profile, start_frame, search.window_frames,
                                         max_relative_distance))
