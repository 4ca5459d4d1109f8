"""Measure the figures that used to sit in the core's docstrings and comments, so they live in
docs/results.md ("Docs that say what the code does (issue 21)") next to this command:

    python scripts/docstring_figures.py

Prints, each with what it measures:
- mix-down: ``_to_mono``'s channel-by-channel sum against numpy's mean along the short last
  axis, 6 minutes of stereo at 44.1 kHz (median of 5, ms, and the ratio);
- Ogg Vorbis: the bytes ``ogg_vorbis_bytes`` makes of the demo track, and its 16-bit WAV's;
- the demo track: seconds to compose it alone into an empty cache folder;
- the encoder: ``checkpoints/default.pt``'s size, and the peak RSS of a fresh process that loads
  it and extracts learned features of 30 s of audio (a demo-library extraction worker's floor);
- the vector index: a faiss ``Flat`` query of 32 blocks × 64 neighbours over
  ``IVF_MIN_BLOCKS`` random 128-dimensional blocks (median of 5, ms).
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopfind_core.base.audio import _to_mono, load_audio, ogg_vorbis_bytes  # noqa: E402
from loopfind_core.features.encoder import DEFAULT_CHECKPOINT  # noqa: E402
from loopfind_core.library.vector_index import HITS_PER_BLOCK, IVF_MIN_BLOCKS, MAX_QUERY_BLOCKS  # noqa: E402

REPEATS = 5
ENCODER_PEAK = """
import resource, numpy as np
from loopfind_core.base.audio import audio_from_samples
from loopfind_core.features.registry import extract_features
rng = np.random.default_rng(0)
audio = audio_from_samples((0.1 * rng.standard_normal(30 * 22050)).astype(np.float32), 22050)
extract_features(audio, "learned")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def median_ms(function) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def mix_down() -> None:
    frames = np.random.default_rng(0).standard_normal((6 * 60 * 44100, 2)).astype(np.float32)
    loop = median_ms(lambda: _to_mono(frames))
    axis = median_ms(lambda: frames.mean(axis=1))
    print(f"mix-down, 6 min stereo: channel by channel {loop:.1f} ms, mean(axis=1) {axis:.1f} ms "
          f"({axis / loop:.1f}×)")


def demo_track() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, LOOPFIND_CACHE=cache)
        started = time.perf_counter()
        path = subprocess.run(
            [sys.executable, "-c", "from loopfind_core.corpus.demo import ensure_demo_track; "
             "print(ensure_demo_track())"], env=env, cwd=ROOT, check=True, capture_output=True,
            text=True).stdout.strip()
        print(f"demo track composed alone: {time.perf_counter() - started:.1f} s "
              f"(a fresh process, imports included)")
        audio = load_audio(next(Path(path).glob("*.flac")))
        wav = io.BytesIO()
        sf.write(wav, audio.samples, audio.sr_hz, format="WAV", subtype="PCM_16")
        print(f"demo track, {audio.duration_s / 60:.1f} min mono at {audio.sr_hz} Hz: Ogg Vorbis "
              f"{len(ogg_vorbis_bytes(audio)) / 1e6:.2f} MB, 16-bit WAV "
              f"{len(wav.getvalue()) / 1e6:.2f} MB")


def encoder() -> None:
    peak = subprocess.run([sys.executable, "-c", ENCODER_PEAK], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
    print(f"default.pt: {DEFAULT_CHECKPOINT.stat().st_size / 1e6:.2f} MB; a process extracting "
          f"learned features of 30 s: peak RSS {float(peak):.0f} MiB")


def flat_query() -> None:
    import faiss

    rng = np.random.default_rng(0)
    index = faiss.IndexFlatL2(128)
    index.add(rng.standard_normal((IVF_MIN_BLOCKS, 128)).astype(np.float32))
    query = rng.standard_normal((MAX_QUERY_BLOCKS, 128)).astype(np.float32)
    took = median_ms(lambda: index.search(query, HITS_PER_BLOCK))
    print(f"faiss Flat, {IVF_MIN_BLOCKS} blocks: a query of {MAX_QUERY_BLOCKS} blocks × "
          f"{HITS_PER_BLOCK} neighbours {took:.1f} ms (faiss threads: "
          f"{faiss.omp_get_max_threads()})")


if __name__ == "__main__":
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    mix_down()
    demo_track()
    encoder()
    flat_query()
    print(f"load average after: {os.getloadavg()[0]:.1f}")
