"""The learned encoder: trains without labels, ships as a safe self-describing checkpoint,
trains identically under DistributedDataParallel, resumes exactly."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.errors import CheckpointError, SelectionError
from loopfind_core.features.encoder import (
    Encoder,
    EncoderConfig,
    load_encoder,
    save_checkpoint,
    weights_digest,
)
from loopfind_core.features.registry import extract_features
from loopfind_core.training.config import TrainConfig, with_overrides
from loopfind_core.training.loop import train
from loopfind_core.training.views import drop_bins, mix_in, shift_bins

from .conftest import SR_HZ, planted_track

TINY = TrainConfig(iters=3, batch=8, excerpt_frames=32, augmentations=("noise", "drop", "shift"))


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train-audio")
    for seed in range(2):
        sf.write(folder / f"t{seed}.wav", planted_track(seed, 40.0).samples, SR_HZ)
    return folder


@pytest.fixture(scope="module")
def tiny_checkpoint(audio_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train([audio_folder], out, TINY, device="cpu", description="two planted tracks")
    return out


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


def test_same_seed_same_weights_other_seed_other(audio_folder, tmp_path):
    a = train([audio_folder], tmp_path / "a.pt", TINY, device="cpu")
    b = train([audio_folder], tmp_path / "b.pt", TINY, device="cpu")
    c = train([audio_folder], tmp_path / "c.pt", with_overrides(TINY, seed=1), device="cpu")
    assert a.weights_digest == b.weights_digest != c.weights_digest


def test_interrupted_training_resumes_exactly(audio_folder, tmp_path):
    config = with_overrides(TINY, iters=4, save_every=2)
    straight = train([audio_folder], tmp_path / "straight.pt", config, device="cpu")

    def interrupt_at_three(done, total, message):
        if done == 3 and "features" not in message:
            raise KeyboardInterrupt

    out = tmp_path / "resumed.pt"
    with pytest.raises(KeyboardInterrupt):
        train([audio_folder], out, config, device="cpu", progress=interrupt_at_three)
    assert not out.exists() and (tmp_path / "resumed.pt.train-state.pt").exists()
    resumed = train([audio_folder], out, config, device="cpu", resume=True)
    assert resumed.weights_digest == straight.weights_digest
    assert not (tmp_path / "resumed.pt.train-state.pt").exists()


def test_ddp_on_two_cpu_processes_keeps_ranks_identical(audio_folder, tmp_path):
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         "-m", "loopfind_core", "-v", "train", "--data", str(audio_folder), "--out", str(out),
         "--iters", "3", "--batch", "8", "--excerpt-frames", "32", "--aug", "noise,drop,mix",
         "--device", "cpu"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    digests = dict(re.findall(r"rank (\d)/2: final encoder weights sha256 (\w+)", result.stderr))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]
    assert load_encoder(out, "cpu").metadata["world_size"] == 2
    assert weights_digest(load_encoder(out, "cpu").encoder) == digests["0"]


def test_paper_augmentations_with_hpss_and_ae_only(audio_folder, tmp_path):
    config = with_overrides(TINY, augmentations=("hpss", "noise"), losses=("ae",))
    result = train([audio_folder], tmp_path / "ae.pt", config, device="cpu")
    assert set(result.final_losses) == {"ae", "total"}


def test_bad_training_settings(audio_folder, tmp_path):
    with pytest.raises(SelectionError, match="Unknown loss or augmentation"):
        train([audio_folder], tmp_path / "x.pt", with_overrides(TINY, augmentations=("blur",)))
    with pytest.raises(SelectionError, match="No audio files"):
        train([tmp_path], tmp_path / "x.pt", TINY)


def test_augmentations_do_what_they_say():
    generator = torch.Generator().manual_seed(0)
    x = torch.arange(128.0)[None, :, None].expand(4, 128, 10).contiguous()
    shifted = shift_bins(x, 3, generator)
    offsets = (shifted[:, 64, 0] - x[:, 64, 0]).abs()
    assert ((offsets <= 3) & (shifted[:, 10:-10] - x[:, 10:-10]).std(dim=1).lt(1e-6).all(-1)).all()
    dropped = drop_bins(torch.ones(64, 128, 5), 0.2, generator)
    assert 0.15 < float((dropped == 0).float().mean()) < 0.25
    quiet = torch.full((1, 128, 5), -60.0)
    mixed = mix_in(quiet, torch.full((1, 128, 5), -60.0), torch.tensor([0.0]))
    assert torch.allclose(mixed, torch.full_like(mixed, -60.0 + 10 * np.log10(2)), atol=1e-4)


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


def test_repetitions_are_mined_from_the_track_itself(planted):
    from loopfind_core.base.spectrogram import log_mel
    from loopfind_core.training.data import repetition_pairs

    mel_db = log_mel(audio_from_samples(planted.samples, SR_HZ))
    pairs = repetition_pairs(mel_db, 32, max_relative_distance=0.9, partners=2)
    assert len(pairs) > 0 and pairs.shape[1] == 2
    assert np.all(np.abs(pairs[:, 0] - pairs[:, 1]) >= 32), "a partner never overlaps its excerpt"
    assert len(repetition_pairs(mel_db, 32, max_relative_distance=0.0)) == 0
    noise = np.random.default_rng(0).normal(size=mel_db.shape).astype(np.float32)
    assert len(repetition_pairs(noise, 32, max_relative_distance=0.5)) == 0


def test_training_with_mined_repetitions(audio_folder, tmp_path):
    config = with_overrides(TINY, augmentations=("repeat", "mix", "gain"), residual=True,
                            ae_input="view")
    result = train([audio_folder], tmp_path / "rep.pt", config, device="cpu")
    assert np.isfinite(result.final_losses["total"])
    assert load_encoder(tmp_path / "rep.pt").metadata["train_config"]["augmentations"] == [
        "repeat", "mix", "gain"]
