"""Loopfind core: find every occurrence of a sound in a music track.

The front door::

    from loopfind_core import load_audio, extract_features, RetrievalSession, LoopfindError

Heavy modules (librosa, torch) load on first use, so ``python -m loopfind_core --help`` is quick.
"""

from __future__ import annotations

import importlib

from loopfind_core.base.errors import (
    AudioError,
    CheckpointError,
    DatasetError,
    LoopfindError,
    SelectionError,
)

__version__ = "0.1.0"

_LAZY_EXPORTS = {
    "Audio": "audio",
    "load_audio": "audio",
    "FeatureTrack": "features",
    "FEATURE_KINDS": "features",
    "extract_features": "features",
    "RetrievalSession": "session",
    "Candidate": "session",
    "STRATEGIES": "session",
    "read_dataset": "dataset",
    "evaluate_dataset": "evaluate",
    "EvaluationConfig": "evaluate",
}

__all__ = [
    "AudioError", "CheckpointError", "DatasetError", "LoopfindError", "SelectionError",
    *_LAZY_EXPORTS,
]


def __getattr__(name: str):
    if name in _LAZY_EXPORTS:
        module = importlib.import_module(f".{_LAZY_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
