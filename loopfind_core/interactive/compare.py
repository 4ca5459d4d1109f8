"""Feature kinds side by side for one query: what a researcher shows (the app's Compare page).

For one query window and several feature tracks of the same audio:

- :func:`distance_curve` — the query's distance to every window of the track, divided by its
  median so kinds with different units share one axis (1 = a typical window);
- :func:`ranked_proposals` and :func:`occurrence_ranks` — where each true occurrence comes in
  the order a search with no answers would propose windows (1 = first proposal);
- :func:`self_similarity` — a downsampled frame-by-frame cosine self-similarity matrix;
- :func:`simulated_recalls` — the recall a simulated user reaches with each kind and strategy,
  when the track has ground truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from loopfind_core.corpus.dataset import Occurrence, SoundTruth
from loopfind_core.corpus.truth import MATCH_OVERLAP_FRACTION, overlap_s, simulate_user
from loopfind_core.features.track import FeatureTrack
from loopfind_core.retrieval.search import WindowSearch, allowed_starts, best_allowed_start
from loopfind_core.retrieval.session import (
    DEFAULT_PATIENCE,
    STRATEGIES,
    RetrievalSession,
    query_window_frames,
)

MAX_RANKED_PROPOSALS = 200  # ranks beyond this are reported as "not in the first 200"
SELF_SIMILARITY_SIZE = 240  # cells per side of the self-similarity matrix


@dataclass(frozen=True)
class DistanceCurve:
    """One kind's distance from the query window to every window of the track."""

    kind: str
    frame_rate_hz: float
    query_frame: int  # the query window's start frame
    window_frames: int  # the window length L in frames
    relative_distance: np.ndarray  # (n_starts,) distance / median distance (1 = typical)

    @property
    def times_s(self) -> np.ndarray:
        """(n_starts,) window start times in seconds."""
        return np.arange(len(self.relative_distance)) / self.frame_rate_hz

    @property
    def window_s(self) -> float:
        return self.window_frames / self.frame_rate_hz


def distance_curve(track: FeatureTrack, start_s: float, duration_s: float) -> DistanceCurve:
    """The query window's mean squared distance to every window, relative to its median."""
    start, length = query_window_frames(track, start_s, duration_s)
    profile = WindowSearch(track.values, length, device="cpu").distance_profile(start)
    median = float(profile.median()) or 1.0
    return DistanceCurve(track.kind, track.frame_rate_hz, start, length,
                         (profile / median).numpy())


def ranked_proposals(curve: DistanceCurve, limit: int = MAX_RANKED_PROPOSALS) -> list[float]:
    """Start times (seconds) in the order a search with no answers proposes them: the lowest
    distance first, each window overlapping no earlier one (or the query) by over half."""
    scores = torch.from_numpy(np.asarray(curve.relative_distance, dtype=np.float32))
    blocked = [curve.query_frame]
    order: list[float] = []
    for _ in range(limit):
        allowed = allowed_starts(len(scores), curve.window_frames, blocked, scores.device)
        start = best_allowed_start(scores, allowed)
        if start is None:
            break
        blocked.append(start)
        order.append(start / curve.frame_rate_hz)
    return order


def occurrence_ranks(proposals_s: Sequence[float], window_s: float,
                     occurrences: Sequence[Occurrence]) -> list[int | None]:
    """For each occurrence, the 1-based rank of the first proposal covering at least half the
    window of it, or None if no proposal in the list does."""
    ranks: list[int | None] = []
    for occurrence in occurrences:
        rank = next(
            (i + 1 for i, start in enumerate(proposals_s)
             if overlap_s(start, start + window_s, occurrence.start_s, occurrence.end_s)
             >= MATCH_OVERLAP_FRACTION * window_s),
            None,
        )
        ranks.append(rank)
    return ranks


def self_similarity(track: FeatureTrack, size: int = SELF_SIMILARITY_SIZE) -> np.ndarray:
    """(size, size) cosine similarity between segments: frames averaged into ``size`` equal
    segments (fewer for a short track), each dimension centred over the track first."""
    values = track.values - track.values.mean(axis=0, keepdims=True)
    size = max(1, min(size, len(values)))
    bounds = np.linspace(0, len(values), size + 1).astype(int)
    segments = np.add.reduceat(values, bounds[:-1], axis=0) / np.diff(bounds)[:, None]
    norms = np.linalg.norm(segments, axis=1, keepdims=True) + 1e-9
    unit = segments / norms
    return (unit @ unit.T).astype(np.float32)


@dataclass(frozen=True)
class SimulatedRecall:
    kind: str
    strategy: str
    found: int
    total: int  # occurrences other than the query
    answers: int

    @property
    def recall(self) -> float:
        return self.found / self.total if self.total else 1.0


def simulated_recalls(
    tracks: Mapping[str, FeatureTrack], sound: SoundTruth, query_index: int,
    patience: int = DEFAULT_PATIENCE, strategies: Sequence[str] = STRATEGIES,
) -> list[SimulatedRecall]:
    """A simulated user hunting ``sound`` from occurrence ``query_index`` with each feature kind
    and strategy, answering from the ground truth (the protocol of ``evaluate``)."""
    query = sound.occurrences[query_index]
    results = []
    for kind, track in tracks.items():
        for strategy in strategies:
            session = RetrievalSession(track, query.start_s, query.duration_s, patience,
                                       strategy, device="cpu")
            hunt = simulate_user(session, sound.occurrences, query_index)
            results.append(SimulatedRecall(kind, strategy, hunt.found,
                                           len(sound.occurrences) - 1, hunt.answers))
    return results
