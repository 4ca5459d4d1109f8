"""Measuring discovery: how many annotated sounds of a dataset the suggestions of
:func:`~loopfind_core.retrieval.discovery.discover` find (``discover --data``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.retrieval.discovery import DEFAULT_SUGGESTIONS, Suggestion, discover


@dataclass(frozen=True)
class DiscoveryScore:
    """How well the suggestions of one track cover its annotated sounds."""

    sounds: int  # annotated sounds with at least two occurrences
    discovered: int  # of those, how many a suggestion matches
    occurrence_recall: float  # mean over discovered sounds: their occurrences covered
    occurrence_precision: float  # mean over discovered sounds: the suggestion's windows on them


def score_suggestions(suggestions: Sequence[Suggestion], truth: Sequence) -> DiscoveryScore:
    """A suggestion matches an annotated sound when at least two of its windows each cover half
    of a different occurrence (or the occurrence half of the window). Per sound, the matching
    suggestion with the best F1 counts: recall = the sound's occurrences covered, precision =
    the suggestion's windows that cover one."""
    from loopfind_core.corpus.truth import MATCH_OVERLAP_FRACTION, overlap_s

    def covers(start: float, end: float, o) -> bool:
        return overlap_s(start, end, o.start_s, o.end_s) >= (
            MATCH_OVERLAP_FRACTION * min(end - start, o.duration_s))

    sounds = [s for s in truth if len(s.occurrences) >= 2]
    recalls, precisions = [], []
    for sound in sounds:
        best = None
        for suggestion in suggestions:
            covered = {i for i, o in enumerate(sound.occurrences)
                       for start, end in suggestion.occurrences if covers(start, end, o)}
            hits = sum(any(covers(start, end, o) for o in sound.occurrences)
                       for start, end in suggestion.occurrences)
            if len(covered) < 2:
                continue
            recall = len(covered) / len(sound.occurrences)
            precision = hits / len(suggestion.occurrences)
            f1 = 2 * recall * precision / (recall + precision)
            if best is None or f1 > best[0]:
                best = (f1, recall, precision)
        if best is not None:
            recalls.append(best[1])
            precisions.append(best[2])
    mean = lambda v: float(np.mean(v)) if v else 0.0  # noqa: E731
    return DiscoveryScore(len(sounds), len(recalls), mean(recalls), mean(precisions))


def evaluate_discovery(
    root, kind: str = "learned", max_suggestions: int = DEFAULT_SUGGESTIONS,
    progress: ProgressCallback = no_progress, checkpoint: str | None = None,
) -> DiscoveryScore:
    """Discovery on every file of a dataset folder, pooled over its sounds: the share of
    annotated sounds among the top suggestions, and their occurrence recall and precision."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.base.beats import estimate_beats
    from loopfind_core.corpus.dataset import read_dataset
    from loopfind_core.features.registry import extract_features

    dataset = read_dataset(root)
    sounds = dataset.sounds()
    scores = []
    for i, file in enumerate(dataset.files):
        audio = load_audio(dataset.path_of(file))
        track = extract_features(audio, kind, checkpoint=checkpoint)
        suggestions = discover(track, estimate_beats(audio), max_suggestions)
        scores.append(score_suggestions(suggestions, [s for s in sounds if s.file == file]))
        progress(i + 1, len(dataset.files), file)
    discovered = sum(s.discovered for s in scores)

    def pooled(field: str) -> float:
        return (sum(getattr(s, field) * s.discovered for s in scores) / discovered
                if discovered else 0.0)

    return DiscoveryScore(sum(s.sounds for s in scores), discovered,
                          pooled("occurrence_recall"), pooled("occurrence_precision"))
