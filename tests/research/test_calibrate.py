"""Fitting the match model from the open windows of hunts the ground truth answers."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.errors import DatasetError
from loopfind_core.research.calibrate import (
    WindowEvidence,
    collect_evidence,
    fit_match_model,
    leave_one_group_out,
    reliability,
)
from loopfind_core.retrieval.calibration import MatchEvidence, evidence_vectors


def _evidence(relatives: np.ndarray, is_match: np.ndarray, files: list[str]) -> WindowEvidence:
    n = len(relatives)
    vectors = evidence_vectors(np.full(n, 0.5), relatives, relatives, 1, 1, False, 0.4, 0.2)
    return WindowEvidence(vectors, is_match, np.ones(n), np.array(files, dtype=object),
                          np.full(n, "sample", dtype=object))


def test_the_fitted_model_is_calibrated_on_what_it_was_fitted_on():
    rng = np.random.default_rng(0)
    relatives = rng.uniform(0.0, 1.0, 2000)
    is_match = rng.random(2000) < 1.0 - relatives  # P(yes) = 1 − relative score
    evidence = _evidence(relatives, is_match, ["a.wav", "b.wav"] * 1000)
    model = fit_match_model(evidence, "synthetic")
    assert model.n_answers == 2000 and model.fitted_on == "synthetic"
    near = MatchEvidence(0.5, 0.1, 1, 1, False, 0.4, nearest=0.1, spread=0.2)
    far = MatchEvidence(0.5, 0.9, 1, 1, False, 0.4, nearest=0.9, spread=0.2)
    assert model.probability(near) > 0.7 and model.probability(far) < 0.3
    for bin_ in reliability(model, evidence):
        assert bin_.observed == pytest.approx(bin_.predicted, abs=0.1)
    held_out = leave_one_group_out(evidence, lambda file: file[0])
    assert set(held_out) == {"a", "b"} and all(held_out.values())
    with pytest.raises(DatasetError, match="both kinds"):
        fit_match_model(_evidence(np.full(3, 0.5), np.ones(3, dtype=bool), ["a"] * 3))


def test_weights_count_the_windows_a_row_stands_for():
    relatives = np.array([0.1, 0.9])
    evidence = _evidence(relatives, np.array([True, False]), ["a", "a"])
    heavy = WindowEvidence(evidence.vectors, evidence.is_match, np.array([1.0, 99.0]),
                           evidence.files, evidence.categories)
    bins = reliability(fit_match_model(heavy), heavy)
    assert sum(b.n_windows for b in bins) == pytest.approx(100.0)


def test_evidence_is_collected_from_every_hunt(tiny_dataset):
    evidence = collect_evidence(tiny_dataset)
    assert len(evidence.is_match) == len(evidence.weights) == len(evidence.vectors)
    assert set(evidence.categories.tolist()) == {"sample"}
    assert evidence.is_match.any() and not evidence.is_match.all()
    assert (evidence.weights >= 1.0).all()
