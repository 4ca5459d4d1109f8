"""Paired comparison of two methods over the same sounds: per category, the mean per-sound
recall margin, its standard error, how many sounds each method wins, and the two-sided
Wilcoxon signed-rank test of the per-sound differences (``scipy.stats.wilcoxon``; sounds
where both methods score the same carry no sign and are dropped, Wilcoxon's own rule).

A method is named ``features/strategy`` as in the report tables; the two sides may come from
one ``evaluate`` run (two feature kinds) or from two runs' JSON (two checkpoints).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from loopfind_core.base.errors import DatasetError
from loopfind_core.corpus.dataset import CATEGORIES

SoundKey = tuple[str, str]  # (file, sound)


@dataclass(frozen=True)
class PairedMargin:
    """``method_a`` − ``method_b`` on the sounds of one category both were run on."""

    category: str
    method_a: str
    method_b: str
    n_sounds: int
    margin: float  # mean per-sound recall difference, a − b
    standard_error: float  # of that mean (sample standard deviation / √n)
    a_better: int  # sounds where a found a larger share
    b_better: int
    p_value: float  # two-sided Wilcoxon signed-rank; nan when every difference is zero


def recall_by_sound(sounds: Iterable[Mapping | object], method: str) -> dict[SoundKey, tuple]:
    """(category, recall) per (file, sound) of one method, from a report's ``sounds`` (the
    :class:`~loopfind_core.research.evaluate.SoundResult` objects or their JSON dicts);
    one-at-a-time rows only."""
    features, _, strategy = method.partition("/")
    table = {}
    for sound in sounds:
        row = sound if isinstance(sound, Mapping) else vars(sound)
        if (row["features"], row["strategy"]) == (features, strategy) and \
                row.get("review", "one") == "one":
            table[(row["file"], row["sound"])] = (row["category"], float(row["recall"]))
    return table


def paired_margins(a: Mapping[SoundKey, tuple], b: Mapping[SoundKey, tuple], method_a: str,
                   method_b: str) -> tuple[PairedMargin, ...]:
    """One :class:`PairedMargin` per category present in both tables (see
    :func:`recall_by_sound`)."""
    margins = []
    for category in CATEGORIES:
        keys = [k for k in a if k in b and a[k][0] == category]
        if not keys:
            continue
        diff = np.array([a[k][1] - b[k][1] for k in keys])
        se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else math.nan
        p = float(stats.wilcoxon(diff).pvalue) if np.any(diff != 0) else math.nan
        margins.append(PairedMargin(category, method_a, method_b, len(keys),
                                    float(diff.mean()), se, int((diff > 0).sum()),
                                    int((diff < 0).sum()), p))
    return tuple(margins)


def format_margins(margins: Iterable[PairedMargin]) -> str:
    """One line per category: the margin ± 1 SE, the wins and the p-value."""
    return "\n".join(
        f"{m.category}: {m.method_a} − {m.method_b} = {m.margin:+.3f} ± {m.standard_error:.3f} "
        f"(1 SE, {m.n_sounds} sounds; better on {m.a_better}, worse on {m.b_better}; "
        f"Wilcoxon p = {m.p_value:.2g})" for m in margins)


def sounds_of_json(path: str | Path) -> list[dict]:
    """The ``sounds`` list of an ``evaluate --json`` file, with a clear error otherwise."""
    try:
        return list(json.loads(Path(path).read_text())["sounds"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"{path} is not an `evaluate --json` report: {error}") from None
