"""Fitting the match model from answers the ground truth gives."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.errors import DatasetError
from loopfind_core.research.calibrate import (
    LabelledEvidence,
    collect_evidence,
    fit_match_model,
    reliability,
)
from loopfind_core.retrieval.calibration import MatchEvidence


def _sample(relative: float, is_match: bool) -> LabelledEvidence:
    evidence = MatchEvidence(0.5, relative, 1, 1, False, 0.4, nearest=relative, spread=0.2)
    return LabelledEvidence(evidence, is_match, "sample")


def test_the_fitted_model_is_calibrated_on_what_it_was_fitted_on():
    rng = np.random.default_rng(0)
    relatives = rng.uniform(0.0, 1.0, 2000)
    samples = [_sample(r, bool(rng.random() < 1.0 - r)) for r in relatives]  # P(yes) = 1 − r
    model = fit_match_model(samples, "synthetic")
    assert model.n_answers == 2000 and model.fitted_on == "synthetic"
    assert model.probability(_sample(0.1, True).evidence) > 0.7
    assert model.probability(_sample(0.9, True).evidence) < 0.3
    for bin_ in reliability(model, samples):
        assert bin_.observed == pytest.approx(bin_.predicted, abs=0.1)
    with pytest.raises(DatasetError, match="both kinds"):
        fit_match_model([_sample(0.5, True)] * 3)


def test_evidence_is_collected_from_every_hunt(tiny_dataset):
    samples = collect_evidence(tiny_dataset)
    assert samples and {s.category for s in samples} == {"sample"}
    assert any(s.is_match for s in samples) and not all(s.is_match for s in samples)
