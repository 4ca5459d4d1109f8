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

With ``ae_input="view"`` the autoencoder reconstructs the clean excerpt from an augmented view
(a denoising autoencoder); the paper's ``"clean"`` reconstructs the excerpt from itself.

Runs on CUDA when present, else the CPU; under ``torchrun`` it trains with
DistributedDataParallel (NCCL on GPUs, gloo on CPUs), each rank drawing its own excerpts.
"""

from __future__ import annotations

import copy
import logging
import os
import platform
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from . import __version__
from .audio import load_audio
from .demo import cache_dir
from .encoder import Encoder, EncoderConfig, head, save_checkpoint, weights_digest
from .errors import LoopfindError, SelectionError
from .features import FRAME_RATE_HZ, log_mel
from .progress import ProgressCallback, no_progress
from .search import best_device

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus")
LOSSES = ("byol", "ae")
AUGMENTATIONS = ("noise", "drop", "shift", "hpss", "mix", "gain", "eq", "repeat")
PAPER_AUGMENTATIONS = ("noise", "drop", "shift", "hpss")
AE_INPUTS = ("clean", "view")
MIN_STD_DB = 1e-3  # floor of a bin's standard deviation (a constant bin stays finite)
TRAIN_STATE_SUFFIX = ".train-state.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run."""

    iters: int = 1000  # optimiser steps (paper: 1000)
    batch: int = 256  # excerpts per step, over all ranks (paper: 256)
    excerpt_frames: int = 64  # frames per excerpt: 1.5 s at 43 frames/s
    learning_rate: float = 1e-3  # Adam
    ema: float = 0.99  # α of Eq. 2
    ae_weight: float = 1.0  # λ
    losses: tuple[str, ...] = LOSSES
    augmentations: tuple[str, ...] = PAPER_AUGMENTATIONS
    ae_input: str = "clean"  # "clean": D(E(x)) ≈ x (paper); "view": D(E(view)) ≈ x (denoising)
    noise_std: float = 0.3  # σ of the noise augmentation, in standard deviations
    drop_fraction: float = 0.2  # share of mel bins the drop augmentation zeroes
    max_shift_bins: int = 4  # transposition range of the shift augmentation, ± bins
    mix_gain_db: tuple[float, float] = (-12.0, 0.0)  # level of the mixed-in excerpt vs x
    gain_db: float = 6.0  # ± level change of the gain augmentation
    eq_tilt_db: float = 6.0  # ± tilt of the eq augmentation, from the lowest to the highest bin
    repeat_share: float = 0.5  # share of each batch whose view 2 is a mined repetition
    repeat_max_distance: float = 0.5  # a repetition's distance / the track's median distance
    seed: int = 0
    save_every: int = 100  # iterations between resumable saves
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def check(self) -> None:
        unknown = [x for x in self.losses if x not in LOSSES]
        unknown += [x for x in self.augmentations if x not in AUGMENTATIONS]
        if unknown:
            raise SelectionError(
                f"Unknown loss or augmentation {', '.join(unknown)}; losses: "
                f"{', '.join(LOSSES)}; augmentations: {', '.join(AUGMENTATIONS)}."
            )
        if self.ae_input not in AE_INPUTS:
            raise SelectionError(f"ae_input must be one of {', '.join(AE_INPUTS)}.")
        if self.iters < 0 or self.batch < 1 or self.excerpt_frames < 8:
            raise SelectionError("iters must be ≥ 0, batch ≥ 1 and excerpt_frames ≥ 8.")
        if not 0.0 <= self.ema < 1.0:
            raise SelectionError("ema (α) must be in [0, 1).")
        if not 0.0 <= self.repeat_share <= 1.0:
            raise SelectionError("repeat_share must be in [0, 1].")


# ----- training audio ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TrackMel:
    """One training file as log-mel (dB), its harmonic part when HPSS is used, and the
    repetitions it contains when ``repeat`` is used."""

    name: str
    mel_db: np.ndarray  # (N_MELS, frames) float32
    harmonic_db: np.ndarray | None  # (N_MELS, frames) float32, or None
    repeat_pairs: np.ndarray | None = None  # (pairs, 2) int: excerpt start, repetition start


