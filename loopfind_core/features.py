"""Feature tracks: one vector per spectrogram frame, as in the paper (§III-C, §IV).

Parameters follow the paper: 22050 Hz, frames of 1024 samples every 512 (≈ 46 ms windows,
≈ 23 ms hop, 43.07 frames per second), a Hamming window, 128 mel bins, 20 MFCCs, from librosa.

A registry names the kinds: ``mfcc``, ``mel`` (log-mel in dB), ``mel-std`` (log-mel
standardised per bin over the track) and ``learned`` (the encoder of :mod:`.encoder`). Every
kind is a function ``(audio, **options) -> FeatureTrack``; :data:`OPTIONS_OF_KIND` names the
options a kind takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

import librosa
import numpy as np

from .audio import SAMPLE_RATE_HZ, Audio
from .errors import SelectionError

N_FFT = 1024  # samples per STFT frame: 46.4 ms at 22050 Hz
HOP_LENGTH = 512  # samples between frames: 23.2 ms
WINDOW = "hamming"
N_MELS = 128
N_MFCC = 20
FRAME_RATE_HZ = SAMPLE_RATE_HZ / HOP_LENGTH  # 43.066 frames per second
LOG_MEL_TOP_DB = 80.0  # librosa's default dynamic range for power_to_db


@dataclass(frozen=True, eq=False)
class FeatureTrack:
    """A (frames × dims) float32 feature matrix with its time base."""

    kind: str  # registry name, e.g. "mfcc"
    values: np.ndarray = field(repr=False)  # float32, shape (n_frames, n_dims)
    frame_rate_hz: float  # frames per second; frame i starts at i / frame_rate_hz seconds

    @property
    def n_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_dims(self) -> int:
        return int(self.values.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.frame_rate_hz

    def seconds_to_frames(self, seconds: float) -> int:
        """The nearest frame index (or frame count) to a time in seconds."""
        return int(round(seconds * self.frame_rate_hz))

    def frames_to_seconds(self, frames: float) -> float:
        return frames / self.frame_rate_hz


def frame_grid(n_frames: int) -> FeatureTrack:
    """A feature track with no dimensions: just the frame grid every kind shares, for checking
    a selection against a track's length without computing features."""
    return FeatureTrack("time", np.zeros((n_frames, 0), dtype=np.float32), FRAME_RATE_HZ)


def mel_power(audio: Audio) -> np.ndarray:
    """The mel power spectrogram, float32, shape (N_MELS, n_frames)."""
    stft = librosa.stft(audio.samples, n_fft=N_FFT, hop_length=HOP_LENGTH, window=WINDOW)
    power = np.abs(stft)  # (1 + N_FFT // 2, n_frames), float32
    del stft  # the complex STFT is the largest array here: free it before the next one
    np.square(power, out=power)
    mel_basis = librosa.filters.mel(sr=audio.sr_hz, n_fft=N_FFT, n_mels=N_MELS)
    return (mel_basis @ power).astype(np.float32, copy=False)


def log_mel(audio: Audio) -> np.ndarray:
    """Log-mel spectrogram in dB (ref 1.0, 80 dB range), float32, shape (N_MELS, n_frames)."""
    return librosa.power_to_db(mel_power(audio), ref=1.0, top_db=LOG_MEL_TOP_DB)


def mel_features(audio: Audio) -> FeatureTrack:
    """Log-mel frames: (n_frames, 128) in dB."""
    return FeatureTrack("mel", np.ascontiguousarray(log_mel(audio).T), FRAME_RATE_HZ)


def mfcc_features(audio: Audio) -> FeatureTrack:
    """MFCC frames: (n_frames, 20), the DCT-II of the log-mel spectrogram as librosa computes."""
    mfcc = librosa.feature.mfcc(S=log_mel(audio), n_mfcc=N_MFCC)  # (N_MFCC, n_frames)
    return FeatureTrack("mfcc", np.ascontiguousarray(mfcc.T, dtype=np.float32), FRAME_RATE_HZ)


def standardize_over_track(values: np.ndarray) -> np.ndarray:
    """(n_frames, n_dims) → z-scores per dimension over the track, float32.

    Every dimension then weighs the same in a Euclidean distance, whatever its unit or scale.
    """
    mean = values.mean(axis=0, keepdims=True)
    std = values.std(axis=0, keepdims=True) + 1e-3  # a constant dimension stays finite
    return np.ascontiguousarray((values - mean) / std, dtype=np.float32)


