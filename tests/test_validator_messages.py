"""Every validator of a setting names the bad value and what is allowed, so whoever typed it
sees what to change: the session's settings and selection, the training configuration, the
evaluation's configuration and the research session's speed variants."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from loopfind_core.base.errors import ConfigurationError, SelectionError
from loopfind_core.features.track import FeatureTrack
from loopfind_core.research.evaluate import EvaluationConfig, evaluate_dataset
from loopfind_core.research.variants import speed_factors
from loopfind_core.retrieval.search import WindowSearch
from loopfind_core.retrieval.session import MAX_PATIENCE, RetrievalSession, query_window_frames
from loopfind_core.training.config import TrainConfig


@pytest.fixture(scope="module")
def track() -> FeatureTrack:
    """Ten seconds of random features at 43 frames/s: enough room for a 1-s query."""
    values = np.random.default_rng(0).standard_normal((430, 4)).astype(np.float32)
    return FeatureTrack("mfcc", values, 43.0)


def said(error: pytest.ExceptionInfo, *parts: str) -> None:
    """Each of ``parts`` appears in the error's message, as written."""
    for part in parts:
        assert part in str(error.value), f"{part!r} missing from {str(error.value)!r}"


@pytest.mark.parametrize("patience", [0, MAX_PATIENCE + 1, 2.5])
def test_the_session_names_a_bad_patience(track, patience):
    with pytest.raises(SelectionError) as error:
        RetrievalSession(track, 1.0, 1.0, patience=patience)
    said(error, f"not {patience!r}", f"from 1 to {MAX_PATIENCE}")


def test_the_session_names_how_many_valid_starts_it_needs_and_got(track):
    n_starts = WindowSearch(track.values, query_window_frames(track, 1.0, 1.0)[1]).n_starts
    with pytest.raises(SelectionError) as error:
        RetrievalSession(track, 1.0, 1.0, valid_starts=np.ones(n_starts - 3, dtype=bool))
    said(error, f"({n_starts})", f"not {n_starts - 3}")


@pytest.mark.parametrize("start_s,duration_s,shown", [
    ("soon", 1.0, "'soon'"), (1.0, None, "None"), (float("nan"), 1.0, "nan"),
    (1.0, float("inf"), "inf")])
def test_the_session_names_a_selection_that_is_no_number(track, start_s, duration_s, shown):
    with pytest.raises(SelectionError) as error:
        RetrievalSession(track, start_s, duration_s)
    said(error, shown, "seconds")


@pytest.mark.parametrize("field,value,allowed", [
    ("iters", -1, "≥ 0"), ("batch", 0, "≥ 1"), ("excerpt_frames", 4, "≥ 8"),
    ("ema", 1.0, "in [0, 1)"), ("repeat_share", 1.5, "in [0, 1]"),
    ("stems_share", -0.25, "in [0, 1]"), ("stems_other_song", 2.0, "in [0, 1]"),
    ("stems_single", 1.25, "in [0, 1]"), ("temperature", 0.0, "> 0"),
    ("ae_input", "noisy", "clean"), ("contrastive_on", "everything", "encoder"),
])
def test_the_training_configuration_names_the_bad_field_and_value(field, value, allowed):
    with pytest.raises(ConfigurationError) as error:
        replace(TrainConfig(), **{field: value}).check()
    said(error, field, f"not {value!r}", allowed)


@pytest.mark.parametrize("change,shown,allowed", [
    ({"batch": -1}, "not -1", "from 0 (off) to"),
    ({"batch": 2.5}, "not 2.5", "from 0 (off) to"),
    ({"queries": "some"}, "not 'some'", "first"),
    ({"review": "pages"}, "not 'pages'", "adaptive"),
    ({"features": ()}, "features ()", "at least one feature kind"),
    ({"strategies": ()}, "strategies ()", "one strategy"),
])
def test_the_evaluation_names_the_bad_setting(tmp_path, change, shown, allowed):
    """Refused before any data is read (the folder is empty)."""
    with pytest.raises(SelectionError) as error:
        evaluate_dataset(tmp_path, EvaluationConfig(jobs=1, **change))
    said(error, shown, allowed)


@pytest.mark.parametrize("variants,shown,allowed", [
    (("fast",), "('fast',)", "numbers of percent"), ((40.0,), "40.0", "within ±25 %")])
def test_speed_variants_name_the_bad_value(variants, shown, allowed):
    with pytest.raises(SelectionError) as error:
        speed_factors(variants)
    said(error, shown, allowed)


def test_the_workspace_names_a_bad_selection_and_latency_offset(planted_wav):
    from loopfind_core.base.audio import load_audio
    from loopfind_core.interactive.workspace import Workspace

    ws = Workspace(load_audio(planted_wav))
    with pytest.raises(SelectionError) as error:
        ws.select("soon", 1.0)
    said(error, "'soon'", "numbers of seconds")
    with pytest.raises(SelectionError) as error:
        ws.set_latency_offset("late")
    said(error, "'late'", "milliseconds")


def test_a_residual_encoder_names_its_channels_and_mel_bins():
    from loopfind_core.base.errors import CheckpointError
    from loopfind_core.features.encoder import Encoder, EncoderConfig

    with pytest.raises(CheckpointError) as error:
        Encoder(EncoderConfig(residual=True, channels=7))
    said(error, "7 channels", "mel bins")


def test_a_match_model_file_with_bad_weights_names_them(tmp_path):
    import json

    from loopfind_core.retrieval.calibration import EVIDENCE_NAMES, load_match_model

    path = tmp_path / "model.json"
    path.write_text(json.dumps({"evidence": list(EVIDENCE_NAMES), "weights": [1.0, 2.0]}))
    with pytest.raises(ConfigurationError) as error:
        load_match_model(path)
    said(error, "[1.0, 2.0]", f"{len(EVIDENCE_NAMES)} finite numbers")
