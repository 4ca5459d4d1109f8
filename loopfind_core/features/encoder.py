"""The learned feature extractor of the paper (§III-D): a convolutional encoder over log-mel.

The encoder E maps standardised log-mel frames (128 bins) to one 128-dim vector per frame with
5 convolutions of kernel 3 and 128 channels over time (mel bins are the input channels: 1-D),
so its output plugs into the same window search as MFCC. Decoder, projector and predictor
(used only in training, see :mod:`loopfind_core.training`) are 2-layer convolutional nets.

A checkpoint describes itself and is loaded with ``torch.load(weights_only=True)``::

    {"format": "loopfind-encoder", "format_version": 1,
     "config": {...EncoderConfig...},          # architecture
     "features": {...},                        # log-mel parameters it was trained on
     "normalization": {"mean": [128 floats], "std": [128 floats]},   # dB, per mel bin
     "state_dict": {...encoder weights...},
     "metadata": {...how it was trained...}}
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from loopfind_core.base.audio import SAMPLE_RATE_HZ, Audio
from loopfind_core.base.device import best_device
from loopfind_core.base.errors import CheckpointError
from loopfind_core.base.paths import CHECKPOINTS_DIR
from loopfind_core.base.spectrogram import FRAME_RATE_HZ, HOP_LENGTH, N_FFT, N_MELS, WINDOW, log_mel
from loopfind_core.features.classic import standardize_over_track
from loopfind_core.features.track import FeatureTrack

CHECKPOINT_FORMAT = "loopfind-encoder"
CHECKPOINT_FORMAT_VERSION = 1
DEFAULT_CHECKPOINT = CHECKPOINTS_DIR / "default.pt"
FEATURE_PARAMETERS = {  # what the encoder's input must be computed with
    "sr_hz": SAMPLE_RATE_HZ, "n_fft": N_FFT, "hop_length": HOP_LENGTH, "window": WINDOW,
    "n_mels": N_MELS, "scale": "power_to_db(ref=1.0, top_db=80)",
}
INFERENCE_CHUNK_FRAMES = 8192  # frames per forward pass at inference: bounds memory on long tracks
MAX_CHECKPOINT_BYTES = 64 << 20  # far above any shipped checkpoint's size; this large is not ours
MAX_ENCODER_PARAMETERS = MAX_CHECKPOINT_BYTES // 4  # float32 weights the largest file could hold
MAX_ENCODER_LAYERS = 64  # far deeper than the paper's 5
MAX_RECEPTIVE_FIELD_FRAMES = 4096  # ≈ 95 s of context per output frame: far beyond any loop


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture of the encoder (and of its training heads)."""

    n_mels: int = N_MELS  # input channels: mel bins
    channels: int = 128  # width of every layer; also the embedding size
    layers: int = 5  # convolutions in the encoder (paper: 5)
    kernel_size: int = 3  # frames per convolution (paper: 3)
    dilation_growth: int = 1  # layer i uses dilation growth**i; 1 = the paper, 2 = longer context
    head_layers: int = 2  # convolutions in decoder, projector and predictor (paper: 2)
    residual: bool = False  # E(x) = x + f(x), f's last layer starting at zero (beyond the paper):
    #                         an untrained encoder is then the identity on standardised log-mel

    @property
    def receptive_field_frames(self) -> int:
        return 1 + (self.kernel_size - 1) * sum(
            self.dilation_growth**i for i in range(self.layers)
        )


def conv_stack(
    in_channels: int, hidden: int, out_channels: int, layers: int, kernel_size: int,
    dilation_growth: int = 1,
) -> nn.Sequential:
    """``layers`` same-length 1-D convolutions with ReLU between them (none after the last)."""
    modules: list[nn.Module] = []
    for i in range(layers):
        dilation = dilation_growth**i
        modules.append(
            nn.Conv1d(
                in_channels if i == 0 else hidden,
                out_channels if i == layers - 1 else hidden,
                kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1) // 2,
            )
        )
        if i < layers - 1:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


