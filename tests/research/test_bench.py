"""The speed bench runs and reports every feature kind."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.features.encoder import Encoder, EncoderConfig, save_checkpoint
from loopfind_core.features.registry import FEATURE_KINDS
from loopfind_core.research.bench import format_bench, run_bench


@pytest.mark.slow  # ~30 s: a spawned process per kind measures its memory
def test_bench_runs_and_reports_every_kind(tmp_path):
    checkpoint = tmp_path / "random.pt"
    save_checkpoint(checkpoint, Encoder(EncoderConfig()), np.zeros(128), np.ones(128), {})
    result = run_bench(duration_s=40.0, repeats=1, checkpoint=checkpoint)
    assert {k.kind for k in result.kinds} == set(FEATURE_KINDS)
    for k in result.kinds:
        assert k.first_proposal_s > 0 and k.step_ms > 0 and k.memory_growth_mb > 0
    assert "targets" in format_bench(result)
