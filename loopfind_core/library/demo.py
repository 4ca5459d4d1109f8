"""The demo library: the demo corpus (:mod:`loopfind_core.corpus.demo`) indexed for hunts
across tracks, built on first use into the cache folder."""

from __future__ import annotations

from pathlib import Path

from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.demo import demo_corpus_dir, ensure_demo_corpus


def demo_library_dir(kind: str) -> Path:
    """The cache folder of the demo library: the demo corpus indexed with ``kind`` features."""
    return demo_corpus_dir().with_name(f"{demo_corpus_dir().name}-index-{kind}")


def ensure_demo_library(kind: str = "learned", progress: ProgressCallback = no_progress) -> Path:
    """The demo library's index folder: the demo corpus (composed first if missing) indexed
    for library hunts (:mod:`loopfind_core.library.hunt`); nothing is redone when it is there."""
    from loopfind_core.library.store import build_index

    corpus = ensure_demo_corpus(progress)
    out = demo_library_dir(kind)
    build_index(corpus, out, kind=kind, progress=progress)
    return out
