"""The learned encoder: embeds every frame, ships as a safe self-describing checkpoint (data,
never code), loads back exactly; broken checkpoints say what is wrong."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.errors import CheckpointError
from loopfind_core.features.encoder import (
    Encoder,
    EncoderConfig,
    load_encoder,
    save_checkpoint,
    weights_digest,
)
from loopfind_core.features.registry import extract_features
from testkit.audio import SR_HZ


def test_checkpoint_describes_itself_and_embeds_every_frame(tiny_checkpoint, planted):
    loaded = load_encoder(tiny_checkpoint, "cpu")
    meta = loaded.metadata
    assert meta["iterations"] == 3 and meta["seed"] == 0 and meta["training_files"] == 2
    assert meta["training_data"] == "two planted tracks" and "byol" in meta["final_losses"]
    audio = audio_from_samples(planted.samples, SR_HZ)
    learned = extract_features(audio, "learned", checkpoint=tiny_checkpoint, device="cpu")
    mel = extract_features(audio, "mel")
    assert learned.values.shape == (mel.n_frames, 128) and learned.kind == "learned"
    assert np.isfinite(learned.values).all()
    assert tiny_checkpoint.stat().st_size < 5 * 2**20


def test_chunked_inference_equals_whole(tiny_checkpoint, monkeypatch):
    import loopfind_core.features.encoder as encoder_module

    mel_db = np.random.default_rng(0).normal(-40, 15, (128, 700)).astype(np.float32)
    loaded = load_encoder(tiny_checkpoint, "cpu")
    whole = loaded.embed(mel_db)
    monkeypatch.setattr(encoder_module, "INFERENCE_CHUNK_FRAMES", 64)
    np.testing.assert_allclose(loaded.embed(mel_db), whole, rtol=1e-5, atol=1e-5)


# ----- a checkpoint is data, never code ------------------------------------------------------


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {_Exploit.marker}",))


def write_exploit(path: Path, marker: Path) -> None:
    _Exploit.marker = marker
    with open(path, "wb") as handle:
        pickle.dump({"format": "loopfind-encoder", "payload": _Exploit()}, handle)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_a_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "pwned"
    write_exploit(path, marker)
    with pytest.raises(CheckpointError, match="never unpickled"):
        load_encoder(path)
    assert not marker.exists()


@pytest.mark.parametrize("case", ["missing", "random bytes", "foreign", "wrong shapes",
                                  "future format", "empty"])
def test_broken_checkpoints_say_what_is_wrong(tmp_path, tiny_checkpoint, case):
    path = tmp_path / "bad.pt"
    good = torch.load(tiny_checkpoint, weights_only=True)
    if case == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "foreign":
        torch.save({"model": torch.zeros(3)}, path)
    elif case == "wrong shapes":
        small = Encoder(EncoderConfig(channels=16))
        good["state_dict"] = small.state_dict()
        torch.save(good, path)
    elif case == "future format":
        good["format_version"] = 99
        torch.save(good, path)
    expected = {
        "missing": "does not exist", "random bytes": "could not be read",
        "empty": "could not be read", "foreign": "not a Loopfind encoder",
        "wrong shapes": "do not fit", "future format": "format 99",
    }[case]
    with pytest.raises(CheckpointError, match=expected):
        load_encoder(path)


def test_untrained_residual_encoder_is_the_identity(tmp_path, planted):
    encoder = Encoder(EncoderConfig(residual=True))
    save_checkpoint(tmp_path / "id.pt", encoder, np.full(128, -40.0), np.full(128, 10.0), {})
    assert load_encoder(tmp_path / "id.pt", "cpu").encoder.config.residual is True
    audio = audio_from_samples(planted.samples, SR_HZ)
    learned = extract_features(audio, "learned", checkpoint=tmp_path / "id.pt", device="cpu")
    control = extract_features(audio, "mel-std")
    difference = np.abs(learned.values - control.values)  # only the 1e-3 std floor differs
    assert difference.mean() < 0.01 and difference.max() < 0.1


def test_save_then_load_round_trips_weights(tmp_path):
    encoder = Encoder(EncoderConfig(dilation_growth=2))
    save_checkpoint(tmp_path / "r.pt", encoder, np.zeros(128), np.ones(128), {"note": "x"})
    loaded = load_encoder(tmp_path / "r.pt", "cpu")
    assert loaded.encoder.config.receptive_field_frames == 63
    assert weights_digest(loaded.encoder) == weights_digest(encoder)
