"""Fit the match model (:mod:`loopfind_core.retrieval.calibration`) on a dataset's ground truth.

Every sound is hunted from its first occurrence with the app's method (features, whitening,
strategy, the adaptive review's pages; :data:`~loopfind_core.retrieval.defaults.APP_HUNT`) by
the simulated user of :mod:`loopfind_core.corpus.truth`, without the expected-matches stop and
with a longer patience in a row (:data:`CALIBRATION_PATIENCE`), so the model also sees the
states a hunt reaches late. Before each look (one answer, or one page), the evidence about
**every window the hunt could still propose** (:meth:`RetrievalSession.open_starts`) is kept
with the truth's verdict on it at that moment: the :data:`KEEP_BEST` best windows all, and
:data:`KEEP_REST` of the others drawn at random, weighted by how many they stand for. The
model is an L2-penalised weighted logistic regression (BFGS) on them, so the sum of its
probabilities over all open windows is the expected number of matches left (the adaptive
review's stop). Fit it on the real corpus's training split, never on the songs it is
evaluated on (``loopfind calibrate --data data/real/train``); ``--by-package`` reports how it
holds on packages it was not fitted on (leave one package out).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize

from loopfind_core.base.audio import load_audio
from loopfind_core.base.errors import DatasetError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.dataset import SoundTruth, read_dataset
from loopfind_core.corpus.truth import TruthJudge, matching_occurrence
from loopfind_core.research.feature_cache import features_cached
from loopfind_core.retrieval.calibration import MatchModel, sigmoid
from loopfind_core.retrieval.defaults import APP_HUNT
from loopfind_core.retrieval.search import WindowSearch
from loopfind_core.retrieval.session import RetrievalSession, query_window_frames

CALIBRATION_PATIENCE = 8  # rejections in a row per hunt while collecting evidence
L2_PENALTY = 1e-3  # on the weights, per unit of weight summed
KEEP_BEST = 40  # open windows kept at each look, best first
KEEP_REST = 40  # of the other open windows, drawn at random per look
SEED = 0


@dataclass(frozen=True)
class WindowEvidence:
    """Open windows at the looks of one dataset's hunts: evidence rows, verdicts, weights."""

    vectors: np.ndarray  # (n, len(EVIDENCE_NAMES))
    is_match: np.ndarray  # (n,) bool: the truth's verdict when the evidence was taken
    weights: np.ndarray  # (n,) how many open windows each row stands for
    files: np.ndarray  # (n,) the audio file each row came from (for leave-one-out)
    categories: np.ndarray  # (n,) "sample" or "loop"

    def subset(self, keep: np.ndarray) -> WindowEvidence:
        return WindowEvidence(self.vectors[keep], self.is_match[keep], self.weights[keep],
                              self.files[keep], self.categories[keep])


def hunt_evidence(session: RetrievalSession, sound: SoundTruth,
                  rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray],
                                                     list[np.ndarray]]:
    """Hunt ``sound`` (the session queries its first occurrence), answering from the truth;
    before each look keep evidence, verdicts and weights of the open windows."""
    judge = TruthJudge(sound.occurrences, 0)
    vectors, verdicts, weights = [], [], []
    while page := session.next_page():
        starts = session.open_starts()
        keep, weight = _drawn(len(starts), rng)
        kept = starts[torch.as_tensor(keep, dtype=torch.long)]
        vectors.append(session.window_evidence(kept))
        verdicts.append(np.array([
            matching_occurrence(session.window_at(int(s)), sound.occurrences, judge.unfound,
                                judge.needed_s) is not None for s in kept.tolist()]))
        weights.append(weight)
        decisions = [(w.candidate, judge.judge(w.candidate, session)) for w in page]
        if len(decisions) == 1:
            session.answer(decisions[0][1])
        else:
            session.answer_batch(decisions)
    return vectors, verdicts, weights


