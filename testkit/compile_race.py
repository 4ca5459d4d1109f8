"""Several processes tracking beats at once on one compile cache: the race that used to leave
numba's cache files corrupt (docs/reliability.md, "Crash containment and the compile cache").

:func:`race` starts ``n`` Python processes at the same moment; each tracks the beats of ten
seconds of clicks and exits 0, or dies (a negative return code: -11 is a segmentation fault).
``through="loopfind"`` goes through :func:`loopfind_core.base.beats.estimate_beats` with
``$LOOPFIND_COMPILE_CACHE`` set to ``cache_root`` (Loopfind's own cache and lock);
``through="librosa"`` calls ``librosa.beat.beat_track`` directly with ``NUMBA_CACHE_DIR`` set
to ``cache_root`` (numba's own behaviour, the baseline).

``python -m testkit.compile_race [--through librosa|loopfind] [--rounds 3] [--processes 4]``
prints each round's return codes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROCESS_TIMEOUT_S = 900.0  # one process, a cold compile on a loaded 2-core machine included

_THROUGH_LOOPFIND = """
import numpy as np
from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.beats import estimate_beats
samples = np.zeros(22050 * 10, dtype=np.float32)
samples[::11025] = 1.0  # clicks at 120 BPM
grid = estimate_beats(audio_from_samples(samples, 22050))
assert grid.has_beats, grid
"""

_THROUGH_LIBROSA = """
import numpy as np
import librosa
samples = np.zeros(22050 * 10, dtype=np.float32)
samples[::11025] = 1.0
tempo, beats = librosa.beat.beat_track(y=samples, sr=22050)
assert len(beats) >= 4, beats
"""


def race(n: int, cache_root: Path, through: str = "loopfind") -> list[int]:
    """Start ``n`` processes at once on the compile cache ``cache_root``; their return codes
    (0: beats tracked; negative: killed by that signal, -11 a segmentation fault)."""
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)
    if through == "loopfind":
        env["LOOPFIND_COMPILE_CACHE"] = str(cache_root)
        code = _THROUGH_LOOPFIND
    elif through == "librosa":
        env["NUMBA_CACHE_DIR"] = str(cache_root)
        code = _THROUGH_LIBROSA
    else:
        raise ValueError(f"through must be 'loopfind' or 'librosa', not {through!r}")
    processes = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(n)]
    return [process.wait(PROCESS_TIMEOUT_S) for process in processes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--through", choices=("loopfind", "librosa"), default="loopfind")
    parser.add_argument("--rounds", type=int, default=3, help="rounds on one cold cache")
    parser.add_argument("--processes", type=int, default=4, help="processes per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        for round_ in range(1, args.rounds + 1):
            codes = race(args.processes, Path(root), args.through)
            print(f"round {round_}: return codes {codes}", flush=True)


if __name__ == "__main__":
    main()
