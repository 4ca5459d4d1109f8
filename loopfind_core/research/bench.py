"""``bench``: speed and memory of the core on a generated 7.5-minute track.

For each feature kind, on the same file on disk:

- **first proposal** — seconds from the file to the first candidate:
  ``load_audio`` → ``extract_features`` → ``RetrievalSession`` → ``propose()``;
- **step** — median milliseconds of one ``answer()`` + ``propose()`` (active strategy);
- **memory** — peak resident memory growth of that whole pipeline, in a fresh process.

The baseline, measured in the same run on the same file, is ``librosa.load`` +
``librosa.feature.mfcc`` with librosa's defaults; each kind's first-proposal time is reported
as a ratio to it. The track is written as a 44.1 kHz stereo 16-bit WAV, as a CD rip would be,
so both sides decode and resample. Times are medians over ``repeats`` after one warm-up run.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

BENCH_SEED = 7  # the bench track; not a seed of the demo corpus
BENCH_FILE_RATE_HZ = 44100
STEPS = 40  # answer() + propose() steps timed per kind
QUERY_START_FRACTION = 0.125  # the 4-s query starts an eighth into the track (56 s of 7.5 min)
QUERY_DURATION_S = 4.0
TARGET_FIRST_PROPOSAL_RATIO = 1.5
TARGET_STEP_MS = 20.0
TARGET_MEMORY_MB = 400.0


@dataclass(frozen=True)
class KindBench:
    kind: str
    first_proposal_s: float  # file on disk → first candidate, median
    ratio_to_librosa: float  # first_proposal_s / baseline_s
    step_ms: float  # median answer() + propose()
    memory_growth_mb: float  # peak RSS growth in a fresh process


@dataclass(frozen=True)
class BenchResult:
    track_duration_s: float
    file_format: str
    baseline_s: float  # librosa.load + librosa.feature.mfcc, median
    baseline_memory_growth_mb: float
    kinds: tuple[KindBench, ...]
    device: str
    machine: str

    def to_json(self) -> dict:
        return asdict(self)


def write_bench_track(folder: Path, duration_s: float) -> Path:
    """Generate the bench track and write it as a 44.1 kHz stereo 16-bit WAV."""
    from loopfind_core.base.audio import resample
    from loopfind_core.corpus.synth import SynthConfig, compose_track

    config = SynthConfig(min_duration_s=duration_s, max_duration_s=duration_s)
    track = compose_track(BENCH_SEED, "Drum&Bass", "bench.wav", config)
    mono = resample(track.samples, track.sr_hz, BENCH_FILE_RATE_HZ)
    stereo = np.stack([mono, 0.9 * mono], axis=1)  # (n, 2): a slightly unbalanced mix
    path = folder / "bench.wav"
    sf.write(path, stereo, BENCH_FILE_RATE_HZ, subtype="PCM_16")
    return path


def librosa_baseline(path: Path) -> None:
    import librosa

    y, sr = librosa.load(path, sr=22050)
    librosa.feature.mfcc(y=y, sr=sr)


def first_proposal(path: Path, kind: str, device: str | None = None, checkpoint=None):
    """The user-facing path: file → features → session → first candidate. Returns the session."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.features.registry import extract_features
    from loopfind_core.retrieval.session import RetrievalSession

    features = extract_features(load_audio(path), kind, device=device, checkpoint=checkpoint)
    session = RetrievalSession(
        features, QUERY_START_FRACTION * features.duration_s, QUERY_DURATION_S,
        patience=STEPS + 1, strategy="active", device=device,
    )
    session.propose()
    return session


def _median_seconds(work: Callable[[], object], repeats: int) -> float:
    work()  # warm-up: imports, FFT plans, caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def step_milliseconds(session) -> float:
    """Median ms of answer() + propose(); every third answer is a yes. Stops early if the
    track runs out of candidates."""
    times = []
    for i in range(STEPS):
        if session.propose() is None:
            break
        started = time.perf_counter()
        session.answer(i % 3 == 0)
        session.propose()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _peak_growth_child(path: str, kind: str | None, device: str | None, checkpoint, queue):
    """In a fresh process: warm up on a short clip, then measure the peak RSS growth."""
    import librosa  # noqa: F401  (imported before the baseline reading)
    import torch

    from loopfind_core.features import registry  # noqa: F401
    from loopfind_core.retrieval import session  # noqa: F401

    torch.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as scratch:
        clip = Path(scratch) / "clip.wav"
        data, rate = sf.read(path, frames=BENCH_FILE_RATE_HZ * 70)
        sf.write(clip, data, rate, subtype="PCM_16")
        if kind is None:
            librosa_baseline(clip)
        else:
            first_proposal(clip, kind, device, checkpoint)
    try:  # reset the peak so it counts only what follows (Linux ≥ 4.0)
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    before = _rss_mb("VmRSS")
    if kind is None:
        librosa_baseline(Path(path))
    else:
        step_milliseconds(first_proposal(Path(path), kind, device, checkpoint))
    queue.put(_rss_mb("VmHWM") - before)


