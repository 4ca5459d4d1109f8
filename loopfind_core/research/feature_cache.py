"""A folder of computed feature tracks for repeated research runs (``evaluate`` and
``calibrate`` with ``--feature-cache DIR``): the same audio, kind, whitening and encoder give
the same file, read back bit for bit instead of recomputed. Off unless a folder is given; the
app never uses it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from loopfind_core.base.audio import Audio
from loopfind_core.features.encoder import DEFAULT_CHECKPOINT
from loopfind_core.features.registry import extract_features
from loopfind_core.features.track import FeatureTrack


def _key(audio: Audio, kind: str, whiten: float | None, checkpoint: str | None) -> str:
    """What the features depend on: the audio's content, the kind, the whitening and the
    encoder file's bytes (for the learned kinds)."""
    parts = [audio.content_hash, kind, repr(whiten)]
    if kind in ("learned", "fused"):
        path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
        parts.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def features_cached(audio: Audio, kind: str, whiten: float | None, cache: str | Path | None,
                    **options) -> FeatureTrack:
    """:func:`extract_features`, read from ``cache`` (a folder) when it holds them, else
    computed and written there (atomically); without a folder, just computed."""
    if cache is None:
        return extract_features(audio, kind, whiten=whiten, **options)
    folder = Path(cache)
    path = folder / f"{_key(audio, kind, whiten, options.get('checkpoint'))}.npz"
    if path.exists():
        with np.load(path) as stored:
            return FeatureTrack(kind, stored["values"], float(stored["rate"]),
                                stored["power"])
    track = extract_features(audio, kind, whiten=whiten, **options)
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial.npz")
    np.savez(partial, values=track.values, rate=track.frame_rate_hz, power=track.frame_power)
    partial.replace(path)
    return track
