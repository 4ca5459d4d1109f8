"""The match model: probabilities, the shipped file, and clear errors for a bad one."""

from __future__ import annotations

import json

import pytest

from loopfind_core.base.errors import ConfigurationError
from loopfind_core.retrieval.calibration import (
    EVIDENCE_NAMES,
    MatchEvidence,
    MatchModel,
    load_match_model,
    shipped_match_model,
)


def _evidence(relative: float, similarity: float = 0.5) -> MatchEvidence:
    return MatchEvidence(similarity, relative, n_found=2, n_rejected=1, last_was_yes=True,
                         duration_s=0.5)


def test_the_shipped_model_says_windows_scoring_like_the_positives_are_likelier():
    model = shipped_match_model()
    assert len(model.weights) == len(EVIDENCE_NAMES) and model.n_answers > 1000
    chances = [model.probability(_evidence(r)) for r in (-0.5, 0.0, 0.3, 0.7, 1.0, 2.0)]
    assert chances == sorted(chances, reverse=True)
    assert chances[0] > 0.8 and chances[-1] < 0.1
    assert model.probability(_evidence(50.0)) == model.probability(_evidence(3.0)), "clipped"


def test_a_model_round_trips_and_a_bad_file_is_a_clear_error(tmp_path):
    model = MatchModel(tuple(float(i) for i in range(len(EVIDENCE_NAMES))), "here", 7)
    model.save(tmp_path / "m.json")
    assert load_match_model(tmp_path / "m.json") == model
    record = json.loads((tmp_path / "m.json").read_text())
    record["evidence"] = ["bias"]
    (tmp_path / "bad.json").write_text(json.dumps(record))
    with pytest.raises(ConfigurationError, match="Cannot read the match model"):
        load_match_model(tmp_path / "bad.json")
    with pytest.raises(ConfigurationError, match="Cannot read the match model"):
        load_match_model(tmp_path / "missing.json")
