"""Shared fixtures: small generated audio with planted sounds, written to tmp folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.features.registry import extract_features

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


def planted_track(seed: int = 0, duration_s: float = 40.0) -> PlantedTrack:
    """Noise and a four-on-the-floor kick as backing, a chirp planted at four places."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SR_HZ)
    samples = 0.03 * rng.standard_normal(n).astype(np.float32)
    kick = chirp(0.15, 120.0, 45.0)
    for beat_s in np.arange(0.0, duration_s - 0.2, 0.5):
        i = int(beat_s * SR_HZ)
        samples[i : i + len(kick)] += 0.3 * kick
    sound = 0.4 * chirp(0.6, 2500.0, 600.0)
    starts = (3.1, 11.7, 22.4, 33.05)
    for start in starts:
        i = int(start * SR_HZ)
        samples[i : i + len(sound)] += sound
    return PlantedTrack(samples, starts, 0.6)


@pytest.fixture(scope="session")
def planted() -> PlantedTrack:
    return planted_track()


@pytest.fixture(scope="session")
def planted_mfcc(planted):
    return extract_features(audio_from_samples(planted.samples, SR_HZ), "mfcc")


@pytest.fixture
def planted_wav(tmp_path: Path, planted) -> Path:
    path = tmp_path / "planted.wav"
    sf.write(path, planted.samples, SR_HZ, subtype="PCM_16")
    return path


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Tests never write to the user's cache (~/.cache/loopfind)."""
    import os

    previous = os.environ.get("LOOPFIND_CACHE")
    os.environ["LOOPFIND_CACHE"] = str(tmp_path_factory.mktemp("loopfind-cache"))
    yield
    if previous is None:
        os.environ.pop("LOOPFIND_CACHE", None)
    else:
        os.environ["LOOPFIND_CACHE"] = previous
