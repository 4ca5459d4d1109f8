"""The built-in demo corpus: a small generated corpus, regenerated from its seed on first use.

It is the default data of ``evaluate`` and of the tests, and the app's demo track. Generated
audio is never committed; it lives in a cache folder (``$LOOPFIND_CACHE`` or
``~/.cache/loopfind``).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from loopfind_core.base.paths import cache_dir
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.dataset import ANNOTATIONS_FILE

DEMO_SEED = 2024  # the demo corpus; training corpora must use other seeds
DEMO_TRACKS = 8  # two tracks per genre


def demo_corpus_dir() -> Path:
    """The cache folder of the demo corpus, named by everything that determines its content."""
    from loopfind_core.corpus.synth import GENERATOR_VERSION

    return cache_dir() / f"demo-corpus-v{GENERATOR_VERSION}-seed{DEMO_SEED}-{DEMO_TRACKS}"


def ensure_demo_corpus(progress: ProgressCallback = no_progress) -> Path:
    """The demo corpus folder, generated first if it is not there yet (deterministic)."""
    from loopfind_core.corpus.synth import generate_corpus

    folder = demo_corpus_dir()
    if (folder / ANNOTATIONS_FILE).is_file():
        return folder
    partial = folder.with_name(folder.name + ".partial")  # never leave a half-written corpus
    for leftover in (partial, folder):
        shutil.rmtree(leftover, ignore_errors=True)
    generate_corpus(partial, DEMO_TRACKS, DEMO_SEED, progress=progress)
    partial.rename(folder)
    return folder


DEMO_TRACK_INDEX = 0  # the demo corpus's first track (House): the app's built-in demo


def demo_track_dir() -> Path:
    """The cache folder of the app's demo track (one track of the demo corpus + its truth)."""
    from loopfind_core.corpus.synth import GENERATOR_VERSION

    return cache_dir() / f"demo-track-v{GENERATOR_VERSION}-seed{DEMO_SEED}-{DEMO_TRACK_INDEX}"


def demo_track_ready() -> bool:
    """Whether the demo track is on disk (so loading it takes a fraction of a second)."""
    return (demo_track_dir() / ANNOTATIONS_FILE).is_file()


def ensure_demo_track() -> Path:
    """The demo track's folder (one FLAC + ``annotations.csv``), composed first if missing.

    It holds exactly track ``DEMO_TRACK_INDEX`` of the demo corpus, composed alone (its time:
    docs/results.md §3.1; the app composes it in a background thread while its first page
    offers an upload). Safe to call from several threads or processes at once: each composes
    into its own folder and the first to finish wins.
    """
    import soundfile as sf

    from loopfind_core.corpus.dataset import write_annotations
    from loopfind_core.corpus.synth import corpus_track, track_file_name

    folder = demo_track_dir()
    if (folder / ANNOTATIONS_FILE).is_file():
        return folder
    track = corpus_track(DEMO_SEED, DEMO_TRACK_INDEX)
    # one partial folder per process and thread: two of them may compose at once
    partial = folder.with_name(f"{folder.name}.{os.getpid()}-{threading.get_ident()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    name = track_file_name(DEMO_TRACK_INDEX, track.genre)
    sf.write(partial / name, track.samples, track.sr_hz, format="FLAC", subtype="PCM_16")
    write_annotations(partial / ANNOTATIONS_FILE, track.annotations)
    try:
        partial.rename(folder)
    except OSError:  # another process finished first: its copy is identical
        shutil.rmtree(partial, ignore_errors=True)
    return folder
