"""Library-scale figures: index build time per track-hour, then the latency of a hunt across
every indexed track (first proposal, one step) and the memory it takes.

    python scripts/library_bench.py DATASET_DIR INDEX_DIR [FEATURES]
"""

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_core.corpus.dataset import read_dataset  # noqa: E402
from loopfind_core.library.hunt import open_library  # noqa: E402
from loopfind_core.library.store import build_index  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(data: str, index: str, kind: str = "learned") -> None:
    report = build_index(data, index, kind=kind)
    print(f"index: {report.added} added in {report.seconds:.1f} s for {report.audio_hours:.2f} h "
          f"of audio = {report.seconds / max(report.audio_hours, 1e-9):.1f} s per track-hour")
    before = peak_rss_mb()
    started = time.perf_counter()
    library = open_library(index)
    opened = time.perf_counter() - started
    sound = next(s for s in read_dataset(data).sounds() if s.category == "loop")
    query = sound.occurrences[0]
    started = time.perf_counter()
    session = library.session(sound.file, query.start_s, query.duration_s)
    session.propose()
    first = time.perf_counter() - started
    started = time.perf_counter()
    session.answer(False)
    session.propose()
    step = time.perf_counter() - started
    frames = library.features.n_frames
    print(f"library: {len(library.tracks)} tracks, {frames} frames × {library.features.n_dims} "
          f"dims; open {opened:.2f} s; first proposal {first:.2f} s; step {step * 1000:.0f} ms; "
          f"peak memory +{peak_rss_mb() - before:.0f} MB")


if __name__ == "__main__":
    main(*sys.argv[1:4])
