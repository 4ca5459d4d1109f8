"""Training the encoder without labels: BYOL + autoencoder losses (paper §III-D, §IV).

    L = L_BYOL + λ · L_AE
    L_BYOL = ‖N(Pr(P(E(v₁)))) − N(P_f(E_f(v₂)))‖² + (the same with v₁, v₂ swapped)
    L_AE   = ‖D(E(x)) − x‖²                    (mean over frames and bins)

v₁, v₂ are two augmented views of one log-mel excerpt x; N normalises each frame's vector; E_f,
P_f follow E, P by the exponential moving average θ_f ← α·θ_f + (1 − α)·θ (Eq. 2). Losses are
per frame, so the encoder learns one vector per frame, as the search needs.

Augmentations (each switchable, each a small function with a docstring):

- the paper's: ``noise`` (Gaussian, σ 0.3 on standardised log-mel), ``drop`` (20% of the mel
  bins zeroed), ``shift`` (transposition by up to ``max_shift_bins`` bins) and ``hpss`` (one view
  is the harmonic part, from librosa's HPSS, precomputed once per file);
- beyond the paper: ``mix`` (another excerpt mixed in, in the power domain, at a random gain:
  the same sound under another backing), ``gain`` (a level change), ``eq`` (a smooth random
  tilt across the mel bins: a filter change) and ``repeat`` (for a share of the batch, view 2 is
  taken from *another place in the same track* where the excerpt repeats, found by a nearest
  window search over standardised log-mel before training: the same loop or sample as the
  track itself varies it, under whatever backing it has there — no labels needed).

- ``stems`` (beyond the paper, after Sony AI's sample identification, arXiv 2510.11507): for a
  share of the batch, view 1 is the song's own mix and view 2 a random subset of its stems
  (per-channel solo renders) at the same time over a new backing — another song's mix, or the
  song's other stems at another time — summed in the mel-power domain; ``stemrep``: the
  mined repetitions (as ``repeat``) also pair places where one *stem* repeats nearly exactly
  while the mix around it differs: the same sound really mixed over another backing.

``losses`` may add ``nce``, a contrastive loss with in-batch negatives (NT-Xent, temperature
τ): L_NCE = −log( exp(s(v₁ᵢ, v₂ᵢ)/τ) / Σ_{k≠i} exp(s(·ᵢ, ·ₖ)/τ) ) over both views of the batch,
s the mean over frames of the cosine between frame vectors (of E, or of P(E)).

With ``ae_input="view"`` the autoencoder reconstructs the clean excerpt from an augmented view
(a denoising autoencoder); the paper's ``"clean"`` reconstructs the excerpt from itself.

Runs on CUDA when present, else the CPU; under ``torchrun`` it trains with
DistributedDataParallel (NCCL on GPUs, gloo on CPUs): each rank loads its own share of the
files (:func:`shard`) and draws its excerpts from it, the input normalisation is summed over
all ranks, the heads the chosen losses leave unused are frozen (DDP would otherwise wait for
their gradients), and only the first rank reports progress and writes files.
"""

from __future__ import annotations

import copy
import logging
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from loopfind_core import __version__
from loopfind_core.base.audio import audio_files
from loopfind_core.base.device import best_device
from loopfind_core.base.errors import ConfigurationError, DatasetError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.base.spectrogram import FRAME_RATE_HZ
from loopfind_core.features.encoder import (
    load_encoder,
    save_checkpoint,
    weights_digest,
)
from loopfind_core.training.config import STEM_AUGMENTATIONS, TrainConfig
from loopfind_core.training.data import (
    TrackMel,
    load_training_audio,
    mel_moments,
    normalization_from_moments,
)
from loopfind_core.training.learner import Learner, update_moving_average
from loopfind_core.training.views import make_view, sample_batch

log = logging.getLogger(__name__)
TRAIN_STATE_SUFFIX = ".train-state.pt"