def audio_files(folders: Sequence[str | Path]) -> list[Path]:
    """Every audio file under the folders, sorted (so runs are deterministic)."""
    files: list[Path] = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise SelectionError(f"Training data folder {str(folder)!r} does not exist.")
        files += sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise SelectionError(
            f"No audio files ({', '.join(AUDIO_EXTENSIONS)}) in {', '.join(map(str, folders))}."
        )
    return files


def harmonic_log_mel(samples: np.ndarray, sr_hz: int) -> np.ndarray:
    """Log-mel (dB) of the harmonic part of librosa's harmonic-percussive separation."""
    import librosa

    from .audio import Audio
    from .features import HOP_LENGTH, N_FFT, WINDOW

    stft = librosa.stft(samples, n_fft=N_FFT, hop_length=HOP_LENGTH, window=WINDOW)
    harmonic = librosa.istft(
        librosa.decompose.hpss(stft)[0], hop_length=HOP_LENGTH, window=WINDOW,
        length=len(samples),
    )
    return log_mel(Audio(harmonic.astype(np.float32), sr_hz, sr_hz, 1, "", ""))


def load_track_mel(path: Path, with_harmonic: bool) -> TrackMel:
    """Log-mel of one file, cached on disk by content hash (HPSS costs seconds per track)."""
    audio = load_audio(path)
    cache = cache_dir() / "train-mel" / f"{audio.content_hash}.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            if not with_harmonic or "harmonic_db" in stored:
                harmonic = stored["harmonic_db"] if with_harmonic else None
                return TrackMel(path.name, stored["mel_db"], harmonic)
    mel_db = log_mel(audio)
    harmonic_db = harmonic_log_mel(audio.samples, audio.sr_hz) if with_harmonic else None
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(f"{cache.stem}.{os.getpid()}.partial.npz")
    arrays = {"mel_db": mel_db} | ({"harmonic_db": harmonic_db} if with_harmonic else {})
    np.savez(partial, **arrays)
    os.replace(partial, cache)
    return TrackMel(path.name, mel_db, harmonic_db)


def repetition_pairs(
    mel_db: np.ndarray, frames: int, max_relative_distance: float, partners: int = 4
) -> np.ndarray:
    """Places where the track repeats itself: (pairs, 2) int array of excerpt starts (frames).

    Excerpts of ``frames`` frames are taken every ``frames`` frames; each is paired with up to
    ``partners`` windows elsewhere in the track, the nearest over per-track standardised log-mel
    that overlap neither it nor each other, if their mean squared distance is at most
    ``max_relative_distance`` times the median over all windows: clear repetitions, not merely
    the least bad matches. Several partners reach past the next bar (usually the same mix) to
    the sound's other occurrences under other backings.
    """
    from .features import standardize_over_track
    from .search import WindowSearch

    values = standardize_over_track(mel_db.T)
    if values.shape[0] < 3 * frames:
        return np.zeros((0, 2), dtype=np.int64)
    search = WindowSearch(values, frames, device="cpu")
    pairs = []
    for start in range(0, search.n_starts, frames):
        profile = search.distance_profile(start)
        limit = max_relative_distance * float(profile.median())
        blocked = start
        for _ in range(partners):
            profile[max(0, blocked - frames + 1) : blocked + frames] = float("inf")
            partner = int(torch.argmin(profile))
            if not float(profile[partner]) <= limit:
                break
            pairs.append((start, partner))
            blocked = partner
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _load_or_skip(path: Path, with_harmonic: bool) -> TrackMel | None:
    try:
        return load_track_mel(path, with_harmonic)
    except LoopfindError as error:
        log.warning("skipping %s: %s", path.name, error)
        return None


