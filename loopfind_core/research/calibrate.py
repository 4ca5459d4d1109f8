"""Fit the match model (:mod:`loopfind_core.retrieval.calibration`) on a dataset's ground truth.

Every sound is hunted from its first occurrence with the app's method (features, whitening,
strategy; :data:`~loopfind_core.retrieval.defaults.APP_HUNT`), by the simulated user of
:mod:`loopfind_core.corpus.truth`, with a longer patience (:data:`CALIBRATION_PATIENCE`), so
the model also sees the windows a hunt reaches late. Before each answer the session's
:class:`~loopfind_core.retrieval.calibration.MatchEvidence` about the proposal is kept with the
truth's answer; a logistic regression (L2 penalty :data:`L2_PENALTY`, BFGS) on
them is the model. Fit it on the real corpus's training split, never on the songs it is
evaluated on (``loopfind calibrate --data data/real/train``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from loopfind_core.base.audio import load_audio
from loopfind_core.base.errors import DatasetError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.dataset import SoundTruth, read_dataset
from loopfind_core.corpus.truth import TruthJudge
from loopfind_core.features.registry import extract_features
from loopfind_core.retrieval.calibration import MatchEvidence, MatchModel
from loopfind_core.retrieval.defaults import APP_HUNT
from loopfind_core.retrieval.search import WindowSearch
from loopfind_core.retrieval.session import RetrievalSession, query_window_frames

CALIBRATION_PATIENCE = 10  # rejections per hunt while collecting evidence
L2_PENALTY = 1e-3  # on the weights, per answer summed


@dataclass(frozen=True)
class LabelledEvidence:
    evidence: MatchEvidence
    is_match: bool
    category: str  # the sound's, for reports


def hunt_evidence(session: RetrievalSession, sound: SoundTruth) -> list[LabelledEvidence]:
    """Answer ``session`` (on the sound's first occurrence) from the truth; keep the evidence
    about each proposal with its answer."""
    judge = TruthJudge(sound.occurrences, 0)
    kept = []
    while (candidate := session.propose()) is not None:
        evidence = session.match_evidence(candidate)
        yes = judge.judge(candidate, session)
        kept.append(LabelledEvidence(evidence, yes, sound.category))
        session.answer(yes)
    return kept


def collect_evidence(root: str | Path, checkpoint: str | None = None,
                     progress: ProgressCallback = no_progress) -> list[LabelledEvidence]:
    """Evidence and answers of every sound of a dataset folder, hunted the app's way."""
    dataset = read_dataset(root)
    by_file: dict[str, list[SoundTruth]] = defaultdict(list)
    for sound in dataset.sounds():
        if len(sound.occurrences) >= 2:
            by_file[sound.file].append(sound)
    if not by_file:
        raise DatasetError(f"{root} has no sound with two occurrences to calibrate on.")
    kept: list[LabelledEvidence] = []
    for done, (file, sounds) in enumerate(by_file.items()):
        progress(done, len(by_file), file)
        track = extract_features(load_audio(dataset.path_of(file)), APP_HUNT.kind,
                                 whiten=APP_HUNT.whiten, checkpoint=checkpoint)
        searches: dict[int, WindowSearch] = {}
        for sound in sounds:
            query = sound.occurrences[0]
            _, frames = query_window_frames(track, query.start_s, query.duration_s)
            search = searches.setdefault(frames, WindowSearch(track.values, frames))
            session = RetrievalSession(track, query.start_s, query.duration_s,
                                       CALIBRATION_PATIENCE, APP_HUNT.strategy, search=search)
            kept += hunt_evidence(session, sound)
    progress(len(by_file), len(by_file), "fitted")
    return kept


def fit_match_model(samples: Sequence[LabelledEvidence], fitted_on: str = "") -> MatchModel:
    """The L2-penalised logistic regression of the answers on the evidence."""
    if not samples or len({s.is_match for s in samples}) < 2:
        raise DatasetError("Calibration needs answers of both kinds, yes and no.")
    x = np.stack([s.evidence.vector() for s in samples])
    y = np.array([s.is_match for s in samples], dtype=float)

    def loss_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z), stable
        loss = float(np.sum(np.logaddexp(0.0, z) - y * z) + L2_PENALTY * w @ w)
        return loss, x.T @ (p - y) + 2.0 * L2_PENALTY * w

    result = minimize(loss_and_gradient, np.zeros(x.shape[1]), jac=True, method="BFGS")
    return MatchModel(tuple(float(w) for w in result.x), fitted_on, len(samples))


@dataclass(frozen=True)
class CalibrationBin:
    """Answers whose predicted probability fell in [low, high)."""

    low: float
    high: float
    n_answers: int
    predicted: float  # mean predicted probability
    observed: float  # share of yes


def reliability(model: MatchModel, samples: Sequence[LabelledEvidence],
                edges: Sequence[float] = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001)
                ) -> list[CalibrationBin]:
    """The reliability table of ``model`` on ``samples``: predicted against observed."""
    p = np.array([model.probability(s.evidence) for s in samples])
    y = np.array([s.is_match for s in samples], dtype=float)
    bins = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (p >= low) & (p < high)
        if inside.any():
            bins.append(CalibrationBin(low, min(high, 1.0), int(inside.sum()),
                                       float(p[inside].mean()), float(y[inside].mean())))
    return bins
