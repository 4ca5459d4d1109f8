"""Multi-track positives and the contrastive loss: stems load aligned with their mix, a stem
view is some of the excerpt's stems over a new backing, NT-Xent ranks the positive first, and a
run with stems and ``nce`` trains and writes a loadable checkpoint that says how it was made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from loopfind_core.base.errors import ConfigurationError
from loopfind_core.features.encoder import load_encoder
from loopfind_core.training.config import with_overrides
from loopfind_core.training.data import TrackMel, load_stems, load_training_audio
from loopfind_core.training.learner import nt_xent_loss
from loopfind_core.training.loop import train
from loopfind_core.training.views import make_view, sample_batch, stem_view
from testkit.training import TINY

SR_HZ = 22050


def _stems(seed: int, duration_s: float) -> list[np.ndarray]:
    """Three channels of a small song: a tone pattern, noise bursts, a bass line; plus a
    silent channel (as trackers render unused ones)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * SR_HZ)) / SR_HZ
    beat = (t * 4).astype(int)
    tone = 0.3 * np.sin(2 * np.pi * (440 + 110 * (beat % 3 + seed)) * t) * (beat % 2 == 0)
    noise = 0.1 * rng.standard_normal(len(t)) * ((t * 8) % 1 < 0.2)
    bass = 0.3 * np.sin(2 * np.pi * (55 * (1 + (beat // 4) % 2 + seed)) * t)
    return [tone, noise, bass, np.zeros_like(t)]


@pytest.fixture(scope="module")
def multitrack(tmp_path_factory) -> Path:
    """root/train/s<k>.wav (the mixes) and root/stems/s<k>/chNN.wav, two 8-s songs."""
    root = tmp_path_factory.mktemp("multitrack")
    (root / "train").mkdir()
    for seed in range(2):
        stems = _stems(seed, 8.0)
        folder = root / "stems" / f"s{seed}"
        folder.mkdir(parents=True)
        for k, stem in enumerate(stems):
            sf.write(folder / f"ch{k:02d}.wav", stem.astype(np.float32), SR_HZ)
        sf.write(root / "train" / f"s{seed}.wav", np.sum(stems, axis=0).astype(np.float32),
                 SR_HZ)
    return root


STEMS = with_overrides(TINY, augmentations=("stems", "gain"), losses=("nce", "ae"),
                       residual=True, ae_input="view")


def test_stems_load_aligned_and_silent_ones_are_skipped(multitrack):
    mix = load_training_audio([multitrack / "train" / "s0.wav"], STEMS,
                              stems=multitrack / "stems")[0]
    assert mix.stems_db.shape == (3, *mix.mel_db.shape) and mix.stems_db.dtype == np.float16
    summed = 10 * np.log10((10 ** (mix.stems_db.astype(np.float32) / 10)).sum(axis=0))
    loud = mix.mel_db > mix.mel_db.max() - 40  # the mel-power sum is the mix, where it matters
    assert np.median(np.abs(summed - mix.mel_db)[loud]) < 1.0
    assert load_stems(multitrack / "stems" / "nothing", 10) is None


def test_a_stem_view_is_some_stems_over_a_new_backing():
    rng = np.random.default_rng(0)
    frames, quiet = 16, np.full((128, 16), -100.0, np.float32)
    stems = np.stack([quiet, quiet, quiet]).astype(np.float16)
    stems[1, 40:50] = -10.0  # only stem 1 plays: it is the sound, whatever the draw
    track = TrackMel("a", stems[1].astype(np.float32), None, stems_db=stems)
    other = np.full((128, frames), -100.0, np.float32)
    other[100:110] = -20.0
    config = with_overrides(STEMS, stems_other_song=1.0, stems_backing_db=(0.0, 0.0))
    view = stem_view(track, 0, frames, other, config, rng)
    assert view.shape == (128, frames) and np.isfinite(view).all()
    assert np.allclose(view[40:50], -10.0, atol=0.5)  # the sound is there, at its level
    assert (view[100:110] > -40).all() and (view[:30] < -50).all()  # over the other backing


def test_stem_rows_compare_own_mix_with_stem_view(multitrack):
    tracks = load_training_audio(sorted((multitrack / "train").iterdir()), STEMS,
                                 stems=multitrack / "stems")
    config = with_overrides(STEMS, augmentations=("stems", "mix"), stems_share=0.5)
    batch = sample_batch(tracks, 8, 32, np.random.default_rng(1), True, 0.0, config)
    assert batch.stem_rows.tolist() == [False] * 4 + [True] * 4
    zero, one = torch.zeros(1, 128, 1), torch.ones(1, 128, 1)
    generator = torch.Generator().manual_seed(0)
    view1 = make_view(batch, False, config, zero, one, generator)
    view2 = make_view(batch, False, config, zero, one, generator, use_repetition=True)
    assert torch.equal(view1[4:], batch.clean[4:])  # stem rows: the own mix, not remixed
    assert torch.equal(view2[4:], batch.stem_view[4:])
    assert not torch.equal(view1[:4], batch.clean[:4])  # other rows: mixed as before


def test_nt_xent_ranks_the_positive_first():
    z = torch.randn(16, 8, 4, generator=torch.Generator().manual_seed(0))
    aligned = nt_xent_loss(z, z + 0.01 * torch.randn_like(z), 0.1)
    shuffled = nt_xent_loss(z, z[torch.randperm(16)], 0.1)
    assert float(aligned) < 0.1 < np.log(31) * 0.5 < float(shuffled)


def test_training_with_stems_and_nce_writes_a_described_checkpoint(multitrack, tmp_path):
    config = with_overrides(STEMS, augmentations=("stems", "repeat", "gain", "mix"))
    result = train([multitrack / "train"], tmp_path / "nce.pt", config, device="cpu",
                   stems=multitrack / "stems")
    assert set(result.final_losses) == {"nce", "ae", "total"}
    assert np.isfinite(result.final_losses["total"])
    metadata = load_encoder(tmp_path / "nce.pt").metadata
    assert metadata["train_config"]["losses"] == ["nce", "ae"]
    assert metadata["train_config"]["temperature"] == 0.1 and metadata["training_stems"] == 6
    projected = with_overrides(config, contrastive_on="projector", losses=("nce",))
    assert set(train([multitrack / "train"], tmp_path / "p.pt", projected, device="cpu",
                     stems=multitrack / "stems").final_losses) == {"nce", "total"}


def test_stems_need_a_stems_folder_and_sane_settings(multitrack, tmp_path):
    with pytest.raises(ConfigurationError, match="stems folder"):
        train([multitrack / "train"], tmp_path / "x.pt", STEMS)
    with pytest.raises(ConfigurationError, match="temperature"):
        train([multitrack / "train"], tmp_path / "x.pt", with_overrides(STEMS, temperature=0.0),
              stems=multitrack / "stems")


def test_stem_repetitions_pair_one_stem_repeating_under_another_backing(multitrack):
    config = with_overrides(STEMS, augmentations=("stemrep",))
    track = load_training_audio([multitrack / "train" / "s0.wav"], config,
                                stems=multitrack / "stems")[0]
    pairs = track.repeat_pairs
    assert len(pairs) > 0 and (np.abs(pairs[:, 0] - pairs[:, 1]) >= 32).all()
    for a, b in pairs:  # some stem repeats (nearly) exactly; the mix around it does not
        stem_gaps = [np.abs(s[:, a : a + 32].astype(np.float32) - s[:, b : b + 32]).mean()
                     for s in track.stems_db]
        mix_gap = np.abs(track.mel_db[:, a : a + 32] - track.mel_db[:, b : b + 32]).mean()
        assert min(stem_gaps) < 0.5 * mix_gap


def test_segments_cut_excerpts_in_time_order():
    from loopfind_core.training.learner import segments

    z = torch.arange(2 * 3 * 8.0).reshape(2, 3, 8)
    cut = segments(z, 4)
    assert cut.shape == (4, 3, 4) and torch.equal(cut[1], z[0, :, 4:]) and torch.equal(
        cut[2], z[1, :, :4])
    assert segments(z, 0) is z


def test_fine_tuning_starts_from_a_checkpoint(multitrack, tmp_path):
    config = with_overrides(STEMS, augmentations=("gain",), losses=("ae",))
    first = train([multitrack / "train"], tmp_path / "a.pt", config, device="cpu")
    zero = train([multitrack / "train"], tmp_path / "b.pt", with_overrides(config, iters=0),
                 device="cpu", init=tmp_path / "a.pt")
    assert zero.weights_digest == first.weights_digest
    a, b = load_encoder(tmp_path / "a.pt"), load_encoder(tmp_path / "b.pt")
    assert torch.equal(a.mean_db, b.mean_db)
    assert b.metadata["init_checkpoint"]["weights_sha256"] == first.weights_digest
    with pytest.raises(ConfigurationError, match="another architecture"):
        train([multitrack / "train"], tmp_path / "c.pt", with_overrides(config, residual=False),
              device="cpu", init=tmp_path / "a.pt")
