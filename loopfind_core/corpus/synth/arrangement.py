"""Arrangement: the track's length and its sections (intro, build, drop, break, outro), with the
background layers that play in each phrase.

Lengths are in bars (4 beats) and phrases of 1, 2 or 4 bars; the track's duration in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.synth.config import SynthConfig
from loopfind_core.corpus.synth.genres import GenreStyle

MIN_TAIL_S = 1.0  # ring-out after the last bar (the tail makes up the rest of the duration)
SECTION_KINDS = ("intro", "build", "drop", "break", "outro")
# Relative section lengths; drops are the longest, builds the shortest.
SECTION_WEIGHTS = {"intro": 2.0, "build": 1.0, "drop": 4.0, "break": 2.0, "outro": 2.0}
BACKGROUND_LAYERS = ("kick", "snare", "hats", "perc", "bass", "pad", "lead")
# Probability that each background layer plays in a section of each kind.
SECTION_LAYER_PROBABILITY = {
    "intro": {"kick": 0.8, "snare": 0.3, "hats": 0.9, "perc": 0.4, "bass": 0.2, "pad": 0.6,
              "lead": 0.1},
    "build": {"kick": 0.4, "snare": 1.0, "hats": 0.8, "perc": 0.3, "bass": 0.2, "pad": 0.8,
              "lead": 0.4},
    "drop": {"kick": 1.0, "snare": 1.0, "hats": 1.0, "perc": 0.7, "bass": 1.0, "pad": 0.6,
             "lead": 0.6},
    "break": {"kick": 0.1, "snare": 0.2, "hats": 0.4, "perc": 0.3, "bass": 0.3, "pad": 1.0,
              "lead": 0.6},
    "outro": {"kick": 0.9, "snare": 0.5, "hats": 0.8, "perc": 0.5, "bass": 0.4, "pad": 0.5,
              "lead": 0.1},
}


@dataclass(frozen=True)
class _Section:
    kind: str  # one of SECTION_KINDS
    start_bar: int
    n_bars: int
    phrase_bars: int  # layers may change every phrase
    layers: tuple[frozenset[str], ...]  # active background layers, one set per phrase

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.n_bars

    def layers_at(self, bar: int) -> frozenset[str]:
        return self.layers[min((bar - self.start_bar) // self.phrase_bars, len(self.layers) - 1)]


def _choose_length(rng: np.random.Generator, bar_s: float,
                   config: SynthConfig) -> tuple[int, float]:
    """The track's duration (s), uniform in the configured range, and its number of bars:
    as many as fit with at least MIN_TAIL_S of ring-out after them."""
    duration_s = float(rng.uniform(config.min_duration_s, config.max_duration_s))
    return int((duration_s - MIN_TAIL_S) // bar_s), duration_s


def _plan_sections(rng: np.random.Generator, n_bars: int, style: GenreStyle,
                   config: SynthConfig) -> tuple[_Section, ...]:
    """Intro, then 2-4 build/drop cycles with breaks between them, then an outro.

    Sections of one kind share a layer template drawn once per track (the second drop is
    the first drop again, give or take a layer); within a section, layers may flip at each
    phrase.
    """
    toggle_probability = min(0.5, config.phrase_layer_toggle_probability
                             * style.layer_change_scale)
    phrase = next(p for p in (4, 2, 1) if n_bars // p >= 10 or p == 1)
    n_phrases = n_bars // phrase
    cycles = int(np.clip(n_phrases // 10, 2, 4))
    kinds = ["intro"]
    for cycle in range(cycles):
        kinds += ["build", "drop"] + (["break"] if cycle < cycles - 1 else [])
    kinds.append("outro")
    weights = np.array([SECTION_WEIGHTS[k] * rng.uniform(0.7, 1.3) for k in kinds])
    lengths = _allocate(n_phrases, weights)
    templates = {kind: {layer for layer in BACKGROUND_LAYERS
                        if rng.random() < SECTION_LAYER_PROBABILITY[kind][layer]}
                 for kind in SECTION_KINDS}

    def flips() -> set[str]:
        return {layer for layer in BACKGROUND_LAYERS if rng.random() < toggle_probability}

    sections = []
    start = 0
    for index, (kind, length) in enumerate(zip(kinds, lengths, strict=True)):
        n = length * phrase + (n_bars - n_phrases * phrase if index == len(kinds) - 1 else 0)
        base = templates[kind] ^ flips()
        layers = [frozenset(base ^ flips()) for _ in range(math.ceil(n / phrase))]
        sections.append(_Section(kind, start, n, phrase, tuple(layers)))
        start += n
    return tuple(sections)


def _allocate(total: int, weights: np.ndarray) -> list[int]:
    """Split ``total`` units in proportion to ``weights``, each part at least 1."""
    extra = total - len(weights)
    shares = weights / weights.sum() * extra
    parts = np.floor(shares).astype(int)
    order = np.argsort(-(shares - parts))
    parts[order[:extra - parts.sum()]] += 1
    return [int(p) + 1 for p in parts]
