"""The classic feature kinds, computed from the log-mel spectrogram with no network: MFCC (the
paper's), log-mel in dB, log-mel standardised per bin (the control that tells what a network
adds), and the per-track standardisation and whitening any kind can go through.
"""

from __future__ import annotations

import librosa
import numpy as np

from loopfind_core.base.audio import Audio
from loopfind_core.base.errors import SelectionError
from loopfind_core.base.spectrogram import FRAME_RATE_HZ, N_MFCC, log_mel
from loopfind_core.features.track import FeatureTrack


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
