"""Research switches of the session, measured and kept off in the product (docs/results.md).

:class:`ResearchSession` is a :class:`~loopfind_core.retrieval.session.RetrievalSession` with
two extra knobs that ``evaluate`` can still turn on:

- ``beat_prior`` λ ≥ 0 (docs/results.md §6.1; 0 = off): every score gets
  + λ · s · (2·Δφ)², where Δφ ∈ [0, ½] is how far the window's start lies from the query's phase
  on the beat grid (in beats, wrapped) and s the query's median distance — loops and samples in
  electronic music recur at the same beat phase. It did not win on both categories.
- ``speed_variants`` (docs/results.md §6.6; () = off), e.g. (−6, −3, 3, 6) percent: the query
  is matched also as it would sound that much faster or slower, and the closest variant counts
  (:func:`variant_profile`); confirmed occurrences, which carry their own speed, are matched as
  they are. No gain on normal or stressed corpora.

With both off a ResearchSession proposes exactly what a RetrievalSession does.
"""


from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.features.track import FeatureTrack
from loopfind_core.retrieval.search import WindowSearch
from loopfind_core.retrieval.session import RetrievalSession

MAX_SPEED_VARIANT_PERCENT = 25.0  # beyond ±25 % a sound is played at another groove
MAX_SPEED_VARIANTS = 8  # each costs one FFT distance profile, once per session


def speed_factors(speed_variants_percent: Sequence[float]) -> tuple[float, ...]:
    """Playback speeds of the query's variants: 1 (itself) and 1 + p/100 for every
    distinct non-zero p in ``speed_variants_percent`` (percent, e.g. (−6, −3, 3, 6)).

    Raises:
        SelectionError: a value is not a number, or beyond ±MAX_SPEED_VARIANT_PERCENT, or
            there are more than MAX_SPEED_VARIANTS.
    """
    try:
        percents = sorted({float(p) for p in speed_variants_percent} - {0.0})
    except (TypeError, ValueError):
        raise SelectionError("Speed variants must be numbers of percent, e.g. -6,-3,3,6, not "
                             f"{speed_variants_percent!r}.") from None
    for p in percents:
        if not (math.isfinite(p) and abs(p) <= MAX_SPEED_VARIANT_PERCENT):
            raise SelectionError(
                f"A speed variant must be within ±{MAX_SPEED_VARIANT_PERCENT:g} %, not {p}."
            )
    if len(percents) > MAX_SPEED_VARIANTS:
        raise SelectionError(
            f"At most {MAX_SPEED_VARIANTS} speed variants, not {len(percents)}."
        )
    return (1.0, *(1.0 + p / 100.0 for p in percents))


def variant_profile(search: WindowSearch, start_frame: int,
                    speeds: Sequence[float]) -> torch.Tensor:
    """min over ``speeds`` of the distance profile (mean squared distance per frame, shape
    (n_starts,)) to the window at ``start_frame`` played at that speed; speed 1 is the plain
    :meth:`WindowSearch.distance_profile`."""
    profiles = [search.distance_profile(start_frame) if speed == 1.0
                else search.template_profile(search.warped_window(start_frame, speed))
                for speed in speeds]
    return torch.stack(profiles).amin(dim=0)


def beat_phase_penalty(beats: BeatGrid, query_frame: int, n_starts: int,
                       frame_rate_hz: float, device: torch.device) -> torch.Tensor:
    """(2·Δφ)² ∈ [0, 1] per start frame, shape (n_starts,): Δφ is the distance, in beats and
    wrapped to [0, ½], between a start's phase on the beat grid and the query start's phase."""
    positions = beats.beat_positions(np.arange(n_starts) / frame_rate_hz)
    phase = positions - np.floor(positions)
    delta = np.abs(phase - phase[min(query_frame, n_starts - 1)])
    delta = np.minimum(delta, 1.0 - delta)
    return torch.as_tensor((2.0 * delta) ** 2, dtype=torch.float32, device=device)


class ResearchSession(RetrievalSession):
    """A :class:`RetrievalSession` with the research switches (see the module docstring).

    Args:
        beats: the track's beat grid, for ``beat_prior``.
        beat_prior: λ ≥ 0 of the beat-phase prior (0 = off).
        speed_variants: playback-speed changes in percent (() = off); costs one FFT distance
            profile per variant, once.
        Every other argument as :class:`RetrievalSession`.
    """

    def __init__(self, track_features: FeatureTrack, start_s: float, duration_s: float,
                 *args, beats: BeatGrid | None = None, beat_prior: float = 0.0,
                 speed_variants: Sequence[float] = (), **options) -> None:
        super().__init__(track_features, start_s, duration_s, *args, **options)
        if beat_prior < 0 or not math.isfinite(beat_prior):
            raise SelectionError(f"beat_prior must be a number ≥ 0, not {beat_prior}.")
        self.beat_prior = float(beat_prior)
        search = self._search
        self._phase_penalty = (
            beat_phase_penalty(beats, self.query_frame, search.n_starts,
                               track_features.frame_rate_hz, search.device)
            if beat_prior > 0 and beats is not None and beats.has_beats else None
        )
        self.speeds = speed_factors(speed_variants)
        self._variant_profile: torch.Tensor | None = None  # the query's, least over speeds

    def _query_profile(self) -> torch.Tensor:
        """The query's distance profile: least over its speed variants (computed once)."""
        if len(self.speeds) == 1:
            return super()._query_profile()
        if self._variant_profile is None:
            self._variant_profile = variant_profile(self._search, self.query_frame, self.speeds)
        return self._variant_profile

    def scores(self) -> torch.Tensor:
        score = super().scores()
        if self._phase_penalty is not None:
            score = score + self.beat_prior * self._typical_distance() * self._phase_penalty
        return score
