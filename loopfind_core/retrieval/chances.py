"""How likely a window is the sound: the session's calibrated chances.

:class:`ChanceMixin` gives :class:`~loopfind_core.retrieval.session.RetrievalSession` what it
knows about a window (:class:`~loopfind_core.retrieval.calibration.MatchEvidence`), the
shipped match model's log-odds of it, the model adapted to the hunt's own answers
(:class:`~loopfind_core.retrieval.calibration.AdaptedModel`), the chance of each window, the
expected number of matches among every window not judged yet, and the auto-accept estimate.
It reads the session's state (answers, scores, distance profiles) and changes none of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from loopfind_core.retrieval.calibration import (
    AdaptedModel,
    MatchEvidence,
    adapt_model,
    evidence_vectors,
    shipped_match_model,
)
from loopfind_core.retrieval.candidate import Candidate
from loopfind_core.retrieval.placement import LOOP_MIN_S
from loopfind_core.retrieval.review import local_minimum_starts
from loopfind_core.retrieval.search import coverage_share, suppression_radius


class ChanceMixin:
    """The calibrated chances of a :class:`RetrievalSession` (see the module docstring)."""

    # ----- how likely a window is the sound (calibrated) -----
    def match_evidence(self, candidate: Candidate) -> MatchEvidence:
        """What the session knows about ``candidate`` now (see :class:`MatchEvidence`)."""
        return self._match_evidences([candidate])[0]

    def _match_evidences(self, candidates: Sequence[Candidate]) -> list[MatchEvidence]:
        """:meth:`match_evidence` of several windows, the state's part computed once."""
        frames = [c.start_frame for c in candidates]
        state, per_window = self._evidence_parts(torch.tensor(frames))
        return [MatchEvidence(float(sim), float(rel), *state[:4], float(near), state[4],
                              float(cover), float(phase), int(rank))
                for sim, rel, near, cover, phase, rank in zip(*per_window)]

    def _evidence_parts(self, frames: torch.Tensor):
        """What :class:`MatchEvidence` holds for the windows starting at ``frames``: the
        state's part (found, rejected, last was yes, duration, spread) and, per window, the
        similarity, the relative score, the distance to the nearest positive, the share the
        confirmed windows cover, the phase offset and the rank among the open windows
        (arrays, in that order)."""
        scores = self.scores()
        found = [c.start_frame for c in self.found]
        positive_frames = [self.query_frame] + found
        positive = float(scores[positive_frames].mean())
        spread = max(float(scores.median()) - positive, 1e-12)
        typical = max(self._typical_distance(), 1e-12)
        query_profile = self._profile(self.query_frame)
        reach = max((float(query_profile[f]) for f in found), default=0.0)
        frames = frames.to(scores.device)
        nearest = torch.stack([self._profile(p) for p in positive_frames])[:, frames].amin(dim=0)
        similarity = (1.0 - query_profile[frames] / typical).clamp(0.0, 1.0)
        last_was_yes = bool(self._history) and self._history[-1].is_match
        state = (len(found), len(self.rejected), last_was_yes, self.query.duration_s,
                 reach / typical)
        placed = [self.query_frame, *self._placements().values()]
        covered = self._per_state("coverage", lambda: coverage_share(
            len(scores), self.window_frames, placed, scores.device))[frames]
        open_scores = self._per_state("open scores",
                                      lambda: scores[self.open_starts()].sort().values)
        rank = 1 + torch.searchsorted(open_scores, scores[frames].contiguous())
        return state, tuple(x.double().cpu().numpy() for x in (
            similarity, (scores[frames] - positive) / spread, nearest / typical, covered,
            self._phase_offsets(frames, placed), rank))

    def _phase_offsets(self, frames: torch.Tensor, anchors: list[int]) -> torch.Tensor:
        """For a loop's windows (at least ``LOOP_MIN_S``): how far each start lies off the
        whole-window grid of its nearest anchor, in window lengths (0…½); 0 for shorter."""
        if self.query.duration_s < LOOP_MIN_S:
            return torch.zeros(len(frames), dtype=torch.float64)
        starts = frames.double().cpu()
        anchors_t = torch.tensor(anchors, dtype=torch.float64)
        nearest = anchors_t[(starts[:, None] - anchors_t[None, :]).abs().argmin(dim=1)]
        steps = (starts - nearest) / self.window_frames
        return (steps - steps.round()).abs()

    def _logits(self, frames: torch.Tensor) -> np.ndarray:
        """The shipped model's log-odds of the windows starting at ``frames``, now."""
        model = self._match_model or shipped_match_model()
        return model.logits(self.window_evidence(frames))

    def adapted_model(self) -> AdaptedModel:
        """The match model recalibrated by every answer of this hunt (automatic accepts
        excluded: the user did not judge them)."""
        judged = [(z, a.is_match) for z, a in zip(self._shown_logits, self._history)
                  if not a.auto]
        if not judged:
            return AdaptedModel()
        logits, answers = zip(*judged)
        return adapt_model(np.array(logits), np.array(answers))

    def answer_chances(self) -> dict[int, float]:
        """Window start frame → the adapted chance it had when shown, for every answer."""
        chances = self.adapted_model().chances(np.array(self._shown_logits))
        return {a.candidate.start_frame: float(p) for a, p in zip(self._history, chances)}

    def chances(self, candidates: Sequence[Candidate]) -> np.ndarray:
        """The adapted calibrated probability that each window is the sound, 0…1."""
        if not candidates:
            return np.zeros(0)
        frames = torch.tensor([c.start_frame for c in candidates])
        return self.adapted_model().chances(self._logits(frames))

    def expected_matches(self) -> tuple[float, float, float]:
        """The expected number of matches among every window not judged yet (each best
        window of its neighbourhood that a hunt could still propose: the sum of their adapted
        chances), with the low and high ends of its 90 % range."""
        starts = self.open_starts()
        if len(starts) == 0:
            return 0.0, 0.0, 0.0
        model = self.adapted_model()
        logits = self._logits(starts)
        low, high = model.chance_range(logits)
        return float(model.chances(logits).sum()), float(low.sum()), float(high.sum())

    def match_probability(self, candidate: Candidate) -> float:
        """The adapted calibrated probability that ``candidate`` is an occurrence, 0…1."""
        return float(self.chances([candidate])[0])

    def precision_estimate(self, threshold: float) -> tuple[float, int]:
        """The precision :meth:`auto_accept` at ``threshold`` would have, and how many windows
        it would accept: the mean adapted chance (:meth:`chances`) of exactly the windows it
        would take; (nan, 0) when it would accept nothing. Changes no state."""
        chances = self.chances(self._confident_windows(threshold))
        return (float(np.mean(chances)) if len(chances) else math.nan), len(chances)

    def precision_range(self, threshold: float) -> tuple[float, float]:
        """The low and high ends (the middle 90 % of the adapted model's uncertainty) of
        :meth:`precision_estimate`; (nan, nan) when auto-accept would take nothing."""
        windows = self._confident_windows(threshold)
        if not windows:
            return math.nan, math.nan
        logits = self._logits(torch.tensor([c.start_frame for c in windows]))
        low, high = self.adapted_model().chance_range(logits)
        return float(np.mean(low)), float(np.mean(high))

    def open_starts(self) -> torch.Tensor:
        """The start frames of every window a hunt could still propose, each the best of its
        neighbourhood (:func:`~loopfind_core.retrieval.review.local_minimum_starts`), best
        first."""
        return self._per_state("open", lambda: local_minimum_starts(
            self.scores(), self._allowed(), suppression_radius(self.window_frames)))

    def window_evidence(self, frames: torch.Tensor) -> np.ndarray:
        """The match model's inputs for the windows starting at ``frames`` now, shape
        (len(frames), len(EVIDENCE_NAMES)) (what ``calibrate`` fits the model on)."""
        state, (similarity, relative, nearest, covered, phase, rank) = \
            self._evidence_parts(frames)
        found, rejected, last_was_yes, duration_s, spread = state
        return evidence_vectors(similarity, relative, nearest, found, rejected, last_was_yes,
                                duration_s, spread, covered, phase, rank)

    def _logit_before(self, index: int) -> float:
        """The log-odds answer ``index`` had when it was shown: under the answers before it,
        or before its page (a page is shown at once)."""
        first, page = index, self._history[index].page
        while page is not None and first > 0 and self._history[first - 1].page == page:
            first -= 1
        history = self._history
        self._history = history[:first]
        try:
            return float(self._logits(torch.tensor([history[index].candidate.start_frame]))[0])
        finally:
            self._history = history

