"""How likely a window is the sound: a calibrated probability for every window of a hunt.

A session knows more about a window than its similarity to the query: how it scores under the
``active`` rule next to the occurrences already confirmed, its rank among the windows still
open, how much of it the confirmed windows cover, a loop's phase, and how the hunt has gone so
far. :class:`MatchEvidence` gathers that; :class:`MatchModel`, a logistic model over it, turns
it into the probability that the window is an occurrence. The model ships as
``match_model.json`` beside this module, fitted by ``loopfind calibrate`` on every window the
hunts of the real-music corpus's *training* split could still propose, answered from its
ground truth (docs/results.md), never on the songs it is evaluated on.

Within a hunt the model is adapted to the user's own answers (:func:`adapt_model`,
:class:`AdaptedModel`: a shift and a scale of its log-odds, the shipped model as their prior),
which gives the chance shown for every window, the range shown with auto-accept's estimate,
and the expected number of matches left that ends an adaptive review
(:mod:`loopfind_core.retrieval.review`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from loopfind_core.base.errors import ConfigurationError

MATCH_MODEL_PATH = Path(__file__).with_name("match_model.json")
MAX_RELATIVE_SCORE = 3.0  # the relative score is clipped to [−2, 3]: beyond, nothing changes
MIN_RELATIVE_SCORE = -2.0
EVIDENCE_NAMES = ("bias", "similarity", "relative_score", "log1p_found", "log1p_rejected",
                  "last_was_yes", "log_duration_s", "log_nearest", "log_nearest_over_spread",
                  "covered_share", "phase_offset", "log_rank")
DISTANCE_FLOOR = 0.01  # added to relative distances before their logarithm


@dataclass(frozen=True)
class MatchEvidence:
    """What a session knows about one proposal when it makes it."""

    similarity: float  # RetrievalSession.similarity: 1 − D_query / median D_query, 0…1
    relative_score: float  # (score − mean score of the positives) / (median score − that):
    #                        0 scores like the confirmed occurrences, 1 like a typical window
    n_found: int  # occurrences confirmed so far (the query excluded)
    n_rejected: int  # windows rejected so far
    last_was_yes: bool  # the previous answer was a yes
    duration_s: float  # the query's length, seconds
    nearest: float = 1.0  # distance to the nearest positive / the query's median distance
    spread: float = 0.0  # how far the confirmed occurrences lie from the query, the same unit
    #                      (the largest; 0 before any): a window much farther than that is
    #                      unlikely another one
    covered_share: float = 0.0  # share of the window the confirmed windows cover (0…½)
    phase_offset: float = 0.0  # a loop's window: how far it lies off the whole-loop grid of
    #                            the nearest confirmed occurrence, in loop lengths (0…½);
    #                            0 for shorter windows
    rank: int = 1  # 1 + the open windows that score better (the best window is 1)

    def vector(self) -> np.ndarray:
        """The model's inputs, in the order of :data:`EVIDENCE_NAMES`."""
        relative = min(MAX_RELATIVE_SCORE, max(MIN_RELATIVE_SCORE, self.relative_score))
        return np.array([1.0, self.similarity, relative, math.log1p(self.n_found),
                         math.log1p(self.n_rejected), float(self.last_was_yes),
                         math.log(max(self.duration_s, 1e-3)),
                         math.log(self.nearest + DISTANCE_FLOOR),
                         math.log((self.nearest + DISTANCE_FLOOR)
                                  / (self.spread + DISTANCE_FLOOR)),
                         self.covered_share, self.phase_offset, math.log(self.rank)])


@dataclass(frozen=True)
class MatchModel:
    """P(the window is the sound | evidence) = σ(w · evidence.vector())."""

    weights: tuple[float, ...]  # one per name in EVIDENCE_NAMES
    fitted_on: str = ""  # where the answers came from (a dataset and its method)
    n_answers: int = 0  # answers it was fitted on

    def probability(self, evidence: MatchEvidence) -> float:
        return float(sigmoid(np.array([self.logit(evidence)]))[0])

    def logit(self, evidence: MatchEvidence) -> float:
        """w · evidence.vector(): the log-odds that the window is the sound."""
        return float(np.dot(self.weights, evidence.vector()))

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        """The log-odds of many windows at once, ``vectors`` shaped (n, len(EVIDENCE_NAMES))
        as :func:`evidence_vectors` gives them."""
        return vectors @ np.asarray(self.weights)

    def save(self, path: str | Path) -> None:
        record = {"evidence": list(EVIDENCE_NAMES), **asdict(self)}
        Path(path).write_text(json.dumps(record, indent=2) + "\n")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z), elementwise, without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def evidence_vectors(similarity: np.ndarray, relative_score: np.ndarray, nearest: np.ndarray,
                     n_found: int, n_rejected: int, last_was_yes: bool, duration_s: float,
                     spread: float, covered_share: np.ndarray | None = None,
                     phase_offset: np.ndarray | None = None,
                     rank: np.ndarray | None = None) -> np.ndarray:
    """:meth:`MatchEvidence.vector` of many windows of one hunt state at once, shape
    (n, len(EVIDENCE_NAMES)); the per-window inputs are arrays of length n."""
    n = len(similarity)
    relative = np.clip(relative_score, MIN_RELATIVE_SCORE, MAX_RELATIVE_SCORE)
    log_nearest = np.log(np.asarray(nearest, dtype=np.float64) + DISTANCE_FLOOR)
    return np.column_stack([
        np.ones(n), similarity, relative, np.full(n, math.log1p(n_found)),
        np.full(n, math.log1p(n_rejected)), np.full(n, float(last_was_yes)),
        np.full(n, math.log(max(duration_s, 1e-3))), log_nearest,
        log_nearest - math.log(spread + DISTANCE_FLOOR),
        np.zeros(n) if covered_share is None else covered_share,
        np.zeros(n) if phase_offset is None else phase_offset,
        np.zeros(n) if rank is None else np.log(np.maximum(rank, 1))])


