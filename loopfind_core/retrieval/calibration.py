"""How likely a proposed window is the sound: a calibrated probability for every proposal.

A session knows more about a proposal than its similarity to the query: how it scores under
the ``active`` rule next to the occurrences already confirmed, and how the hunt has gone so
far. :class:`MatchEvidence` gathers that; :class:`MatchModel`, a logistic model over it, turns
it into the probability that the window is an occurrence. The model ships as
``match_model.json`` beside this module, fitted by ``loopfind calibrate`` on hunts answered from
the ground truth of the real-music corpus's *training* split (docs/results.md), never on the
songs it is evaluated on.

The session uses it for the precision shown next to the auto-accept slider: the model's
expected share of right windows among those auto-accept would take
(:meth:`~loopfind_core.retrieval.session.RetrievalSession.precision_estimate`). Stopping a hunt
by itself when the next window is unlikely was measured too and cost more recall than it saved
answers (docs/results.md §8).
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
                  "last_was_yes", "log_duration_s", "log_nearest", "log_nearest_over_spread")
DISTANCE_FLOOR = 0.01  # added to relative distances before their logarithm


@dataclass(frozen=True)
class MatchEvidence:
    """What a session knows about one proposal when it makes it."""

    similarity: float  # RetrievalSession.confidence: 1 − D_query / median D_query, 0…1
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

    def vector(self) -> np.ndarray:
        """The model's inputs, in the order of :data:`EVIDENCE_NAMES`."""
        relative = min(MAX_RELATIVE_SCORE, max(MIN_RELATIVE_SCORE, self.relative_score))
        return np.array([1.0, self.similarity, relative, math.log1p(self.n_found),
                         math.log1p(self.n_rejected), float(self.last_was_yes),
                         math.log(max(self.duration_s, 1e-3)),
                         math.log(self.nearest + DISTANCE_FLOOR),
                         math.log((self.nearest + DISTANCE_FLOOR)
                                  / (self.spread + DISTANCE_FLOOR))])


@dataclass(frozen=True)
class MatchModel:
    """P(the window is the sound | evidence) = σ(w · evidence.vector())."""

    weights: tuple[float, ...]  # one per name in EVIDENCE_NAMES
    fitted_on: str = ""  # where the answers came from (a dataset and its method)
    n_answers: int = 0  # answers it was fitted on

    def probability(self, evidence: MatchEvidence) -> float:
        z = float(np.dot(self.weights, evidence.vector()))
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def save(self, path: str | Path) -> None:
        record = {"evidence": list(EVIDENCE_NAMES), **asdict(self)}
        Path(path).write_text(json.dumps(record, indent=2) + "\n")


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
            raise ValueError("weights must be one finite number per evidence")
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
