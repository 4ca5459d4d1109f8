"""Small generated audio with a planted sound: a decaying chirp over noise and a kick."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SR_HZ = 22050


@dataclass(frozen=True)
class PlantedTrack:
    samples: np.ndarray  # float32 mono at SR_HZ
    sound_starts_s: tuple[float, ...]  # where the planted sound occurs
    sound_duration_s: float


def chirp(duration_s: float, f0_hz: float, f1_hz: float, sr_hz: int = SR_HZ) -> np.ndarray:
    """A decaying linear chirp: a zap-like one-shot."""
    t = np.arange(int(duration_s * sr_hz)) / sr_hz
    phase = 2 * np.pi * (f0_hz * t + 0.5 * (f1_hz - f0_hz) / duration_s * t**2)
    return (np.sin(phase) * np.exp(-2.0 * t / duration_s)).astype(np.float32)


def kick_backing(rng: np.random.Generator, duration_s: float) -> np.ndarray:
    """The backing of every planted track: noise and a four-on-the-floor kick every 0.5 s,
    float32 mono at SR_HZ, ``duration_s`` seconds long."""
    samples = 0.03 * rng.standard_normal(int(duration_s * SR_HZ)).astype(np.float32)
    kick = chirp(0.15, 120.0, 45.0)
    for beat_s in np.arange(0.0, duration_s - 0.2, 0.5):
        i = int(beat_s * SR_HZ)
        samples[i : i + len(kick)] += 0.3 * kick
    return samples


def planted_track(seed: int = 0, duration_s: float = 40.0) -> PlantedTrack:
    """Noise and a four-on-the-floor kick as backing, a chirp planted at four places."""
    samples = kick_backing(np.random.default_rng(seed), duration_s)
    sound = 0.4 * chirp(0.6, 2500.0, 600.0)
    starts = (3.1, 11.7, 22.4, 33.05)
    for start in starts:
        i = int(start * SR_HZ)
        samples[i : i + len(sound)] += sound
    return PlantedTrack(samples, starts, 0.6)


def is_planted(candidate, planted: PlantedTrack) -> bool:
    """Whether a proposed window (``start_s``, ``end_s``) overlaps one of the planted copies
    after the first (the query) by at least half the sound."""
    return any(
        min(candidate.end_s, s + planted.sound_duration_s) - max(candidate.start_s, s)
        >= 0.5 * planted.sound_duration_s
        for s in planted.sound_starts_s[1:]
    )


def write_tiny_dataset(root: Path) -> Path:
    """A dataset folder (``annotations.csv`` and two WAVs, ``t0.wav`` House and ``t1.wav``
    Dubstep): each track's planted chirp annotated as a sample (4 occurrences), and one loop
    with a single occurrence (which evaluation skips). Returns ``root``."""
    from loopfind_core.corpus.dataset import Annotation, write_annotations

    rows = []
    for i, genre in enumerate(["House", "Dubstep"]):
        track = planted_track(seed=i)
        name = f"t{i}.wav"
        sf.write(root / name, track.samples, SR_HZ, subtype="PCM_16")
        for start in track.sound_starts_s:
            rows.append(
                Annotation(name, genre, "sample", "chirp", start, start + track.sound_duration_s)
            )
        rows.append(Annotation(name, genre, "loop", "lonely", 1.0, 2.0))  # one occurrence
    write_annotations(root / "annotations.csv", rows)
    return root
