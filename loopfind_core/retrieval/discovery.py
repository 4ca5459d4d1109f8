"""Discovery: the sounds worth hunting in a track, found without a click.

For a few window lengths — sample-sized (0.5 s, 1 s) and, when the track has a beat grid,
1, 2 and 4 bars (else 2, 4 and 8 s) — anchor windows are taken every half window. Each anchor's
distance profile (the same sliding search as a hunt, over the features reduced to their main
directions for speed) gives its repetitions: non-overlapping windows closer than
``max_relative_distance`` × the profile's median. An anchor's score is how far below that limit
its repetitions are on average, times log2(1 + their number): close repetitions matter more
than many.
A window repeating more than ``MAX_REPETITIONS`` times is texture and is left out. Suggestions
are picked greedily by score, loop-length and sample-length ones in turn; an anchor that
overlaps a chosen suggestion's occurrences by more than a quarter is the same sound at another
phase and is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.features.track import FeatureTrack
from loopfind_core.retrieval.search import WindowSearch, suppression_radius

SAMPLE_LENGTHS_S = (0.5, 1.0)
BAR_LENGTHS = (1, 2, 4)  # bars (4 beats) when the tempo is known
FALLBACK_LOOP_LENGTHS_S = (2.0, 4.0, 8.0)
ANCHORS_PER_WINDOW = 2  # anchors start every 1/2 window
REDUCED_DIMS = 16  # principal directions kept for the search: 8× cheaper than 128 dims
MAX_RELATIVE_DISTANCE = 0.55  # a repetition is closer than this × the median distance (tuned on
#                              the tuning corpus, seed 99: 0.35 / 0.45 / 0.55 found 73 / 89 / 89%)
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


@dataclass(frozen=True)
class _Anchor:
    start: int  # frames
    length: int  # frames
    repetitions: tuple[tuple[int, float], ...]  # (start frame, relative distance)
    score: float


def _anchor(search: WindowSearch, start: int, limit: float) -> _Anchor:
    """An anchor window and its repetitions: the non-overlapping windows (at most half a window
    shared) closer than ``limit`` × the median distance, nearest first. A window that repeats
    more than :data:`MAX_REPETITIONS` times is texture (a drum hit, a pad), not a sound worth
    hunting: it gets no repetitions."""
    profile = search.distance_profile(start).cpu().numpy()
    median = float(np.median(profile))
    if median <= 0:
        return _Anchor(start, search.window_frames, (), 0.0)
    relative = profile / median
    radius = suppression_radius(search.window_frames)
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
            return _Anchor(start, search.window_frames, (), 0.0)
        blocked[max(0, frame - radius + 1) : frame + radius] = True
    closeness = float(np.mean([1.0 - d / limit for _, d in repetitions])) if repetitions else 0.0
    score = closeness * float(np.log2(1 + len(repetitions)))
    return _Anchor(start, search.window_frames, tuple(sorted(repetitions)), score)


def _overlap(a_start: int, a_length: int, b_start: int, b_length: int) -> int:
    return max(0, min(a_start + a_length, b_start + b_length) - max(a_start, b_start))


def discover(
    track: FeatureTrack, beats: BeatGrid | None = None,
    max_suggestions: int = DEFAULT_SUGGESTIONS,
    max_relative_distance: float = MAX_RELATIVE_DISTANCE,
) -> list[Suggestion]:
    """The ``max_suggestions`` most clearly repeated sounds of ``track``: loop-length and
    sample-length suggestions alternate (each ranked by score), so neither crowds out the
    other."""
    if max_suggestions < 1:
        raise SelectionError("Ask for at least one suggestion.")
    values = reduce_dimensions(track.values)
    lengths = window_lengths_s(beats)
    by_class: dict[bool, list[_Anchor]] = {True: [], False: []}  # is loop-length → anchors
    for length_s in lengths:
        length = max(2, track.seconds_to_frames(length_s))
        if 3 * length > track.n_frames:
            continue
        search = WindowSearch(values, length, device="cpu")
        for start in range(0, search.n_starts, max(1, length // ANCHORS_PER_WINDOW)):
            anchor = _anchor(search, start, max_relative_distance)
            if anchor.repetitions:
                by_class[length_s > max(SAMPLE_LENGTHS_S)].append(anchor)
    for anchors in by_class.values():
        anchors.sort(key=lambda a: -a.score)
    chosen: list[_Anchor] = []
    taken: list[tuple[int, int]] = []  # (start, length) of every occurrence of a chosen sound
    queues = [iter(by_class[True]), iter(by_class[False])]
    while len(chosen) < max_suggestions and queues:
        for queue in list(queues):
            anchor = next((a for a in queue if not _is_taken(a, taken)), None)
            if anchor is None:
                queues.remove(queue)
                continue
            chosen.append(anchor)
            taken += [(s, anchor.length) for s in _starts(anchor)]
            if len(chosen) == max_suggestions:
                break
    return [_suggestion(track, a) for a in chosen]


def _starts(anchor: _Anchor) -> list[int]:
    return sorted([anchor.start] + [s for s, _ in anchor.repetitions])


def _is_taken(anchor: _Anchor, taken: Sequence[tuple[int, int]]) -> bool:
    """The anchor overlaps an occurrence of a chosen sound by more than a quarter of the shorter
    one: it is that sound (or part of it) at another phase."""
    return any(4 * _overlap(anchor.start, anchor.length, s, n) > min(anchor.length, n)
               for s, n in taken)


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
    """The suggestion :func:`discover` would make of the anchor window at ``start_frame`` of
    ``search``: the window and its repetitions, scored the same way (no repetitions and score
    0 when it repeats nowhere, or so often it is texture). ``search`` is a
    :class:`WindowSearch` of any window length over ``track``'s features reduced by
    :func:`reduce_dimensions`, as :func:`discover` builds them. For controls that pick anchors
    otherwise, e.g. at random (``scripts/discovery_random_baseline.py``)."""
    return _suggestion(track, _anchor(search, start_frame, max_relative_distance))