# ----- the loop ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    iterations: int
    final_losses: dict[str, float]
    seconds: float
    weights_digest: str  # sha256 of the encoder's weights on this rank
    wrote: bool = True  # whether this process wrote the checkpoint (under DDP: the first rank)


@dataclass(frozen=True)
class _Distributed:
    rank: int
    world_size: int
    device: torch.device
    owns_group: bool = False  # this call started the process group (and so ends it)


def _init_distributed(device: str | None) -> _Distributed:
    """Join the torchrun process group when WORLD_SIZE > 1; else a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return _Distributed(0, 1, best_device(device))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = best_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    owns_group = not dist.is_initialized()
    if owns_group:
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    return _Distributed(dist.get_rank(), dist.get_world_size(), chosen, owns_group)


def shard(files: Sequence[Path], rank: int, world_size: int) -> list[Path]:
    """The files rank ``rank`` of ``world_size`` loads and trains on: every ``world_size``-th
    file of the sorted list from position ``rank`` on, so each file is read by one rank only.
    With fewer files than ranks, rank r takes file r mod n: every rank has one file, shared by
    several ranks, which draw different excerpts from it (their random streams differ)."""
    if not files or len(files) >= world_size:
        return list(files[rank::world_size])
    return [files[rank % len(files)]]


def _load_share(files: list[Path], config: TrainConfig, ddp: _Distributed,
                progress: ProgressCallback, stems: Path | None = None) -> list[TrackMel]:
    """This rank's training tracks. A rank left with no usable file stops every rank with the
    same error, rather than leaving the others waiting for it."""
    mine = shard(files, ddp.rank, ddp.world_size)
    log.info("rank %d/%d: training on %d of %d files: %s", ddp.rank, ddp.world_size, len(mine),
             len(files), ", ".join(p.name for p in mine))
    error = None
    try:
        tracks = load_training_audio(
            mine, config, progress if ddp.rank == 0 else no_progress,
            jobs=(os.cpu_count() or 1) if ddp.world_size == 1 else 1, stems=stems,
        )
    except DatasetError as failure:
        if ddp.world_size == 1:
            raise
        tracks, error = [], str(failure)
    failures = [(rank, e) for rank, e in enumerate(_gather(error, ddp)) if e is not None]
    if failures:
        rank, message = failures[0]
        raise DatasetError(f"Rank {rank} of {ddp.world_size} has nothing to train on among "
                           f"its share of the {len(files)} files: {message}")
    return tracks


def _global_normalization(tracks: list[TrackMel], ddp: _Distributed):
    """The input mean and std over every rank's frames (identical on every rank), and
    {file name: frames} of all the ranks' training files (for the checkpoint's metadata)."""
    moments = mel_moments(tracks)
    if ddp.world_size > 1:
        summed = torch.from_numpy(moments).to(ddp.device)
        dist.all_reduce(summed)
        moments = summed.cpu().numpy()
    mean_np, std_np = normalization_from_moments(moments)
    files: dict[str, int] = {}
    for share in _gather({t.name: t.mel_db.shape[1] for t in tracks}, ddp):
        files |= share  # a file shared by several ranks (fewer files than ranks) counts once
    return mean_np, std_np, files


def _train_state_path(out: Path) -> Path:
    return out.with_name(out.name + TRAIN_STATE_SUFFIX)


def train(
    data: Sequence[str | Path], out: str | Path, config: TrainConfig = TrainConfig(),
    device: str | None = None, resume: bool = False, progress: ProgressCallback = no_progress,
    description: str = "", stems: str | Path | None = None, init: str | Path | None = None,
) -> TrainResult:
    """Train an encoder on every audio file under ``data`` and write ``out`` (under torchrun:
    every rank trains, the first writes). The ``stems`` augmentation takes the stems of
    ``<name>.wav`` from the audio files of ``stems/<name>/``. With ``init``, the encoder starts
    from that checkpoint's weights and keeps its input normalisation (fine-tuning)."""
    config.check()
    if any(a in STEM_AUGMENTATIONS for a in config.augmentations) != (stems is not None):
        raise ConfigurationError("The stems augmentations (stems, stemrep) and a stems folder "
                                 "go together.")
    ddp = _init_distributed(device)
    try:
        return _train(data, Path(out), config, ddp, resume, progress, description,
                      Path(stems) if stems is not None else None, init)
    finally:
        if ddp.owns_group:
            dist.destroy_process_group()