DEFAULT_WHITENING_SHRINKAGE = 0.3  # chosen on the tuning corpus (docs/results.md §6.1)


def whiten_over_track(values: np.ndarray, shrinkage: float = DEFAULT_WHITENING_SHRINKAGE):
    """(n_frames, n_dims) → the frames whitened with the track's own covariance (ZCA), float32.

    Euclidean distance between whitened frames is the Mahalanobis distance under the track's
    frame covariance C: directions the track varies in all the time (the backing's energy, its
    broad spectral shape) weigh less, rare directions (what sets a loop or sample apart) more.
    ``shrinkage`` adds that multiple of the mean eigenvalue to every eigenvalue (C + s·λ̄·I), so
    near-silent directions are not blown up; as s grows this tends to plain centring. Per-dim
    standardisation is the diagonal special case.
    """
    if shrinkage < 0 or not np.isfinite(shrinkage):
        raise SelectionError(f"Whitening shrinkage must be a number ≥ 0, not {shrinkage}.")
    centred = values.astype(np.float64) - values.mean(axis=0, keepdims=True)
    covariance = centred.T @ centred / max(1, len(centred))
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues = np.maximum(eigenvalues, 0.0) + shrinkage * max(eigenvalues.mean(), 1e-12)
    whitener = (eigenvectors / np.sqrt(eigenvalues)) @ eigenvectors.T
    return np.ascontiguousarray(centred @ whitener, dtype=np.float32)


def standardized_mel_features(audio: Audio) -> FeatureTrack:
    """Log-mel with every bin standardised over the track (z-scores): the learned encoder's
    input with no network on it, the control that tells what the network adds."""
    values = standardize_over_track(log_mel(audio).T)  # (n_frames, N_MELS)
    return FeatureTrack("mel-std", values, FRAME_RATE_HZ)


def learned_features(audio: Audio, **options) -> FeatureTrack:
    """The trained encoder's embeddings; options: ``checkpoint`` (path), ``device``."""
    from .encoder import learned_features as embed  # torch model code loads on first use

    return embed(audio, **options)


def fused_features(audio: Audio, **options) -> FeatureTrack:
    """MFCC and learned embeddings side by side, each standardised over the track and scaled
    by 1/sqrt(its dimensions), so the squared distance is the mean per-dimension distance of
    MFCC plus that of the learned kind: the two votes weigh the same. Options as ``learned``."""
    mfcc = standardize_over_track(mfcc_features(audio).values) / np.sqrt(N_MFCC)
    learned = learned_features(audio, **options).values
    learned = learned / np.sqrt(learned.shape[1])
    values = np.ascontiguousarray(np.hstack([mfcc, learned]), dtype=np.float32)
    return FeatureTrack("fused", values, FRAME_RATE_HZ)


FeatureExtractor = Callable[..., FeatureTrack]

FEATURE_KINDS: MappingProxyType[str, FeatureExtractor] = MappingProxyType(
    {
        "mfcc": mfcc_features,
        "mel": mel_features,
        "mel-std": standardized_mel_features,
        "learned": learned_features,
        "fused": fused_features,
    }
)
OPTIONS_OF_KIND = MappingProxyType(
    {"learned": ("checkpoint", "device"), "fused": ("checkpoint", "device")}
)


def extract_features(
    audio: Audio, kind: str, whiten: float | None = None, **options
) -> FeatureTrack:
    """Compute the feature track of ``kind`` (a name in :data:`FEATURE_KINDS`).

    ``whiten``: None (the paper) or a shrinkage ≥ 0 — then the frames are whitened with the
    track's covariance (:func:`whiten_over_track`) whatever the kind. Options a kind does not
    take (see :data:`OPTIONS_OF_KIND`) are ignored, so one set of options can serve every kind.
    """
    if kind not in FEATURE_KINDS:
        raise SelectionError(
            f"Unknown feature kind {kind!r}; choose one of {', '.join(FEATURE_KINDS)}."
        )
    accepted = OPTIONS_OF_KIND.get(kind, ())
    track = FEATURE_KINDS[kind](audio, **{k: v for k, v in options.items() if k in accepted})
    if whiten is None:
        return track
    return FeatureTrack(track.kind, whiten_over_track(track.values, whiten), track.frame_rate_hz)
