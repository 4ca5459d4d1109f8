"""Training the encoder without labels: deterministic per seed, resumes exactly after an
interruption, trains identically under DistributedDataParallel, every loss and augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.errors import ConfigurationError, DatasetError
from loopfind_core.features.encoder import load_encoder
from loopfind_core.training.config import with_overrides
from loopfind_core.training.loop import train
from testkit.training import TINY


def test_same_seed_same_weights_other_seed_other(training_audio, tmp_path):
    a = train([training_audio], tmp_path / "a.pt", TINY, device="cpu")
    b = train([training_audio], tmp_path / "b.pt", TINY, device="cpu")
    c = train([training_audio], tmp_path / "c.pt", with_overrides(TINY, seed=1), device="cpu")
    assert a.weights_digest == b.weights_digest != c.weights_digest


def test_interrupted_training_resumes_exactly(training_audio, tmp_path):
    config = with_overrides(TINY, iters=4, save_every=2)
    straight = train([training_audio], tmp_path / "straight.pt", config, device="cpu")

    def interrupt_at_three(done, total, message):
        if done == 3 and "features" not in message:
            raise KeyboardInterrupt

    out = tmp_path / "resumed.pt"
    with pytest.raises(KeyboardInterrupt):
        train([training_audio], out, config, device="cpu", progress=interrupt_at_three)
    assert not out.exists() and (tmp_path / "resumed.pt.train-state.pt").exists()
    resumed = train([training_audio], out, config, device="cpu", resume=True)
    assert resumed.weights_digest == straight.weights_digest
    assert not (tmp_path / "resumed.pt.train-state.pt").exists()


def test_paper_augmentations_with_hpss_and_ae_only(training_audio, tmp_path):
    config = with_overrides(TINY, augmentations=("hpss", "noise"), losses=("ae",))
    result = train([training_audio], tmp_path / "ae.pt", config, device="cpu")
    assert set(result.final_losses) == {"ae", "total"}


def test_bad_training_settings(training_audio, tmp_path):
    with pytest.raises(ConfigurationError, match="Unknown loss or augmentation"):
        train([training_audio], tmp_path / "x.pt", with_overrides(TINY, augmentations=("blur",)))
    with pytest.raises(DatasetError, match="No audio files"):
        train([tmp_path], tmp_path / "x.pt", TINY)


def test_training_with_mined_repetitions(training_audio, tmp_path):
    config = with_overrides(TINY, augmentations=("repeat", "mix", "gain"), residual=True,
                            ae_input="view")
    result = train([training_audio], tmp_path / "rep.pt", config, device="cpu")
    assert np.isfinite(result.final_losses["total"])
    assert load_encoder(tmp_path / "rep.pt").metadata["train_config"]["augmentations"] == [
        "repeat", "mix", "gain"]
