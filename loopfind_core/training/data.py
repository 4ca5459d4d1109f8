"""Training data: log-mel of every training track (and its harmonic part for ``hpss``), the
log-mel of each of its stems (per-channel solo renders, for the ``stems`` views), the input
normalisation, and the repetitions mined in each track for the ``repeat`` views."""

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
SILENT_STEM_DB = -90.0  # a stem whose loudest mel bin never exceeds this is silent: skipped


# ----- training audio ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TrackMel:
    """One training file as log-mel (dB), its harmonic part when HPSS is used, and the
    repetitions it contains when ``repeat`` is used."""

    name: str
    mel_db: np.ndarray  # (N_MELS, frames) float32
    harmonic_db: np.ndarray | None  # (N_MELS, frames) float32, or None
    repeat_pairs: np.ndarray | None = None  # (pairs, 2) int: excerpt start, repetition start
    stems_db: np.ndarray | None = None  # (stems, N_MELS, frames) float16: its stems' log-mel


def harmonic_log_mel(samples: np.ndarray, sr_hz: int) -> np.ndarray:
    """Log-mel (dB) of the harmonic part of librosa's harmonic-percussive separation."""
    import librosa

    from loopfind_core.base.audio import Audio
    from loopfind_core.base.compile_cache import ensure_compiled
    from loopfind_core.base.spectrogram import HOP_LENGTH, N_FFT, WINDOW

    ensure_compiled()  # librosa's kernels, compiled once under a lock
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


def load_stems(folder: Path, frames: int) -> np.ndarray | None:
    """Log-mel (dB, float16) of every non-silent stem in ``folder`` (audio files, each
    sample-aligned with the mix), cut or padded (with silence) to the mix's ``frames``:
    (stems, N_MELS, frames), or None when the folder holds none. Mixing stems back together is
    done in the mel-power domain (a sum of mel powers: the phase interference between stems is
    ignored)."""
    if not folder.is_dir():
        return None
    from loopfind_core.base.audio import AUDIO_EXTENSIONS

    stems = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS):
        try:
            mel_db = load_track_mel(path, False).mel_db
        except LoopfindError:  # a silent channel (load_audio refuses those) or unreadable
            continue
        if float(mel_db.max()) <= SILENT_STEM_DB:
            continue
        fitted = np.full((mel_db.shape[0], frames), float(mel_db.min()), dtype=np.float16)
        fitted[:, : min(frames, mel_db.shape[1])] = mel_db[:, :frames]
        stems.append(fitted)
    return np.stack(stems) if stems else None


def _window_power(db: np.ndarray, frames: int) -> np.ndarray:
    """Mean mel power of every window of ``frames`` frames: (n_frames − frames + 1,)."""
    power = (10.0 ** (db.astype(np.float64) / 10.0)).mean(axis=0)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    return (cumulative[frames:] - cumulative[:-frames]) / frames


def stem_repetition_pairs(
    mel_db: np.ndarray, stems_db: np.ndarray, frames: int, stem_distance: float = 0.1,
    backing_change: float = 0.25, partners: int = 2, pool: int = 4,
) -> np.ndarray:
    """Places where one stem repeats under another backing: (pairs, 2) int array of excerpt
    starts (frames) in the mix, as :func:`repetition_pairs`.

    For every stem and every ``frames``-th start where the stem is audible (at least a tenth of
    the mix's power), up to ``partners`` non-overlapping windows elsewhere where the same stem
    plays nearly the same thing (its distance at most ``stem_distance`` times the median of
    that stem's distances: tracker channels repeat sample-exactly) while the mix differs (its
    distance at least ``backing_change`` times the mix's median): the same sound, really
    mixed, over another backing — the task's occurrences, found without labels. Distances are
    over log-mel averaged over ``pool`` adjacent bins (for speed)."""
    from loopfind_core.retrieval.search import WindowSearch

    n_frames = mel_db.shape[1]
    if n_frames < 3 * frames:
        return np.zeros((0, 2), dtype=np.int64)

    def pooled(db: np.ndarray) -> np.ndarray:
        x = db.astype(np.float32)
        return np.ascontiguousarray(x.reshape(x.shape[0] // pool, pool, -1).mean(axis=1).T)

    mix_search = WindowSearch(pooled(mel_db), frames, device="cpu")
    mix_power = _window_power(mel_db, frames)
    mix_profiles: dict[int, torch.Tensor] = {}
    pairs = []
    for stem in stems_db:
        audible = torch.from_numpy(_window_power(stem, frames) >= 0.1 * mix_power)
        search = WindowSearch(pooled(stem), frames, device="cpu")
        for start in range(0, search.n_starts, frames):
            if not bool(audible[start]):
                continue
            profile = search.distance_profile(start)
            if start not in mix_profiles:
                mix_profiles[start] = mix_search.distance_profile(start)
            mix_profile = mix_profiles[start]
            ok = ((profile <= stem_distance * float(profile.median())) & audible
                  & (mix_profile >= backing_change * float(mix_profile.median())))
            profile = torch.where(ok, profile, torch.full_like(profile, float("inf")))
            blocked = start
            for _ in range(partners):
                profile[max(0, blocked - frames + 1) : blocked + frames] = float("inf")
                partner = int(torch.argmin(profile))
                if not torch.isfinite(profile[partner]):
                    break
                pairs.append((start, partner))
                blocked = partner
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _load_or_skip(path: Path, with_harmonic: bool, stems_root: Path | None = None
                  ) -> TrackMel | None:
    try:
        track = load_track_mel(path, with_harmonic)
        if stems_root is not None:
            stems = load_stems(stems_root / path.stem, track.mel_db.shape[1])
            track = replace(track, stems_db=stems)
        return track
    except LoopfindError as error:
        log.warning("skipping %s: %s", path.name, error)
        return None


def load_training_audio(
    files: Sequence[Path], config: TrainConfig, progress: ProgressCallback = no_progress,
    jobs: int = 1, stems: Path | None = None,
) -> list[TrackMel]:
    """Log-mel (and HPSS) of every file, in ``jobs`` processes; unreadable files are skipped.
    With ``stems`` (and the ``stems`` augmentation), the stems of ``<file>.wav`` are the audio
    files of ``stems/<file>/``."""
    with_harmonic = "hpss" in config.augmentations
    uses_stems = "stems" in config.augmentations or "stemrep" in config.augmentations
    stems_root = stems if uses_stems else None
    tracks = []
    executor = ProcessPoolExecutor(jobs) if jobs > 1 and len(files) > 1 else None
    try:
        loaded = (
            executor.map(_load_or_skip, files, [with_harmonic] * len(files),
                         [stems_root] * len(files)) if executor
            else (_load_or_skip(path, with_harmonic, stems_root) for path in files)
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
    if "stemrep" in config.augmentations:  # stems' own repetitions join the mined pairs
        tracks = [t if t.stems_db is None else replace(t, repeat_pairs=np.concatenate([
            np.zeros((0, 2), np.int64) if t.repeat_pairs is None else t.repeat_pairs,
            stem_repetition_pairs(t.mel_db, t.stems_db, config.excerpt_frames)]))
            for t in tracks]
    if not tracks:
        raise DatasetError(
            f"No training file is longer than an excerpt ({config.excerpt_frames} frames)."
        )
    if stems_root is not None and not any(t.stems_db is not None for t in tracks):
        raise DatasetError(f"The stems augmentation found no stems under {stems_root} "
                           "(one folder per training file, named as the file without suffix).")
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
