"""Training data: log-mel of every training track (and its harmonic part for ``hpss``), the
input normalisation, and the repetitions mined in each track for the ``repeat`` views."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from loopfind_core.base.audio import load_audio
from loopfind_core.base.errors import DatasetError, LoopfindError
from loopfind_core.base.paths import cache_dir
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.base.spectrogram import log_mel
from loopfind_core.training.config import TrainConfig

log = logging.getLogger(__name__)

MIN_STD_DB = 1e-3  # floor of a bin's standard deviation (a constant bin stays finite)


# ----- training audio ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TrackMel:
    """One training file as log-mel (dB), its harmonic part when HPSS is used, and the
    repetitions it contains when ``repeat`` is used."""

    name: str
    mel_db: np.ndarray  # (N_MELS, frames) float32
    harmonic_db: np.ndarray | None  # (N_MELS, frames) float32, or None
    repeat_pairs: np.ndarray | None = None  # (pairs, 2) int: excerpt start, repetition start


def harmonic_log_mel(samples: np.ndarray, sr_hz: int) -> np.ndarray:
    """Log-mel (dB) of the harmonic part of librosa's harmonic-percussive separation."""
    import librosa

    from loopfind_core.base.audio import Audio
    from loopfind_core.base.spectrogram import HOP_LENGTH, N_FFT, WINDOW

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
    from loopfind_core.features.classic import standardize_over_track
    from loopfind_core.retrieval.search import WindowSearch

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
        raise DatasetError(
            f"No training file is longer than an excerpt ({config.excerpt_frames} frames)."
        )
    return tracks


def mel_moments(tracks: Sequence[TrackMel]) -> np.ndarray:
    """[frames, Σ x per bin…, Σ x² per bin…] (float64) over every frame of ``tracks``: sums,
    so the moments of several ranks' shares add up to those of all the training data."""
    frames = sum(t.mel_db.shape[1] for t in tracks)
    total = sum(t.mel_db.sum(axis=1, dtype=np.float64) for t in tracks)
    square = sum((t.mel_db.astype(np.float64) ** 2).sum(axis=1) for t in tracks)
    return np.concatenate([[float(frames)], total, square])


def normalization_from_moments(moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and standard deviation (dB) from :func:`mel_moments` (summed over ranks)."""
    frames, (total, square) = moments[0], np.split(moments[1:], 2)
    mean = total / frames
    std = np.sqrt(np.maximum(square / frames - mean**2, 0.0)) + MIN_STD_DB
    return mean.astype(np.float32), std.astype(np.float32)
