"""A tiny training configuration and the audio it trains on: seconds, not hours, on a CPU."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from loopfind_core.training.config import TrainConfig

from .audio import SR_HZ, planted_track

TINY = TrainConfig(iters=3, batch=8, excerpt_frames=32, augmentations=("noise", "drop", "shift"))


def write_training_audio(folder: Path, tracks: int = 2, duration_s: float = 40.0) -> Path:
    """``tracks`` planted tracks (seeds 0, 1, …) as ``t<seed>.wav`` in ``folder``; returns it."""
    for seed in range(tracks):
        sf.write(folder / f"t{seed}.wav", planted_track(seed, duration_s).samples, SR_HZ)
    return folder
