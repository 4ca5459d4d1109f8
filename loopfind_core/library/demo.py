"""The demo library: the demo corpus (:mod:`loopfind_core.corpus.demo`) indexed for hunts
across tracks, built on first use into the cache folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from loopfind_core.base.disk import disk_errors, remove_leftovers
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.demo import demo_corpus_dir, ensure_demo_corpus

DEMO_LIBRARY_JOBS = 2  # extraction processes: each loads torch and the encoder (its memory:
# docs/results.md §3.1); one per core would multiply that by the cores while the demo library
# is built


def demo_library_dir(kind: str) -> Path:
    """The cache folder of the demo library: the demo corpus indexed with ``kind`` features."""
    return demo_corpus_dir().with_name(f"{demo_corpus_dir().name}-index-{kind}")


def _remove_half_written(kind: str) -> None:
    """What a failed build leaves: the half-composed corpus folder (``….partial``) and the
    index's temporary files older than a minute (a younger one may be another process's)."""
    corpus = demo_corpus_dir()
    shutil.rmtree(corpus.with_name(corpus.name + ".partial"), ignore_errors=True)
    remove_leftovers(demo_library_dir(kind), grace_s=60.0)


def ensure_demo_library(kind: str = "learned", progress: ProgressCallback = no_progress) -> Path:
    """The demo library's index folder: the demo corpus (composed first if missing) indexed
    for library hunts (:mod:`loopfind_core.library.hunt`) on at most :data:`DEMO_LIBRARY_JOBS`
    processes; nothing is redone when it is there.

    Raises:
        DiskWriteError: it could not be written (:class:`~loopfind_core.base.disk.DiskFullError`
            when the disk is full); what was half written is removed, what was finished kept.
    """
    from loopfind_core.library.store import build_index

    with disk_errors("the demo library", lambda: _remove_half_written(kind)):
        corpus = ensure_demo_corpus(progress)
        out = demo_library_dir(kind)
        build_index(corpus, out, kind=kind, progress=progress,
                    jobs=min(DEMO_LIBRARY_JOBS, os.cpu_count() or 1))
    return out
