"""Where an event of a confirmed window goes: on the loop's phase, finer than a frame.

:class:`PlacementMixin` gives :class:`~loopfind_core.retrieval.session.RetrievalSession` the
start an export writes for a window (:meth:`~PlacementMixin.refined_start_s`). It reads the
session's answers, the query's distance profile and, where the feature track holds it, the
audio, and changes nothing.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate

from loopfind_core.retrieval.candidate import Candidate
from loopfind_core.retrieval.search import suppression_radius

LOOP_MIN_S = 1.0  # windows at least this long are loops: their events go on the loop's phase
PHASE_TOLERANCE = 0.3  # see placed_frame; chosen on data/real/dev loops (docs/results.md)


SAMPLE_SEARCH_S = 0.06  # the sample refinement looks this far either side (2.6 frames), and
#                         never farther than a quarter of the window
SAMPLE_TEMPLATE_MAX_S = 1.0  # at most this much of the query is correlated


def refine_to_sample(samples: np.ndarray, sample_rate_hz: int, query_start_s: float,
                     start_s: float, duration_s: float) -> float:
    """The start, to the sample, of the repetition of the query's audio nearest ``start_s``
    (seconds): the offset within ±:data:`SAMPLE_SEARCH_S` (at most a quarter of the window)
    where the query's waveform (its first :data:`SAMPLE_TEMPLATE_MAX_S` at most) correlates
    best with the track. The correlation is not normalised by the track's energy: a decaying
    periodic sound (a kick) would then match best a few periods late, in its quieter tail.
    ``start_s`` when the search would leave the track."""
    n = int(round(min(duration_s, SAMPLE_TEMPLATE_MAX_S) * sample_rate_hz))
    reach = int(round(min(SAMPLE_SEARCH_S, duration_s / 4) * sample_rate_hz))
    query_at = int(round(query_start_s * sample_rate_hz))
    near = int(round(start_s * sample_rate_hz))
    low = near - reach
    if n < 2 or low < 0 or near + reach + n > len(samples) or query_at + n > len(samples):
        return start_s
    template = np.asarray(samples[query_at: query_at + n], dtype=np.float64)
    region = np.asarray(samples[low: near + reach + n], dtype=np.float64)
    dots = correlate(region, template, mode="valid", method="fft")
    return (low + int(np.argmax(dots))) / sample_rate_hz


class PlacementMixin:
    """Event placement of a :class:`RetrievalSession` (see the module docstring)."""

    def refined_start_s(self, candidate: Candidate) -> float:
        """The candidate's start in seconds, finer than a frame (23 ms).

        A repetition lies a whole number of samples after the query, so its start is the
        query's exact start plus the offset between the two windows. That offset is read off
        the query's distance profile to sub-frame precision: the parabola through the distances
        at the candidate's frame and its two neighbours has its minimum at frame + δ,
        δ = (D₋ − D₊) / (2·(D₋ − 2·D₀ + D₊)), kept within ±½ frame. The query itself returns its
        exact start. A loop's window is first placed on the phase of the confirmed ones
        (:meth:`placed_frame`); where the track holds its audio, the start is then moved to
        the sample (:func:`refine_to_sample`).
        """
        frame = self.placed_frame(candidate)
        if frame == self.query_frame:
            return self.query_start_s
        profile = self._profile(self.query_frame)
        delta = 0.0
        if 0 < frame < len(profile) - 1:
            before, here, after = (float(profile[frame + k]) for k in (-1, 0, 1))
            curvature = before - 2.0 * here + after
            if curvature > 0:
                delta = min(0.5, max(-0.5, 0.5 * (before - after) / curvature))
        offset_frames = frame + delta - self.query_frame
        start_s = self.query_start_s + offset_frames / self.features.frame_rate_hz
        track = self.features
        if track.samples is None or not track.sample_rate_hz:
            return start_s
        return refine_to_sample(track.samples, track.sample_rate_hz, self.query_start_s,
                                start_s, self.query.duration_s)

    def placed_frame(self, candidate: Candidate) -> int:
        """The start frame an event of ``candidate`` is placed at. A window of a loop (at
        least :data:`LOOP_MIN_S`) can sound like the loop a part of it off — a bar, or half
        the loop, into one occurrence and on into the next — so it is moved to the nearest
        start a whole number of window lengths from the nearest confirmed occurrence (the
        query included), where the query's own distance there is as good within
        :data:`PHASE_TOLERANCE` of (the track's median − the window's) and no confirmed
        occurrence lies within half a window. Shorter windows (samples) stay where they
        are."""
        placed = self._placements()
        if candidate.start_frame in placed:
            return placed[candidate.start_frame]
        return self._phase_of(candidate.start_frame, [self.query_frame, *placed.values()])

    def _placements(self) -> dict[int, int]:
        """Confirmed window start → its placed start, placing each on the phase of the query
        and of those confirmed before it."""
        key = tuple(a.candidate.start_frame for a in self._history if a.is_match)
        if self._placed_cache[0] != key:
            placed: dict[int, int] = {}
            for start in key:
                placed[start] = self._phase_of(start, [self.query_frame, *placed.values()])
            self._placed_cache = (key, placed)
        return self._placed_cache[1]

    def _phase_of(self, frame: int, anchors: list[int]) -> int:
        """See :meth:`placed_frame`."""
        length = self.window_frames
        if frame in anchors or self.query.duration_s < LOOP_MIN_S:
            return frame
        anchor = min(anchors, key=lambda a: abs(a - frame))
        start = anchor + round((frame - anchor) / length) * length
        profile = self._profile(self.query_frame)
        if abs(start - frame) <= 1 or not 0 <= start < len(profile):
            return frame
        if any(abs(start - a) < suppression_radius(length) for a in anchors):
            return frame
        here = float(profile[frame])
        allowed_worse = PHASE_TOLERANCE * max(self._typical_distance() - here, 0.0)
        return start if float(profile[start]) <= here + allowed_worse else frame
