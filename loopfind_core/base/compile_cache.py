"""Loopfind's own numba compile cache: where librosa's compiled kernels are kept, and one
process at a time compiling them.

librosa decorates its kernels (the beat tracker's dynamic program, peak picking, local maxima,
zero crossings…) with numba's ``cache=True``; by default numba writes those compiled files
beside librosa's sources (``site-packages/librosa/__pycache__``). Processes that compile them
at the same time overwrite each other's files and leave an index that points at the wrong
machine code: every later process that loads it dies with a segmentation fault (numba issue
10128). Measured here (docs/reliability.md, "Crash containment and the compile cache"): the
log-mel and MFCC path alone compiles several cached kernel families and the beat tracker more,
so replacing only the beat tracker would not remove the risk.

So Loopfind owns the cache:

- :func:`own_numba_cache` points ``NUMBA_CACHE_DIR`` at :func:`compile_cache_folder` (a folder
  per numba, librosa and Python version, so an upgrade never loads stale code). It runs when
  ``loopfind_core`` is imported, before anything imports numba or librosa.
- :func:`ensure_compiled` — called by every function of the core that uses librosa, once per
  process — takes an exclusive OS lock (``fcntl.flock``) on that folder and runs
  :func:`_compile_kernels` under it: a second of audio through every librosa kernel Loopfind
  uses. The first process compiles them and writes the cache; every other process waits on the
  lock instead of compiling at the same time, then loads the finished files.
- :func:`warm_compile_cache` is what ``./run`` and ``loopfind app`` do before the server
  starts, with a progress line, so no visitor waits for a compile.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from loopfind_core.base.paths import cache_dir

COMPILE_CACHE_ENV = "LOOPFIND_COMPILE_CACHE"  # a folder of compile caches shared by several
# Loopfind cache folders (the tests set it: each test run has its own cache folder)
LOCK_NAME = ".lock"
COMPLETE_NAME = "complete"  # written once every kernel is compiled into the folder
_SAMPLE_RATE_HZ = 22050  # the kernels' inputs: one second of a click track at this rate

_compiled_in_this_process = False
_process_lock = threading.Lock()  # threads of one process: one of them compiles


def compile_cache_tag() -> str:
    """The folder name of this installation's cache: ``numba<v>-librosa<v>-py<major.minor>``
    (read from the installed packages' metadata, without importing them)."""
    numba = importlib.metadata.version("numba")
    librosa = importlib.metadata.version("librosa")
    return f"numba{numba}-librosa{librosa}-py{sys.version_info.major}.{sys.version_info.minor}"


def compile_cache_folder() -> Path:
    """Where numba keeps librosa's compiled kernels for Loopfind:
    ``$LOOPFIND_COMPILE_CACHE/<tag>``, else ``<cache folder>/numba/<tag>``
    (:func:`~loopfind_core.base.paths.cache_dir`, :func:`compile_cache_tag`)."""
    root = os.environ.get(COMPILE_CACHE_ENV)
    return Path(root) / compile_cache_tag() if root else cache_dir() / "numba" / compile_cache_tag()


def own_numba_cache() -> Path:
    """Point numba's cache at :func:`compile_cache_folder` (``NUMBA_CACHE_DIR``, inherited by
    every process this one starts); if numba is already imported, make it re-read the setting.
    Returns the folder."""
    folder = compile_cache_folder()
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    numba = sys.modules.get("numba")  # librosa's dependency, read only when already loaded
    if numba is not None and numba.core.config.CACHE_DIR != str(folder):
        numba.core.config.reload_config()
    return folder


def _compile_kernels() -> None:
    """Run one second of audio through every librosa kernel Loopfind uses (STFT, mel filters,
    dB, onset strength, the beat tracker, MFCC), so numba compiles them, or loads them from the
    cache."""
    import librosa
    import numpy as np

    samples = np.zeros(_SAMPLE_RATE_HZ, dtype=np.float32)
    samples[:: _SAMPLE_RATE_HZ // 8] = 1.0  # eight clicks: onsets for the beat tracker
    power = np.abs(librosa.stft(samples, n_fft=1024, hop_length=256)) ** 2
    mel = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=_SAMPLE_RATE_HZ))
    onsets = librosa.onset.onset_strength(S=mel, sr=_SAMPLE_RATE_HZ, hop_length=256)
    librosa.beat.beat_track(onset_envelope=onsets, sr=_SAMPLE_RATE_HZ, hop_length=256)
    librosa.feature.mfcc(S=mel, n_mfcc=13)
    librosa.zero_crossings(samples)


def ensure_compiled(report: Callable[[str], None] | None = None) -> bool:
    """Make librosa's kernels ready in this process: under an exclusive lock on the compile
    cache folder, compile them (the first process of an installation) or load them from the
    cache. Every process that uses librosa calls this first; only the first call of a process
    does anything. ``report`` hears one line before a compile starts (minutes on a loaded
    machine), none when the cache is complete. True if this call compiled (or loaded) them,
    False if this process had already."""
    global _compiled_in_this_process
    if _compiled_in_this_process:
        return False
    with _process_lock:
        if _compiled_in_this_process:
            return False
        folder = own_numba_cache()
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / LOCK_NAME, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # other processes wait here; released on close
            complete = folder / COMPLETE_NAME
            if report is not None and not complete.is_file():
                report("Compiling the audio analysis once for this installation "
                       "(about a minute)…")
            _compile_kernels()
            if not complete.is_file():
                complete.write_text(f"{compile_cache_tag()}\n")
        _compiled_in_this_process = True
        return True


def warm_compile_cache(report: Callable[[str], None] = print) -> float:
    """Make the compile cache complete before a server takes its first visitor (``./run``,
    ``loopfind app``): one progress line, then the seconds it took."""
    report(f"Preparing the audio analysis (compile cache: {compile_cache_folder()})…")
    started = time.monotonic()
    ensure_compiled(report)
    elapsed_s = time.monotonic() - started
    report(f"Audio analysis ready in {elapsed_s:.1f} s.")
    return elapsed_s