def peak_memory_growth_mb(
    path: Path, kind: str | None, device: str | None, checkpoint=None
) -> float:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(
        target=_peak_growth_child, args=(str(path), kind, device, checkpoint, queue)
    )
    from loopfind_core.base.worker import children_skip_the_main_script

    with children_skip_the_main_script():  # never the parent's main script (e.g. app.py)
        child.start()
    growth = queue.get(timeout=600)
    child.join()
    return float(growth)


def run_bench(
    duration_s: float = 450.0, repeats: int = 3, device: str | None = None,
    kinds: tuple[str, ...] | None = None, checkpoint: str | Path | None = None,
) -> BenchResult:
    """Measure everything on one freshly generated track (see the module docstring).

    ``learned`` is measured when its checkpoint (default ``checkpoints/default.pt``) exists.
    """
    from loopfind_core.base.device import best_device
    from loopfind_core.features.encoder import DEFAULT_CHECKPOINT
    from loopfind_core.features.registry import FEATURE_KINDS, OPTIONS_OF_KIND

    kinds = tuple(kinds or FEATURE_KINDS)
    if not Path(checkpoint or DEFAULT_CHECKPOINT).is_file():  # no encoder: no learned kinds
        kinds = tuple(k for k in kinds if "checkpoint" not in OPTIONS_OF_KIND.get(k, ()))
    with tempfile.TemporaryDirectory() as folder:
        path = write_bench_track(Path(folder), duration_s)
        baseline_s = _median_seconds(lambda: librosa_baseline(path), repeats)
        results = []
        for kind in kinds:
            seconds = _median_seconds(
                lambda k=kind: first_proposal(path, k, device, checkpoint), repeats
            )
            step_ms = step_milliseconds(first_proposal(path, kind, device, checkpoint))
            memory = peak_memory_growth_mb(path, kind, device, checkpoint)
            results.append(KindBench(kind, seconds, seconds / baseline_s, step_ms, memory))
        baseline_memory = peak_memory_growth_mb(path, None, device)
    return BenchResult(
        track_duration_s=duration_s,
        file_format=f"WAV PCM_16 stereo {BENCH_FILE_RATE_HZ} Hz",
        baseline_s=baseline_s,
        baseline_memory_growth_mb=baseline_memory,
        kinds=tuple(results),
        device=str(best_device(device)),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    )


def format_bench(result: BenchResult) -> str:
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    lines = [
        f"track: {result.track_duration_s / 60:.1f} min, {result.file_format}; "
        f"device {result.device}; {result.machine}",
        f"baseline librosa.load + librosa.feature.mfcc: {result.baseline_s:.3f} s, "
        f"memory +{result.baseline_memory_growth_mb:.0f} MB",
        f"{'kind':<8} {'first proposal':>15} {'ratio':>7} {'step':>9} {'memory':>9}",
    ]
    for k in result.kinds:
        lines.append(
            f"{k.kind:<8} {k.first_proposal_s:>13.3f} s {k.ratio_to_librosa:>6.2f}x "
            f"{k.step_ms:>6.2f} ms {k.memory_growth_mb:>6.0f} MB   "
            f"[ratio {ok(k.ratio_to_librosa <= TARGET_FIRST_PROPOSAL_RATIO)}, "
            f"step {ok(k.step_ms <= TARGET_STEP_MS)}, "
            f"memory {ok(k.memory_growth_mb <= TARGET_MEMORY_MB)}]"
        )
    lines.append(
        f"targets: first proposal ≤ {TARGET_FIRST_PROPOSAL_RATIO}× baseline, step ≤ "
        f"{TARGET_STEP_MS:.0f} ms, memory growth ≤ {TARGET_MEMORY_MB:.0f} MB"
    )
    return "\n".join(lines)