def _train(data, out: Path, config: TrainConfig, ddp: _Distributed, resume: bool,
           progress: ProgressCallback, description: str, stems: Path | None,
           init: str | Path | None = None) -> TrainResult:
    started = time.perf_counter()
    if config.batch % ddp.world_size:
        raise ConfigurationError(f"batch {config.batch} must divide among {ddp.world_size} ranks.")
    tracks = _load_share(audio_files(data), config, ddp, progress, stems)
    mean_np, std_np, training_files = _global_normalization(tracks, ddp)
    mean = torch.from_numpy(mean_np)[None, :, None]  # (1, N_MELS, 1)
    std = torch.from_numpy(std_np)[None, :, None]

    torch.manual_seed(config.seed)  # identical initial weights on every rank
    learner = Learner(config.encoder).to(ddp.device)
    init_record = None
    if init is not None:
        start = load_encoder(init, "cpu")
        if start.encoder.config != config.encoder:
            raise ConfigurationError(f"{Path(init).name} has another architecture "
                                     f"({start.encoder.config}) than asked ({config.encoder}).")
        learner.encoder.load_state_dict(start.encoder.state_dict())
        mean_np = start.mean_db[:, 0].cpu().numpy()
        std_np = start.std_db[:, 0].cpu().numpy()
        mean = torch.from_numpy(mean_np)[None, :, None]
        std = torch.from_numpy(std_np)[None, :, None]
        init_record = {"file": Path(init).name, "weights_sha256": weights_digest(start.encoder)}
    # e.g. --losses ae: projector, predictor
    for unused in learner.unused_heads(config.losses, config.contrastive_on):
        unused.requires_grad_(False)  # no gradient to wait for (cheaper than find_unused_...)
    target_encoder = copy.deepcopy(learner.encoder).requires_grad_(False)
    target_projector = copy.deepcopy(learner.projector).requires_grad_(False)
    optimizer = torch.optim.Adam(learner.parameters(), lr=config.learning_rate)
    rng = np.random.default_rng([config.seed, ddp.rank])
    generator = torch.Generator().manual_seed(config.seed * 1000 + ddp.rank)
    start_iteration = 0
    state_path = _train_state_path(out)
    if resume and state_path.is_file():
        state = torch.load(state_path, map_location=ddp.device, weights_only=True)
        if state.get("config") != _config_record(config):
            raise ConfigurationError(
                f"{state_path.name} was saved with other settings; not resuming.")
        if state.get("world_size", ddp.world_size) != ddp.world_size:
            raise ConfigurationError(
                f"{state_path.name} was saved by {state['world_size']} ranks, not "
                f"{ddp.world_size}: resume with as many (each rank has its own share).")
        learner.load_state_dict(state["learner"])
        target_encoder.load_state_dict(state["target_encoder"])
        target_projector.load_state_dict(state["target_projector"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["numpy_rng"][ddp.rank]
        generator.set_state(state["torch_rng"][ddp.rank])
        start_iteration = int(state["iteration"])
        log.info("resuming at iteration %d", start_iteration)
    model: nn.Module = learner
    if ddp.world_size > 1:
        model = nn.parallel.DistributedDataParallel(
            learner, device_ids=[ddp.device.index] if ddp.device.type == "cuda" else None
        )
    per_rank = config.batch // ddp.world_size
    need_byol = "byol" in config.losses
    losses: dict[str, float] = {}
    mean_d, std_d = mean.to(ddp.device), std.to(ddp.device)
    for iteration in range(start_iteration, config.iters):
        batch = sample_batch(
            tracks, per_rank, config.excerpt_frames, rng, "mix" in config.augmentations,
            config.repeat_share if {"repeat", "stemrep"} & set(config.augmentations) else 0.0,
            config,
        )
        # HPSS: half the time, view 1 is the harmonic part of the excerpt
        harmonic_view = "hpss" in config.augmentations and bool(
            torch.rand(1, generator=generator) < 0.5
        )
        view1 = make_view(batch, harmonic_view, config, mean, std, generator).to(ddp.device)
        view2 = make_view(batch, False, config, mean, std, generator,
                          use_repetition=True).to(ddp.device)
        clean = (batch.clean.to(ddp.device) - mean_d) / std_d
        total, parts = model(clean, view1, view2, target_encoder, target_projector, config)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        if need_byol:
            update_moving_average(target_encoder, learner.encoder, config.ema)
            update_moving_average(target_projector, learner.projector, config.ema)
        losses = {k: float(v.detach()) for k, v in parts.items()} | {"total": float(total.detach())}
        if ddp.rank == 0:
            progress(iteration + 1, config.iters,
                     " ".join(f"{k} {v:.4f}" for k, v in losses.items()))
        if (iteration + 1) % config.save_every == 0 and iteration + 1 < config.iters:
            _save_train_state(state_path, config, learner, target_encoder, target_projector,
                              optimizer, rng, generator, iteration + 1, ddp)
    digest = weights_digest(learner.encoder)
    log.info("rank %d/%d: final encoder weights sha256 %s", ddp.rank, ddp.world_size, digest)
    if ddp.rank == 0:
        training_frames = sum(training_files.values())
        metadata = {
            "package_version": __version__,
            "training_data": description or ", ".join(map(str, data)) + (
                f" (stems: {stems})" if stems is not None else ""),
            "training_stems": sum(len(t.stems_db) for t in tracks if t.stems_db is not None),
            "training_files": len(training_files),
            "training_hours": round(training_frames / FRAME_RATE_HZ / 3600, 3),
            "iterations": config.iters,
            "final_losses": losses,
            "seed": config.seed,
            "train_config": _config_record(config),
            "world_size": ddp.world_size,
            "device": str(ddp.device),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "seconds": round(time.perf_counter() - started, 1),
            "init_checkpoint": init_record,
        }
        save_checkpoint(out, learner.encoder, mean_np, std_np, metadata)
        state_path.unlink(missing_ok=True)
    if ddp.world_size > 1:
        dist.barrier()
    return TrainResult(out, config.iters, losses, time.perf_counter() - started, digest,
                       wrote=ddp.rank == 0)


def _config_record(config: TrainConfig) -> dict:
    """The config as plain data (lists, not tuples) so it survives a weights-only round trip."""
    record = asdict(config)
    for key, value in record.items():
        if isinstance(value, tuple):
            record[key] = list(value)
    record.pop("save_every")
    return record


def _gather(value, ddp: _Distributed) -> list:
    if ddp.world_size == 1:
        return [value]
    everything = [None] * ddp.world_size
    dist.all_gather_object(everything, value)
    return everything


def _save_train_state(path, config, learner, target_encoder, target_projector, optimizer,
                      rng, generator, iteration, ddp) -> None:
    """Everything needed to resume exactly; every rank's random state, written by rank 0."""
    numpy_states = _gather(rng.bit_generator.state, ddp)
    torch_states = _gather(generator.get_state(), ddp)
    if ddp.rank != 0:
        return
    state = {
        "config": _config_record(config),
        "world_size": ddp.world_size,
        "learner": learner.state_dict(),
        "target_encoder": target_encoder.state_dict(),
        "target_projector": target_projector.state_dict(),
        "optimizer": optimizer.state_dict(),
        "numpy_rng": numpy_states,
        "torch_rng": torch_states,
        "iteration": iteration,
    }
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)
