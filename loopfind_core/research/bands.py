"""What a user lives with, pooled over occurrences: recall, complete hunts and effort per
occurrence band (2–3, 4–9, 10–29, 30+ occurrences), and the chance the app showed against how
often it was right. Read by :mod:`loopfind_core.research.evaluate` on its per-sound results
(any objects with the fields of ``SoundLike``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from loopfind_core.corpus.dataset import CATEGORIES

ALL = "all"  # the genre/category/band value of pooled rows


class SoundLike(Protocol):
    """What these summaries read of an ``evaluate.SoundResult``."""

    features: str
    strategy: str
    review: str
    category: str
    n_occurrences: int
    n_queries: int
    found: float
    answers: float
    complete: float
    shown: tuple[tuple[float, bool], ...]


OCCURRENCE_BANDS = ((2, 3), (4, 9), (10, 29), (30, 10**9))  # occurrences per sound, inclusive


def band_name(n_occurrences: int) -> str:
    """The band of :data:`OCCURRENCE_BANDS` a sound with ``n_occurrences`` falls in."""
    for low, high in OCCURRENCE_BANDS:
        if low <= n_occurrences <= high:
            return f"{low}+" if high == 10**9 else f"{low}-{high}"
    return "1"


@dataclass(frozen=True)
class BandRow:
    """The sounds of one occurrence band (or ``all``) under one method and category: what a
    user lives with, pooled over occurrences."""

    features: str
    strategy: str
    review: str
    category: str
    band: str  # "2-3", "4-9", "10-29", "30+" or "all"
    n_sounds: int
    occurrences_to_find: int  # all occurrences but the queries, over every query
    pooled_recall: float  # found / to find
    complete_share: float  # hunts that found every occurrence
    judgements_per_hunt: float  # windows judged per hunt (every window shown counts)
    judged_per_found: float  # windows judged / occurrences found


@dataclass(frozen=True)
class EstimateRow:
    """The chance the app showed for a window against how often such windows were the sound
    (adaptive review), per method, category and bin of the chance shown."""

    features: str
    strategy: str
    category: str
    low: float
    high: float
    n_windows: int
    shown: float  # mean chance shown
    observed: float  # share that were the sound


def pooled_recall(members: Sequence[SoundLike]) -> float:
    """Occurrences found / occurrences to find, over every query of ``members``."""
    to_find = sum((m.n_occurrences - 1) * m.n_queries for m in members)
    return sum(m.found * m.n_queries for m in members) / to_find if to_find else math.nan


def summarize_bands(results: Iterable[SoundLike]) -> tuple[BandRow, ...]:
    """Per method × review × category (and ``all``) × occurrence band (and ``all``)."""
    groups: dict[tuple[str, str, str, str, str], list[SoundLike]] = defaultdict(list)
    for r in results:
        for category in (r.category, ALL):
            for band in (band_name(r.n_occurrences), ALL):
                groups[(r.features, r.strategy, r.review, category, band)].append(r)
    rows = []
    for (features, strategy, review, category, band), members in groups.items():
        hunts = sum(m.n_queries for m in members)
        judged = sum(m.answers * m.n_queries for m in members)
        found = sum(m.found * m.n_queries for m in members)
        rows.append(BandRow(
            features, strategy, review, category, band, len(members),
            sum((m.n_occurrences - 1) * m.n_queries for m in members), pooled_recall(members),
            float(np.mean([m.complete for m in members])), judged / hunts,
            judged / found if found else math.inf))
    order = [b for b in (*(band_name(low) for low, _ in OCCURRENCE_BANDS), ALL)]
    return tuple(sorted(rows, key=lambda r: (r.features, r.strategy, r.review,
                                             (*CATEGORIES, ALL).index(r.category),
                                             order.index(r.band))))


ESTIMATE_BINS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001)


def summarize_estimates(results: Iterable[SoundLike]) -> tuple[EstimateRow, ...]:
    """The chances shown in adaptive hunts against the truth, per bin of the chance."""
    groups: dict[tuple[str, str, str], list[tuple[float, bool]]] = defaultdict(list)
    for r in results:
        for category in (r.category, ALL):
            groups[(r.features, r.strategy, category)] += r.shown
    rows = []
    for (features, strategy, category), shown in groups.items():
        if not shown:
            continue
        chance = np.array([c for c, _ in shown])
        yes = np.array([y for _, y in shown], dtype=float)
        for low, high in zip(ESTIMATE_BINS[:-1], ESTIMATE_BINS[1:]):
            inside = (chance >= low) & (chance < high)
            if inside.any():
                rows.append(EstimateRow(features, strategy, category, low, min(high, 1.0),
                                        int(inside.sum()), float(chance[inside].mean()),
                                        float(yes[inside].mean())))
    return tuple(rows)
