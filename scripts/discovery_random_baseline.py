"""Control for `discover --data`: the same repetition search from 10 random anchors per track
(random window length from the same set) instead of the 10 best-scored ones.

    python scripts/discovery_random_baseline.py data/bench40 [FEATURES] [SEED]
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_core.base.audio import load_audio  # noqa: E402
from loopfind_core.base.beats import estimate_beats  # noqa: E402
from loopfind_core.corpus.dataset import read_dataset  # noqa: E402
from loopfind_core.features.registry import extract_features  # noqa: E402
from loopfind_core.research.discovery import score_suggestions  # noqa: E402
from loopfind_core.retrieval.discovery import (  # noqa: E402
    reduce_dimensions,
    suggestion_at,
    window_lengths_s,
)
from loopfind_core.retrieval.search import WindowSearch  # noqa: E402


def main(root: str, kind: str = "learned", seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    dataset = read_dataset(root)
    sounds = dataset.sounds()
    totals, discovered, recalls, precisions = 0, 0, [], []
    for file in dataset.files:
        audio = load_audio(dataset.path_of(file))
        track = extract_features(audio, kind)
        values = reduce_dimensions(track.values)
        lengths = window_lengths_s(estimate_beats(audio))
        suggestions = []
        while len(suggestions) < 10:
            length = max(2, track.seconds_to_frames(float(rng.choice(lengths))))
            search = WindowSearch(values, length, device="cpu")
            suggestions.append(suggestion_at(track, search, int(rng.integers(search.n_starts))))
        score = score_suggestions(suggestions, [s for s in sounds if s.file == file])
        totals += score.sounds
        discovered += score.discovered
        recalls += [score.occurrence_recall] * score.discovered
        precisions += [score.occurrence_precision] * score.discovered
    print(f"random anchors: {discovered} of {totals} ({discovered / totals:.1%}); occurrence "
          f"recall {np.mean(recalls):.3f}, precision {np.mean(precisions):.3f} ({kind})")


if __name__ == "__main__":
    main(sys.argv[1], *(sys.argv[2:3] or ["learned"]), *[int(x) for x in sys.argv[3:4]])
