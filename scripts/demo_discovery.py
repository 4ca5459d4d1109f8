"""Suggested sounds on the app's demo track, timed: what the Select page's "Suggested sounds"
computes (:func:`loopfind_core.retrieval.discovery.discover` on the raw features of a kind,
with the track's beat grid).

    .venv/bin/python scripts/demo_discovery.py [--kind learned]

Prints the seconds discovery took (the features and the beat grid are computed first, not
timed), then each suggestion: start, length, how many times it repeats, its mean level in dB
under the track's loud frames (the 95th percentile of the frame power, as the hunt's silence
rule reads it) and the annotated sound it overlaps most, with the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_core.base.audio import load_audio  # noqa: E402
from loopfind_core.base.beats import estimate_beats  # noqa: E402
from loopfind_core.corpus.dataset import read_dataset  # noqa: E402
from loopfind_core.corpus.demo import ensure_demo_track  # noqa: E402
from loopfind_core.features.registry import extract_features  # noqa: E402
from loopfind_core.retrieval.discovery import discover  # noqa: E402
from testkit.load import load_average  # noqa: E402

LOUD_PERCENTILE = 95.0


def level_under_loud_db(power: np.ndarray, first: int, last: int) -> float:
    """The window's mean frame power in dB relative to the track's loud frames."""
    loud = max(float(np.percentile(power, LOUD_PERCENTILE)), 1e-20)
    return 10.0 * float(np.log10(max(float(power[first:last].mean()), 1e-20) / loud))


def shared_windows(suggestion, sound) -> int:
    """How many of the suggestion's windows lie at least half inside one of the sound's."""
    return sum(any(min(o[1], x.end_s) - max(o[0], x.start_s) > 0.5 * (o[1] - o[0])
                   for x in sound.occurrences) for o in suggestion.occurrences)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", default="learned", help="feature kind (the app's default)")
    args = parser.parse_args(argv)
    dataset = read_dataset(ensure_demo_track())
    audio = load_audio(dataset.path_of(dataset.files[0]))
    beats = estimate_beats(audio)
    track = extract_features(audio, args.kind)
    before = [round(x, 2) for x in load_average()]
    started = time.perf_counter()
    suggestions = discover(track, beats)
    elapsed = time.perf_counter() - started
    print(f"discovery on the demo ({args.kind}, {audio.duration_s:.0f} s): {elapsed:.2f} s, "
          f"{len(suggestions)} suggestions; load average before {before}, after "
          f"{[round(x, 2) for x in load_average()]} ({os.cpu_count()} CPUs)")
    sounds = dataset.sounds()
    for s in suggestions:
        first = track.seconds_to_frames(s.start_s)
        level = level_under_loud_db(track.frame_power, first,
                                    max(first + 1, track.seconds_to_frames(s.end_s)))
        best = max(sounds, key=lambda sound, s=s: shared_windows(s, sound))
        print(f"  {s.start_s:7.2f} s  {s.duration_s:5.2f} s  ×{len(s.occurrences):2d}  "
              f"{level:6.1f} dB  {best.sound} ({shared_windows(s, best)} of its windows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
