"""What a hunt does when nobody changes a setting: one definition, read by the app's Hunt page,
the ``hunt`` command and ``evaluate --preset app``, so that the measured default is the shipped
one. :data:`PAPER_HUNT` is the paper's baseline (MFCC, raw features, the naive rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
from loopfind_core.retrieval.review import ADAPTIVE, ONE_AT_A_TIME, ReviewPolicy
from loopfind_core.retrieval.session import DEFAULT_PATIENCE


@dataclass(frozen=True)
class HuntSettings:
    """The settings of one hunt."""

    kind: str  # feature kind (features.registry.FEATURE_KINDS)
    whiten: float | None  # whitening shrinkage; None: the raw features
    strategy: str  # "naive" or "active" (retrieval.session.STRATEGIES)
    patience: int  # rejections that end the hunt (in a row, under the adaptive review)
    review: ReviewPolicy = ONE_AT_A_TIME  # pages and the stop (retrieval.review)


ADAPTIVE_PATIENCE = 8  # rejections in a row: only a cap on waste (the stop is the expectation);
#                       chosen on data/real/dev among 5, 8, 10, 20 (docs/results.md)
APP_HUNT = HuntSettings("learned", DEFAULT_WHITENING_SHRINKAGE, "active", ADAPTIVE_PATIENCE,
                        ADAPTIVE)
PAPER_HUNT = HuntSettings("mfcc", None, "naive", DEFAULT_PATIENCE)
HUNT_PRESETS = {"app": APP_HUNT, "paper": PAPER_HUNT}