ADAPT_PRIOR_SD = (1.0, 0.5)  # prior sd of the hunt's own shift and scale of the log-odds
ADAPT_NEWTON_STEPS = 8
CHANCE_Z = 1.64  # a shown range covers the middle 90 % of the adapted log-odds' uncertainty


@dataclass(frozen=True)
class AdaptedModel:
    """The shipped model recalibrated to one hunt by the user's own answers.

    P(match) = σ(a + b·z), z the shipped model's log-odds. (a, b) has the prior N(0, 1²) ×
    N(1, 0.5²) — the shipped model as it is — and is updated by every window the user judged,
    with the log-odds it had when shown: the maximum a posteriori (a, b) by Newton steps, and
    its Laplace covariance for the range of a chance. A hunt whose answers disagree with the
    shipped model (music unlike the training songs) moves (a, b) within a few answers.
    """

    shift: float = 0.0  # a
    scale: float = 1.0  # b
    covariance: tuple[float, float, float] = (ADAPT_PRIOR_SD[0] ** 2, 0.0,
                                              ADAPT_PRIOR_SD[1] ** 2)  # var a, cov ab, var b

    def chances(self, logits: np.ndarray) -> np.ndarray:
        """The adapted probability of each window, 0…1."""
        return sigmoid(self.shift + self.scale * np.asarray(logits, dtype=np.float64))

    def chance_range(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of each window's probability: the middle 90 % under (a, b)'s
        uncertainty."""
        z = np.asarray(logits, dtype=np.float64)
        var_a, cov_ab, var_b = self.covariance
        sd = np.sqrt(np.maximum(var_a + 2.0 * z * cov_ab + z * z * var_b, 0.0))
        centre = self.shift + self.scale * z
        return sigmoid(centre - CHANCE_Z * sd), sigmoid(centre + CHANCE_Z * sd)


def adapt_model(logits: np.ndarray, answers: np.ndarray) -> AdaptedModel:
    """The :class:`AdaptedModel` after the user judged windows of shipped log-odds ``logits``
    with ``answers`` (True: the sound)."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(answers, dtype=np.float64)
    prior_mean = np.array([0.0, 1.0])
    prior_precision = np.diag(1.0 / np.square(ADAPT_PRIOR_SD))
    theta = prior_mean.copy()
    design = np.column_stack([np.ones_like(z), z])
    hessian = prior_precision
    for _ in range(ADAPT_NEWTON_STEPS):
        p = sigmoid(design @ theta)
        gradient = design.T @ (p - y) + prior_precision @ (theta - prior_mean)
        hessian = design.T @ (design * (p * (1.0 - p))[:, None]) + prior_precision
        theta = theta - np.linalg.solve(hessian, gradient)
    p = sigmoid(design @ theta)
    hessian = design.T @ (design * (p * (1.0 - p))[:, None]) + prior_precision
    covariance = np.linalg.inv(hessian)
    return AdaptedModel(float(theta[0]), float(theta[1]),
                        (float(covariance[0, 0]), float(covariance[0, 1]),
                         float(covariance[1, 1])))


def load_match_model(path: str | Path = MATCH_MODEL_PATH) -> MatchModel:
    """Read a model written by :meth:`MatchModel.save`.

    Raises:
        ConfigurationError: the file is missing, unreadable or for other evidence.
    """
    try:
        record = json.loads(Path(path).read_text())
        if tuple(record["evidence"]) != EVIDENCE_NAMES:
            raise ValueError(f"evidence {record['evidence']} is not {list(EVIDENCE_NAMES)}")
        weights = tuple(float(w) for w in record["weights"])
        if len(weights) != len(EVIDENCE_NAMES) or not all(map(math.isfinite, weights)):
            raise ValueError(f"weights must be {len(EVIDENCE_NAMES)} finite numbers, one per "
                             f"evidence, not {record['weights']!r}")
        return MatchModel(weights, str(record.get("fitted_on", "")),
                          int(record.get("n_answers", 0)))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigurationError(f"Cannot read the match model {path}: {error}") from None


_shipped: MatchModel | None = None


def shipped_match_model() -> MatchModel:
    """The model in :data:`MATCH_MODEL_PATH`, read once."""
    global _shipped
    if _shipped is None:
        _shipped = load_match_model()
    return _shipped