def _drawn(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the open windows kept (the best :data:`KEEP_BEST`, then :data:`KEEP_REST`
    drawn from the rest) and the weight of each."""
    best = np.arange(min(n, KEEP_BEST))
    rest = n - len(best)
    if rest <= KEEP_REST:
        return np.arange(n), np.ones(n)
    drawn = KEEP_BEST + rng.choice(rest, KEEP_REST, replace=False)
    return (np.concatenate([best, np.sort(drawn)]),
            np.concatenate([np.ones(len(best)), np.full(KEEP_REST, rest / KEEP_REST)]))


def collect_evidence(root: str | Path, checkpoint: str | None = None,
                     progress: ProgressCallback = no_progress,
                     feature_cache: str | Path | None = None) -> WindowEvidence:
    """Evidence about the open windows of every sound of a dataset folder, hunted the app's
    way (see the module docstring)."""
    dataset = read_dataset(root)
    by_file: dict[str, list[SoundTruth]] = defaultdict(list)
    for sound in dataset.sounds():
        if len(sound.occurrences) >= 2:
            by_file[sound.file].append(sound)
    if not by_file:
        raise DatasetError(f"{root} has no sound with two occurrences to calibrate on.")
    review = replace(APP_HUNT.review, stop_below_expected=0.0)
    rng = np.random.default_rng(SEED)
    rows: dict[str, list] = defaultdict(list)
    for done, (file, sounds) in enumerate(by_file.items()):
        progress(done, len(by_file), file)
        track = features_cached(load_audio(dataset.path_of(file)), APP_HUNT.kind,
                                APP_HUNT.whiten, feature_cache, checkpoint=checkpoint)
        searches: dict[int, WindowSearch] = {}
        for sound in sounds:
            query = sound.occurrences[0]
            _, frames = query_window_frames(track, query.start_s, query.duration_s)
            search = searches.setdefault(frames, WindowSearch(track.values, frames))
            session = RetrievalSession(track, query.start_s, query.duration_s,
                                       CALIBRATION_PATIENCE, APP_HUNT.strategy, search=search,
                                       review=review)
            vectors, verdicts, weights = hunt_evidence(session, sound, rng)
            for v, y, w in zip(vectors, verdicts, weights):
                rows["vectors"].append(v)
                rows["is_match"].append(y)
                rows["weights"].append(w)
                rows["files"].append(np.full(len(y), file, dtype=object))
                rows["categories"].append(np.full(len(y), sound.category, dtype=object))
    progress(len(by_file), len(by_file), "collected")
    return WindowEvidence(*(np.concatenate(rows[k]) for k in
                            ("vectors", "is_match", "weights", "files", "categories")))


def fit_match_model(evidence: WindowEvidence, fitted_on: str = "") -> MatchModel:
    """The weighted, L2-penalised logistic regression of the verdicts on the evidence."""
    if len(evidence.is_match) == 0 or len(set(evidence.is_match.tolist())) < 2:
        raise DatasetError("Calibration needs answers of both kinds, yes and no.")
    x, y, w = evidence.vectors, evidence.is_match.astype(float), evidence.weights

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta
        p = sigmoid(z)
        loss = float(np.sum(w * (np.logaddexp(0.0, z) - y * z)) + L2_PENALTY * theta @ theta)
        return loss, x.T @ (w * (p - y)) + 2.0 * L2_PENALTY * theta

    result = minimize(loss_and_gradient, np.zeros(x.shape[1]), jac=True, method="BFGS")
    return MatchModel(tuple(float(t) for t in result.x), fitted_on, len(y))


@dataclass(frozen=True)
class CalibrationBin:
    """Windows whose predicted probability fell in [low, high)."""

    low: float
    high: float
    n_windows: float  # weighted: the open windows they stand for
    predicted: float  # mean predicted probability
    observed: float  # share that were the sound


RELIABILITY_EDGES = (0.0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001)


def reliability(model: MatchModel, evidence: WindowEvidence,
                edges: Sequence[float] = RELIABILITY_EDGES) -> list[CalibrationBin]:
    """The reliability table of ``model`` on ``evidence``: predicted against observed,
    weighted by the open windows each row stands for."""
    p = sigmoid(model.logits(evidence.vectors))
    y, w = evidence.is_match.astype(float), evidence.weights
    bins = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (p >= low) & (p < high)
        if inside.any():
            weight = float(w[inside].sum())
            bins.append(CalibrationBin(low, min(high, 1.0), weight,
                                       float((w * p)[inside].sum() / weight),
                                       float((w * y)[inside].sum() / weight)))
    return bins


def leave_one_group_out(evidence: WindowEvidence, group_of: Callable[[str], str]
                        ) -> dict[str, list[CalibrationBin]]:
    """For each group of files (e.g. a Debian package): the model fitted on the other
    groups' evidence, judged on this group's (:func:`reliability`)."""
    groups = np.array([group_of(f) for f in evidence.files], dtype=object)
    tables = {}
    for group in sorted(set(groups.tolist())):
        held = groups == group
        model = fit_match_model(evidence.subset(~held))
        tables[group] = reliability(model, evidence.subset(held))
    return tables
