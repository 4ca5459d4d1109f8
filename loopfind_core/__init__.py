"""Loopfind core: find every occurrence of a sound in a music track.

The front door::

    from loopfind_core import load_audio, extract_features, RetrievalSession, LoopfindError

Heavy modules (librosa, torch) load on first use, so ``python -m loopfind_core --help`` is quick.
"""

from __future__ import annotations

import importlib

from loopfind_core.base.compile_cache import own_numba_cache
from loopfind_core.base.errors import (
    AudioError,
    CheckpointError,
    ConfigurationError,
    DatasetError,
    LoopfindError,
    SelectionError,
)

__version__ = "0.1.0"

own_numba_cache()  # before anything imports numba or librosa: Loopfind's compile cache

_LAZY_EXPORTS = {  # name → the module that defines it, imported on first use
    "Audio": "base.audio",
    "load_audio": "base.audio",
    "FeatureTrack": "features.track",
    "FEATURE_KINDS": "features.registry",
    "extract_features": "features.registry",
    "RetrievalSession": "retrieval.session",
    "Candidate": "retrieval.session",
    "STRATEGIES": "retrieval.session",
    "read_dataset": "corpus.dataset",
    "evaluate_dataset": "research.evaluate",
    "EvaluationConfig": "research.evaluate",
}

__all__ = [
    "AudioError", "CheckpointError", "ConfigurationError", "DatasetError", "LoopfindError",
    "SelectionError", *_LAZY_EXPORTS,
]


def __getattr__(name: str):
    if name in _LAZY_EXPORTS:
        module = importlib.import_module(f".{_LAZY_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
