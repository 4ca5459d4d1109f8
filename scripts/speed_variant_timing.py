"""Time the ``active`` rule with and without speed variants, in the same run, on bench's
7.5-minute track (docs/results.md §6.6).

    python scripts/speed_variant_timing.py [KIND ...]      # default: mfcc learned

Variants enter only through the query, so they cost once: one extra FFT distance profile per
variant before the first proposal. Prints, per kind and setting, the median over repeats of
the first proposal from features in hand (session + propose(), ms), the median step
(answer() + propose(), ms; every third answer a yes, as in ``bench``) and the ratios to plain
``active``.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_core.base.audio import load_audio  # noqa: E402
from loopfind_core.features.registry import extract_features  # noqa: E402
from loopfind_core.research.bench import (
    QUERY_DURATION_S,
    QUERY_START_FRACTION,
    STEPS,
    step_milliseconds,
    write_bench_track,
)
from loopfind_core.research.variants import ResearchSession  # noqa: E402
from loopfind_core.retrieval.search import WindowSearch  # noqa: E402
from loopfind_core.retrieval.session import query_window_frames  # noqa: E402

REPEATS = 7
SETTINGS = {"plain": (), "±3,6 %": (-6, -3, 3, 6)}


def first_proposal_ms(features, search, speed_variants) -> float:
    started = time.perf_counter()
    session = ResearchSession(features, QUERY_START_FRACTION * features.duration_s,
                               QUERY_DURATION_S, patience=STEPS + 1, strategy="active",
                               search=search, speed_variants=speed_variants)
    session.propose()
    return 1000.0 * (time.perf_counter() - started)


def step_ms(features, search, speed_variants) -> float:
    session = ResearchSession(features, QUERY_START_FRACTION * features.duration_s,
                               QUERY_DURATION_S, patience=STEPS + 1, strategy="active",
                               search=search, speed_variants=speed_variants)
    return step_milliseconds(session)


def main(kinds: list[str]) -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        audio = load_audio(write_bench_track(Path(folder), 450.0))
    for kind in kinds:
        features = extract_features(audio, kind, whiten=0.3)
        _, window_frames = query_window_frames(
            features, QUERY_START_FRACTION * features.duration_s, QUERY_DURATION_S)
        search = WindowSearch(features.values, window_frames)  # the track's FFT, shared
        first_proposal_ms(features, search, ())  # warm-up
        first = {name: [] for name in SETTINGS}
        for _ in range(REPEATS):  # interleaved, so load on the machine hits both alike
            for name, variants in SETTINGS.items():
                first[name].append(first_proposal_ms(features, search, variants))
        steps = {name: step_ms(features, search, variants)
                 for name, variants in SETTINGS.items()}
        plain_first = statistics.median(first["plain"])
        for name in SETTINGS:
            median_first = statistics.median(first[name])
            print(f"{kind:8s} {name:7s} first proposal {median_first:7.1f} ms "
                  f"({median_first / plain_first:4.2f}x)  step {steps[name]:6.2f} ms "
                  f"({steps[name] / steps['plain']:4.2f}x)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["mfcc", "learned"])