def load_training_audio(
    files: Sequence[Path], config: TrainConfig, progress: ProgressCallback = no_progress,
    jobs: int = 1,
) -> list[TrackMel]:
    """Log-mel (and HPSS) of every file, in ``jobs`` processes; unreadable files are skipped."""
    with_harmonic = "hpss" in config.augmentations
    tracks = []
    executor = ProcessPoolExecutor(jobs) if jobs > 1 and len(files) > 1 else None
    try:
        loaded = (
            executor.map(_load_or_skip, files, [with_harmonic] * len(files)) if executor
            else (_load_or_skip(path, with_harmonic) for path in files)
        )
        for i, (path, track) in enumerate(zip(files, loaded)):
            if track is not None and track.mel_db.shape[1] >= config.excerpt_frames:
                tracks.append(track)
            progress(i + 1, len(files), f"features of {path.name}")
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    if "repeat" in config.augmentations:  # here, not in the pool: torch must not run in forks
        tracks = [
            replace(t, repeat_pairs=repetition_pairs(
                t.mel_db, config.excerpt_frames, config.repeat_max_distance))
            for t in tracks
        ]
    if not tracks:
        raise SelectionError(
            f"No training file is longer than an excerpt ({config.excerpt_frames} frames)."
        )
    return tracks


def input_normalization(tracks: Sequence[TrackMel]) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and standard deviation (dB) over every training frame."""
    total = sum(t.mel_db.shape[1] for t in tracks)
    mean = sum(t.mel_db.sum(axis=1, dtype=np.float64) for t in tracks) / total
    square = sum((t.mel_db.astype(np.float64) ** 2).sum(axis=1) for t in tracks) / total
    std = np.sqrt(np.maximum(square - mean**2, 0.0)) + MIN_STD_DB
    return mean.astype(np.float32), std.astype(np.float32)


@dataclass(frozen=True, eq=False)
class Batch:
    clean: torch.Tensor  # (batch, N_MELS, frames) dB
    harmonic: torch.Tensor | None  # (batch, N_MELS, frames) dB, same excerpts
    other: torch.Tensor | None  # (batch, N_MELS, frames) dB, unrelated excerpts for "mix"
    repetition: torch.Tensor | None = None  # (batch, N_MELS, frames) dB: where each excerpt
    #                                         repeats in its track (the excerpt itself if not)


def sample_batch(
    tracks: Sequence[TrackMel], size: int, frames: int, rng: np.random.Generator,
    with_other: bool, repeat_share: float = 0.0,
) -> Batch:
    """Random excerpts, files weighted by length; with ``repeat_share`` > 0, that share of the
    batch is drawn from the tracks' mined repetitions, each with its repetition."""
    lengths = np.array([t.mel_db.shape[1] - frames + 1 for t in tracks], dtype=np.float64)
    n_pairs = np.array(
        [0 if t.repeat_pairs is None else len(t.repeat_pairs) for t in tracks], dtype=np.float64
    )
    n_repeated = int(round(size * repeat_share)) if n_pairs.sum() else 0

    def excerpts(count: int) -> list[tuple[int, int]]:
        picks = rng.choice(len(tracks), size=count, p=lengths / lengths.sum())
        return [(i, int(rng.integers(0, lengths[i]))) for i in picks]

    def repetitions(count: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        picks = rng.choice(len(tracks), size=count, p=n_pairs / n_pairs.sum())
        rows = [tracks[i].repeat_pairs[rng.integers(len(tracks[i].repeat_pairs))] for i in picks]
        return ([(i, int(r[0])) for i, r in zip(picks, rows)],
                [(i, int(r[1])) for i, r in zip(picks, rows)])

    def stack(places, which: str = "mel_db") -> torch.Tensor:
        return torch.from_numpy(
            np.stack([getattr(tracks[i], which)[:, s : s + frames] for i, s in places])
        )

    places = excerpts(size - n_repeated)
    repeated_at = list(places)  # no repetition: view 2 comes from the excerpt itself
    if n_repeated:
        more_places, more_repeated_at = repetitions(n_repeated)
        places, repeated_at = places + more_places, repeated_at + more_repeated_at
    has_harmonic = tracks[0].harmonic_db is not None
    return Batch(
        clean=stack(places),
        harmonic=stack(places, "harmonic_db") if has_harmonic else None,
        other=stack(excerpts(size)) if with_other else None,
        repetition=stack(repeated_at) if repeat_share > 0 else None,
    )


# ----- augmentations (on dB before standardisation, or on standardised values) -------------


def mix_in(x_db: torch.Tensor, other_db: torch.Tensor, gain_db: torch.Tensor) -> torch.Tensor:
    """Add another excerpt in the power domain at ``gain_db`` (batch,): a new backing."""
    power = 10.0 ** (x_db / 10.0) + 10.0 ** ((other_db + gain_db[:, None, None]) / 10.0)
    return 10.0 * torch.log10(power)


def tilt_db(batch: int, n_mels: int, max_tilt_db: float, generator: torch.Generator):
    """A linear dB tilt across the bins, (batch, n_mels, 1): a shelving-filter change."""
    slope = (torch.rand(batch, 1, generator=generator) * 2 - 1) * max_tilt_db
    ramp = torch.linspace(-0.5, 0.5, n_mels)[None, :]
    return (slope * ramp)[:, :, None]


def drop_bins(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Zero a random ``fraction`` of the mel bins of each excerpt (standardised: 0 = mean)."""
    keep = torch.rand(x.shape[0], x.shape[1], 1, generator=generator) >= fraction
    return x * keep


def shift_bins(x: torch.Tensor, max_bins: int, generator: torch.Generator) -> torch.Tensor:
    """Transpose each excerpt by a random number of mel bins in ±max_bins, edges repeated."""
    if max_bins == 0:
        return x
    shifts = torch.randint(-max_bins, max_bins + 1, (x.shape[0],), generator=generator)
    n_mels = x.shape[1]
    source = (torch.arange(n_mels)[None, :] - shifts[:, None]).clamp(0, n_mels - 1)
    return torch.gather(x, 1, source[:, :, None].expand(-1, -1, x.shape[2]))


def make_view(
    batch: Batch, use_harmonic: bool, config: TrainConfig, mean: torch.Tensor,
    std: torch.Tensor, generator: torch.Generator, use_repetition: bool = False,
) -> torch.Tensor:
    """One augmented, standardised view (batch, N_MELS, frames) of the batch's excerpts (or of
    their repetitions elsewhere in the track, with ``use_repetition``)."""
    augs = config.augmentations
    x = batch.harmonic if use_harmonic and batch.harmonic is not None else batch.clean
    if use_repetition and batch.repetition is not None:
        x = batch.repetition
    n = x.shape[0]
    if "mix" in augs and batch.other is not None:
        low, high = config.mix_gain_db
        gain = low + (high - low) * torch.rand(n, generator=generator)
        x = mix_in(x, batch.other, gain)
    if "gain" in augs:
        x = x + ((torch.rand(n, 1, 1, generator=generator) * 2 - 1) * config.gain_db)
    if "eq" in augs:
        x = x + tilt_db(n, x.shape[1], config.eq_tilt_db, generator)
    x = (x - mean) / std
    if "shift" in augs:
        x = shift_bins(x, config.max_shift_bins, generator)
    if "drop" in augs:
        x = drop_bins(x, config.drop_fraction, generator)
    if "noise" in augs:
        x = x + config.noise_std * torch.randn(x.shape, generator=generator)
    return x


# ----- the networks and the loss -----------------------------------------------------------


class Learner(nn.Module):
    """The online networks: encoder E, decoder D, projector P, predictor Pr."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.encoder = Encoder(config)
        self.decoder = head(config, config.n_mels)
        self.projector = head(config, config.channels)
        self.predictor = head(config, config.channels)

    def forward(self, clean, view1, view2, target_encoder, target_projector, config):
        """Returns (total loss, {name: value}); inputs are standardised (batch, mels, frames)."""
        parts: dict[str, torch.Tensor] = {}
        if "byol" in config.losses:
            online1 = self.predictor(self.projector(self.encoder(view1)))
            online2 = self.predictor(self.projector(self.encoder(view2)))
            with torch.no_grad():
                target1 = target_projector(target_encoder(view1))
                target2 = target_projector(target_encoder(view2))
            parts["byol"] = byol_loss(online1, target2) + byol_loss(online2, target1)
        if "ae" in config.losses:
            source = view1 if config.ae_input == "view" else clean
            parts["ae"] = F.mse_loss(self.decoder(self.encoder(source)), clean)
        total = parts.get("byol", 0.0) + config.ae_weight * parts.get("ae", 0.0)
        return total, parts


def byol_loss(online: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Normalised squared error per frame, (batch, channels, frames) → scalar: 2 − 2·cos."""
    online = F.normalize(online, dim=1)
    target = F.normalize(target, dim=1)
    return (2.0 - 2.0 * (online * target).sum(dim=1)).mean()


@torch.no_grad()
def update_moving_average(target: nn.Module, online: nn.Module, alpha: float) -> None:
    """θ_f ← α·θ_f + (1 − α)·θ  (Eq. 2)."""
    for t, o in zip(target.parameters(), online.parameters()):
        t.mul_(alpha).add_(o.detach(), alpha=1.0 - alpha)


# ----- the loop ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    iterations: int
    final_losses: dict[str, float]
    seconds: float
    weights_digest: str  # sha256 of the encoder's weights on this rank


@dataclass(frozen=True)
class _Distributed:
    rank: int
    world_size: int
    device: torch.device


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
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    return _Distributed(dist.get_rank(), dist.get_world_size(), chosen)


def _train_state_path(out: Path) -> Path:
    return out.with_name(out.name + TRAIN_STATE_SUFFIX)


def train(
    data: Sequence[str | Path], out: str | Path, config: TrainConfig = TrainConfig(),
    device: str | None = None, resume: bool = False, progress: ProgressCallback = no_progress,
    description: str = "",
) -> TrainResult:
    """Train an encoder on every audio file under ``data`` and write ``out``."""
    config.check()
    started = time.perf_counter()
    out = Path(out)
    ddp = _init_distributed(device)
    if config.batch % ddp.world_size:
        raise SelectionError(f"batch {config.batch} must divide among {ddp.world_size} ranks.")
    files = audio_files(data)
    tracks = load_training_audio(
        files, config, progress if ddp.rank == 0 else no_progress,
        jobs=(os.cpu_count() or 1) if ddp.world_size == 1 else 1,
    )
    mean_np, std_np = input_normalization(tracks)
    mean = torch.from_numpy(mean_np)[None, :, None]  # (1, N_MELS, 1)
    std = torch.from_numpy(std_np)[None, :, None]

    torch.manual_seed(config.seed)  # identical initial weights on every rank
    learner = Learner(config.encoder).to(ddp.device)
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
            raise SelectionError(f"{state_path.name} was saved with other settings; not resuming.")
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
            config.repeat_share if "repeat" in config.augmentations else 0.0,
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
        training_frames = sum(t.mel_db.shape[1] for t in tracks)
        metadata = {
            "package_version": __version__,
            "training_data": description or ", ".join(map(str, data)),
            "training_files": len(tracks),
            "training_hours": round(training_frames / FRAME_RATE_HZ / 3600, 3),
            "iterations": config.iters,
            "final_losses": losses,
            "seed": config.seed,
            "train_config": _config_record(config),
            "world_size": ddp.world_size,
            "device": str(ddp.device),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "seconds": round(time.perf_counter() - started, 1),
        }
        save_checkpoint(out, learner.encoder, mean_np, std_np, metadata)
        state_path.unlink(missing_ok=True)
    if ddp.world_size > 1:
        dist.barrier()
    return TrainResult(out, config.iters, losses, time.perf_counter() - started, digest)


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


def with_overrides(config: TrainConfig, **changes) -> TrainConfig:
    """A copy of ``config`` with some fields changed (``encoder`` fields by name too)."""
    encoder_fields = {k: changes.pop(k) for k in list(changes) if hasattr(config.encoder, k)}
    if encoder_fields:
        changes["encoder"] = replace(config.encoder, **encoder_fields)
    return replace(config, **changes)


