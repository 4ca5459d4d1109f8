"""Paired margin of one method over another, per category, from `evaluate --json` outputs:
mean per-sound recall difference and its standard error (same sounds, same queries).

    python scripts/paired_margin.py A.json FEATURES/STRATEGY B.json FEATURES/STRATEGY
"""

import json
import sys

import numpy as np


def per_sound(path: str, method: str) -> dict:
    features, strategy = method.split("/")
    return {(s["file"], s["sound"]): (s["category"], s["recall"])
            for s in json.load(open(path))["sounds"]
            if s["features"] == features and s["strategy"] == strategy}


def main(a_path: str, a_method: str, b_path: str, b_method: str) -> None:
    a, b = per_sound(a_path, a_method), per_sound(b_path, b_method)
    for category in ("sample", "loop"):
        keys = [k for k in a if k in b and a[k][0] == category]
        diff = np.array([a[k][1] - b[k][1] for k in keys])
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        print(f"{category}: {a_method} − {b_method} = {diff.mean():+.3f} ± {se:.3f} (1 SE, "
              f"{len(diff)} sounds; better on {int((diff > 0).sum())}, worse on "
              f"{int((diff < 0).sum())})")


if __name__ == "__main__":
    main(*sys.argv[1:5])