class Encoder(nn.Module):
    """E: (batch, n_mels, frames) standardised log-mel → (batch, channels, frames)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        if config.residual and config.channels != config.n_mels:
            raise CheckpointError("A residual encoder needs as many channels as mel bins: "
                                  f"{config.channels} channels, {config.n_mels} mel bins.")
        self.config = config
        self.net = conv_stack(
            config.n_mels, config.channels, config.channels, config.layers, config.kernel_size,
            config.dilation_growth,
        )
        if config.residual:
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        out = self.net(mel)
        return mel + out if self.config.residual else out


def head(config: EncoderConfig, out_channels: int) -> nn.Sequential:
    """Decoder D (out = n_mels), projector P and predictor Pr (out = channels)."""
    return conv_stack(
        config.channels, config.channels, out_channels, config.head_layers, config.kernel_size
    )


@dataclass(frozen=True, eq=False)
class LoadedEncoder:
    """An encoder ready for inference, with the normalisation it was trained with."""

    encoder: Encoder
    mean_db: torch.Tensor  # (n_mels, 1)
    std_db: torch.Tensor  # (n_mels, 1)
    metadata: dict
    device: torch.device

    @torch.no_grad()
    def embed(self, log_mel_db: np.ndarray) -> np.ndarray:
        """(n_mels, frames) log-mel in dB → (frames, channels) float32 embeddings."""
        mel = torch.as_tensor(log_mel_db, dtype=torch.float32, device=self.device)
        mel = (mel - self.mean_db) / self.std_db  # (n_mels, frames)
        context = self.encoder.config.receptive_field_frames
        n_frames = mel.shape[1]
        pieces = []
        for start in range(0, n_frames, INFERENCE_CHUNK_FRAMES):
            stop = min(n_frames, start + INFERENCE_CHUNK_FRAMES)
            lo, hi = max(0, start - context), min(n_frames, stop + context)  # overlap: exact
            out = self.encoder(mel[None, :, lo:hi])[0]  # (channels, hi − lo)
            pieces.append(out[:, start - lo : stop - lo])
        return torch.cat(pieces, dim=1).T.contiguous().cpu().numpy()


def normalization_from(mean_db: np.ndarray, std_db: np.ndarray) -> dict:
    return {"mean": [float(v) for v in mean_db], "std": [float(v) for v in std_db]}


def save_checkpoint(
    path: str | Path, encoder: Encoder, mean_db: np.ndarray, std_db: np.ndarray, metadata: dict
) -> None:
    """Write an inference checkpoint (encoder weights + everything needed to use them)."""
    state = {k: v.detach().cpu().clone() for k, v in encoder.state_dict().items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "config": asdict(encoder.config),
        "features": dict(FEATURE_PARAMETERS),
        "normalization": normalization_from(mean_db, std_db),
        "state_dict": state,
        "metadata": metadata,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)  # never leave a half-written checkpoint under the real name


def _read_payload(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {str(path)!r} does not exist.")
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"Checkpoint {path.name!r} is too large to be a Loopfind encoder.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling refuses anything but tensors and plain data
        raise CheckpointError(
            f"Checkpoint {path.name!r} could not be read: it is corrupt, not a PyTorch file, "
            "or holds objects other than weights (those are never unpickled)."
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path.name!r} is not a Loopfind encoder checkpoint.")
    if payload.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{path.name!r} has checkpoint format {payload.get('format_version')!r}; this "
            f"version of Loopfind reads format {CHECKPOINT_FORMAT_VERSION}."
        )
    if payload.get("features") != FEATURE_PARAMETERS:
        raise CheckpointError(
            f"{path.name!r} was trained on other log-mel parameters ({payload.get('features')})."
        )
    return payload


def _config_from(payload: dict, name: str) -> EncoderConfig:
    raw = payload.get("config")
    known = {f.name for f in fields(EncoderConfig)}
    if not isinstance(raw, dict) or set(raw) - known:
        raise CheckpointError(f"{name!r} has an unknown architecture description: {raw!r}.")
    types = {f.name: (bool if f.type in ("bool", bool) else int) for f in fields(EncoderConfig)}
    try:
        config = EncoderConfig(**{k: types[k](v) for k, v in raw.items()})
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{name!r} has an invalid architecture: {raw!r}.") from error
    if config.n_mels != N_MELS:
        raise CheckpointError(f"{name!r} expects {config.n_mels} mel bins; features have {N_MELS}.")
    problem = architecture_problem(config)
    if problem:
        raise CheckpointError(f"{name!r} has an implausible architecture: {problem}.")
    return config


def encoder_parameter_count(config: EncoderConfig) -> int:
    """Weights and biases of the encoder ``config`` describes (its training heads excluded)."""
    widths = [config.n_mels] + [config.channels] * config.layers
    return sum(a * b * config.kernel_size + b for a, b in zip(widths, widths[1:]))


def architecture_problem(config: EncoderConfig) -> str | None:
    """Why ``config`` cannot be a real Loopfind encoder (building it would exhaust memory or
    time), or None. Checked before a single weight is allocated."""
    sizes = {"channels": config.channels, "layers": config.layers,
             "kernel_size": config.kernel_size, "dilation_growth": config.dilation_growth,
             "head_layers": config.head_layers}
    for key, value in sizes.items():
        if value < 1:
            return f"{key} is {value}, not a positive number"
    if config.layers > MAX_ENCODER_LAYERS or config.head_layers > MAX_ENCODER_LAYERS:
        return f"more than {MAX_ENCODER_LAYERS} layers"
    parameters = encoder_parameter_count(config)
    if parameters > MAX_ENCODER_PARAMETERS:
        return f"{parameters:,} weights, more than a {MAX_CHECKPOINT_BYTES >> 20} MiB file holds"
    if config.receptive_field_frames > MAX_RECEPTIVE_FIELD_FRAMES:
        return (f"each output frame would see {config.receptive_field_frames:,} input frames "
                f"(at most {MAX_RECEPTIVE_FIELD_FRAMES})")
    return None


def _normalization_from(payload: dict, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        mean = torch.tensor(payload["normalization"]["mean"], dtype=torch.float32)[:, None]
        std = torch.tensor(payload["normalization"]["std"], dtype=torch.float32)[:, None]
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{name!r} has no valid input normalisation.") from error
    if mean.shape != (N_MELS, 1) or std.shape != (N_MELS, 1) or not bool((std > 0).all()):
        raise CheckpointError(f"{name!r} has a malformed input normalisation.")
    return mean, std


def load_encoder(
    path: str | Path | None = None, device: str | torch.device | None = None
) -> LoadedEncoder:
    """Load an inference checkpoint (default: the shipped ``checkpoints/default.pt``).

    Raises:
        CheckpointError: the file is missing, corrupt, holds anything but weights and plain
            data, or does not match this version's architecture or features.
    """
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    resolved = path.resolve()
    stat = resolved.stat() if resolved.is_file() else None
    key = (str(resolved), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)
    return _load_encoder_cached(key, str(best_device(device)))


@lru_cache(maxsize=4)
def _load_encoder_cached(key: tuple[str, int, int], device: str) -> LoadedEncoder:
    path = Path(key[0])
    payload = _read_payload(path)
    config = _config_from(payload, path.name)
    encoder = Encoder(config)
    try:
        encoder.load_state_dict(payload["state_dict"], strict=True)
    except (KeyError, RuntimeError, TypeError, AttributeError) as error:
        raise CheckpointError(
            f"{path.name!r}'s weights do not fit its architecture: names or shapes differ."
        ) from error
    if not all(bool(torch.isfinite(t).all()) for t in encoder.state_dict().values()):
        raise CheckpointError(f"{path.name!r} holds invalid weights (NaN or infinity).")
    mean, std = _normalization_from(payload, path.name)
    torch_device = torch.device(device)
    encoder.to(torch_device).eval()
    metadata = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
    return LoadedEncoder(encoder, mean.to(torch_device), std.to(torch_device), metadata,
                         torch_device)


def learned_features(
    audio: Audio, checkpoint: str | Path | None = None, device: str | torch.device | None = None
) -> FeatureTrack:
    """Encoder embeddings, (n_frames, channels): one per log-mel frame, each dimension
    standardised over the track (the last layer is linear, so its scale per dimension is
    arbitrary; this is the same treatment ``mel-std`` gets)."""
    loaded = load_encoder(checkpoint, device)
    embeddings = standardize_over_track(loaded.embed(log_mel(audio)))
    return FeatureTrack("learned", embeddings, FRAME_RATE_HZ)


def weights_digest(module: nn.Module) -> str:
    """sha256 of every parameter and buffer, in order: equal digests mean equal weights."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
