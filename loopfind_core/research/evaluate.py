"""The paper's evaluation protocol (§IV) with a simulated user, on any dataset folder.

For each sound, one occurrence is the query (its first, or each in turn with
``queries="all"``): ``start_s`` = its start, ``duration_s`` = end − start. The simulated user
answers yes iff the proposed window overlaps an occurrence of that sound that is not found yet
by at least 50% of ``duration_s`` (:mod:`loopfind_core.corpus.truth`). The session runs until
``patience`` rejections (or nothing is left to propose), and
recall = found / (occurrences − 1). Recall is averaged per sound, then over sounds per
category × genre × (features, strategy), with ``all`` rows for either.

Batch review (``batch`` = n > 0) runs every hunt a second time as the app's "Review n at a time"
view: the simulated user ticks, on each page of n windows, exactly those that match an unfound
occurrence, until the session's patience (a page with nothing ticked counts as one rejection)
or the windows run out. Its cost is counted honestly: every window shown is one answer (one
check box judged, ticked or not), and ``pages`` counts the pages. Its rows carry
``review = "batch<n>"``; the one-at-a-time rows (``review = "one"``) are unchanged by it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from loopfind_core.base.audio import load_audio
from loopfind_core.base.beats import BeatGrid, estimate_beats
from loopfind_core.base.errors import LoopfindError, SelectionError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.dataset import CATEGORIES, Occurrence, SoundTruth, read_dataset
from loopfind_core.corpus.truth import (
    MATCH_OVERLAP_FRACTION,
    SimulatedHunt,
    matching_occurrence,
    simulate_adaptive_user,
    simulate_batch_user,
    simulate_user,
)
from loopfind_core.features.registry import FEATURE_KINDS
from loopfind_core.features.track import FeatureTrack
from loopfind_core.research.bands import (
    ALL,
    BandRow,
    EstimateRow,
    pooled_recall,
    summarize_bands,
    summarize_estimates,
)
from loopfind_core.research.feature_cache import features_cached
from loopfind_core.research.variants import ResearchSession, speed_factors
from loopfind_core.retrieval.review import ADAPTIVE as ADAPTIVE_REVIEW
from loopfind_core.retrieval.search import WindowSearch
from loopfind_core.retrieval.session import (
    NEGATIVE_WEIGHT,
    STRATEGIES,
    RetrievalSession,
    query_window_frames,
)

log = logging.getLogger(__name__)
QUERY_MODES = ("first", "all")
ONE_AT_A_TIME = "one"  # the review mode of the paper's protocol: one candidate per answer
ADAPTIVE = "adaptive"  # the app's review: pages of likely windows, the expected-matches stop
REVIEWS = (ONE_AT_A_TIME, ADAPTIVE)
MAX_BATCH = 100


@dataclass(frozen=True)
class EvaluationConfig:
    """What to evaluate."""

    features: tuple[str, ...] = ("mfcc",)
    strategies: tuple[str, ...] = ("naive", "active")
    patience: int = 5
    queries: str = "first"  # "first": each sound's first occurrence; "all": each in turn
    device: str | None = None  # torch device; None picks CUDA when present
    jobs: int = 0  # worker processes; 0 = one per CPU core
    negative_weight: float = NEGATIVE_WEIGHT  # γ of the active rule
    checkpoint: str | None = None  # encoder of the "learned" kind; None: the shipped default
    beat_prior: float = 0.0  # λ of the session's beat-phase prior (0 = off, the paper)
    whiten: float | None = None  # whitening shrinkage (None = off, the paper); see features
    auto_accept: tuple[float, ...] = ()  # chance thresholds to simulate auto-accept at
    manual_answers: int = 3  # answers the simulated user gives before auto-accepting
    speed_variants: tuple[float, ...] = ()  # percent; the session's speed variants (() = off)
    batch: int = 0  # also review pages of this many windows (the app's batch view); 0 = off
    review: str = ONE_AT_A_TIME  # "one" (the paper) or "adaptive" (retrieval.review.ADAPTIVE)
    feature_cache: str | None = None  # a folder of computed features (research.feature_cache)


@dataclass(frozen=True)
class SoundResult:
    """One sound under one (features, strategy), averaged over its queries."""

    file: str
    genre: str
    category: str
    sound: str
    features: str
    strategy: str
    n_occurrences: int
    n_queries: int
    recall: float  # mean over queries of found / (occurrences − 1)
    answers: float  # mean number of yes/no answers per query
    found: float = 0.0  # mean number of occurrences found per query (the query excluded)
    complete: float = 0.0  # share of queries after which every occurrence was found
    frame_error_ms: float = math.nan  # mean |start − true start| of found ones, frame starts
    refined_error_ms: float = math.nan  # the same with sub-frame refined starts
    review: str = ONE_AT_A_TIME  # "one", or "batch<n>": pages of n windows (see module doc)
    pages: float = math.nan  # mean screens per query (one at a time: = answers)
    start_errors_ms: tuple[float, ...] = ()  # |refined start − true start| of every found one
    #                                          (the start an export writes), all queries
    shown: tuple[tuple[float, bool], ...] = ()  # adaptive review: (chance shown, was it the
    #                                             sound) per window judged, all queries
    expected_left: float | None = None  # adaptive review: mean over queries of the matches
    #                                     the session expected left when it stopped


@dataclass(frozen=True)
class RecallRow:
    """Mean recall over the sounds of one category × genre × (features, strategy)."""

    features: str
    strategy: str
    category: str
    genre: str
    recall: float
    n_sounds: int
    answers_per_found: float = math.nan  # all answers / all occurrences found (inf: none found)
    complete_share: float = math.nan  # share of sounds×queries with every occurrence found
    frame_error_ms: float = math.nan  # mean start error of found occurrences, frame starts
    refined_error_ms: float = math.nan  # the same, sub-frame refined
    review: str = ONE_AT_A_TIME  # "one", or "batch<n>" (see the module docstring)
    pages_per_found: float = math.nan  # all pages / all occurrences found (one at a time: =
    # answers_per_found)
    start_error_median_ms: float = math.nan  # of every found occurrence's refined start
    start_error_p90_ms: float = math.nan  # 90th percentile of the same
    within_20ms: float = math.nan  # share of found occurrences starting within 20 ms
    pooled_recall: float = math.nan  # all occurrences found / all to find (busy sounds weigh
    #                                  by their occurrences: what a user lives with)


@dataclass(frozen=True)
class AutoAcceptResult:
    """One hunt: ``manual_answers`` answers from the truth, then auto-accept at ``threshold``."""

    file: str
    category: str
    sound: str
    features: str
    strategy: str
    threshold: float
    to_find: int  # occurrences other than the query
    correct: int  # windows accepted (by the user or automatically) that are occurrences
    wrong: int  # windows accepted automatically that are not
    answers: int  # the user's answers
    estimated_precision: float  # session.precision_estimate(threshold) before auto-accepting
    remaining: int = 0  # occurrences still unfound when auto-accept ran
    auto_correct: int = 0  # windows accepted automatically that are occurrences
    estimated_count: int = 0  # windows the estimate expected auto-accept to take
    estimated_low: float = math.nan  # the low end of the range shown with the estimate
    estimated_high: float = math.nan  # its high end


@dataclass(frozen=True)
class AutoAcceptRow:
    features: str
    strategy: str
    category: str
    threshold: float
    precision: float  # automatic accepts that are occurrences / all automatic accepts, pooled
    recall: float  # mean over hunts of correct / to_find
    answers: float  # mean user answers per hunt
    estimated_precision: float  # the estimates shown, pooled like precision (each hunt's
    #                             estimate weighted by the windows it expected to accept)
    n_hunts: int
    accepted_share: float = math.nan  # occurrences auto-accept took / those still unfound
    estimated_low: float = math.nan  # the ranges shown, pooled like the estimate
    estimated_high: float = math.nan


@dataclass(frozen=True)
class EvaluationReport:
    rows: tuple[RecallRow, ...]
    sounds: tuple[SoundResult, ...]
    skipped: tuple[str, ...]  # sounds or files that could not be evaluated, with the reason
    seconds: float  # wall time of the whole evaluation
    auto_accept: tuple[AutoAcceptRow, ...] = ()
    bands: tuple[BandRow, ...] = ()
    estimates: tuple[EstimateRow, ...] = ()


@dataclass(frozen=True)
class AutoAcceptHunt:
    """One simulated auto-accept: the counts of :class:`AutoAcceptResult`."""

    correct: int  # found, by the user's answers or automatically
    wrong: int  # accepted automatically, not occurrences
    answers: int  # the user's answers
    estimate: float  # the precision shown before accepting
    estimated_count: int  # the windows it said it would accept
    remaining: int  # occurrences unfound when accepting began
    auto_correct: int  # accepted automatically, occurrences
    estimate_range: tuple[float, float] = (math.nan, math.nan)  # shown with the estimate


def simulate_auto_accept(
    session: RetrievalSession, occurrences: Sequence[Occurrence], query_index: int,
    threshold: float, manual_answers: int,
) -> AutoAcceptHunt:
    """The user answers ``manual_answers`` proposals from the truth, then accepts every next
    proposal at least ``threshold`` confident and stops."""
    needed_s = MATCH_OVERLAP_FRACTION * occurrences[query_index].duration_s
    unfound = set(range(len(occurrences))) - {query_index}
    answers = 0
    while answers < manual_answers and (candidate := session.propose()) is not None:
        match = matching_occurrence(candidate, occurrences, unfound, needed_s)
        unfound.discard(match)
        session.answer(match is not None)
        answers += 1
    estimate, estimated_count = session.precision_estimate(threshold)
    estimate_range = session.precision_range(threshold)
    remaining = len(unfound)
    wrong = 0
    for candidate in session.auto_accept(threshold):
        match = matching_occurrence(candidate, occurrences, unfound, needed_s)
        if match is None:
            wrong += 1
        else:
            unfound.discard(match)
    auto_correct = remaining - len(unfound)
    return AutoAcceptHunt(len(occurrences) - 1 - len(unfound), wrong, answers, estimate,
                          estimated_count, remaining, auto_correct, estimate_range)


def _query_indices(sound: SoundTruth, queries: str) -> range:
    return range(len(sound.occurrences)) if queries == ALL else range(1)


def _session(track: FeatureTrack, kind: str, strategy: str, query: Occurrence,
             config: EvaluationConfig, searches: dict[tuple[str, int], WindowSearch],
             beats: BeatGrid | None) -> RetrievalSession:
    """A session on ``query``, sharing the track's FFT per (kind, window length)."""
    _, window_frames = query_window_frames(track, query.start_s, query.duration_s)
    key = (kind, window_frames)
    if key not in searches:
        searches[key] = WindowSearch(track.values, window_frames, device=config.device)
    options = dict(search=searches[key], negative_weight=config.negative_weight)
    if config.review == ADAPTIVE:
        options["review"] = ADAPTIVE_REVIEW
    if config.beat_prior == 0 and not config.speed_variants:  # the product's session
        return RetrievalSession(track, query.start_s, query.duration_s, config.patience,
                                strategy, **options)
    return ResearchSession(track, query.start_s, query.duration_s, config.patience, strategy,
                           beats=beats, beat_prior=config.beat_prior,
                           speed_variants=config.speed_variants, **options)


def evaluate_sound(
    sound: SoundTruth,
    tracks: dict[str, FeatureTrack],
    config: EvaluationConfig,
    searches: dict[tuple[str, int], WindowSearch],
    beats: BeatGrid | None = None,
) -> list[SoundResult]:
    """Run every (features, strategy) on one sound, one at a time and, with ``config.batch``,
    in batch review too. ``searches`` caches FFTs per window length."""
    results = []
    reviews = [config.review] + ([f"batch{config.batch}"] if config.batch else [])
    for kind in config.features:
        for strategy in config.strategies:
            for review in reviews:
                hunts = []
                for qi in _query_indices(sound, config.queries):
                    session = _session(tracks[kind], kind, strategy, sound.occurrences[qi],
                                       config, searches, beats)
                    if review == ONE_AT_A_TIME:
                        hunts.append(simulate_user(session, sound.occurrences, qi))
                    elif review == ADAPTIVE:
                        hunts.append(simulate_adaptive_user(session, sound.occurrences, qi))
                    else:
                        hunts.append(simulate_batch_user(session, sound.occurrences, qi,
                                                         config.batch))
                results.append(_sound_result(sound, kind, strategy, review, hunts))
    return results


def _sound_result(sound: SoundTruth, kind: str, strategy: str, review: str,
                  hunts: Sequence[SimulatedHunt]) -> SoundResult:
    """One sound's hunts (one per query) under one method, averaged."""
    n = len(sound.occurrences)
    found = [h.found for h in hunts]
    return SoundResult(
        sound.file, sound.genre, sound.category, sound.sound, kind, strategy, n, len(hunts),
        float(np.mean([f / (n - 1) for f in found])), float(np.mean([h.answers for h in hunts])),
        float(np.mean(found)), float(np.mean([f == n - 1 for f in found])),
        _mean_ms([e for h in hunts for e in h.frame_errors_s]),
        _mean_ms([e for h in hunts for e in h.refined_errors_s]),
        review, float(np.mean([h.pages for h in hunts])),
        tuple(1000.0 * e for h in hunts for e in h.refined_errors_s),
        tuple(x for h in hunts for x in h.shown),
        None if any(h.expected_left is None for h in hunts)
        else float(np.mean([h.expected_left for h in hunts])),
    )


def _mean_ms(errors_s: Sequence[float]) -> float:
    return 1000.0 * float(np.mean(errors_s)) if len(errors_s) else math.nan


def evaluate_auto_accept(
    sound: SoundTruth,
    tracks: dict[str, FeatureTrack],
    config: EvaluationConfig,
    searches: dict[tuple[str, int], WindowSearch],
    beats: BeatGrid | None = None,
) -> list[AutoAcceptResult]:
    """Auto-accept after ``config.manual_answers`` answers, at each threshold, per method."""
    results = []
    for kind in config.features:
        for strategy in config.strategies:
            for threshold in config.auto_accept:
                for qi in _query_indices(sound, config.queries):
                    session = _session(tracks[kind], kind, strategy, sound.occurrences[qi],
                                       config, searches, beats)
                    hunt = simulate_auto_accept(
                        session, sound.occurrences, qi, threshold, config.manual_answers)
                    results.append(AutoAcceptResult(
                        sound.file, sound.category, sound.sound, kind, strategy, threshold,
                        len(sound.occurrences) - 1, hunt.correct, hunt.wrong, hunt.answers,
                        hunt.estimate, hunt.remaining, hunt.auto_correct, hunt.estimated_count,
                        *hunt.estimate_range))
    return results


def evaluate_file(
    path: Path, sounds: Sequence[SoundTruth], config: EvaluationConfig
) -> tuple[list[SoundResult], list[str], list[AutoAcceptResult]]:
    """Evaluate every sound of one audio file. Returns results, skip reasons and the
    auto-accept hunts (when ``config.auto_accept`` has thresholds)."""
    try:
        audio = load_audio(path)
        tracks = {
            kind: features_cached(audio, kind, config.whiten, config.feature_cache,
                                  checkpoint=config.checkpoint, device=config.device
                                  ).with_samples(audio.samples, audio.sr_hz)
            for kind in config.features
        }
        beats = estimate_beats(audio) if config.beat_prior > 0 else None
    except LoopfindError as error:
        return [], [f"{path.name}: {error}"], []
    results, skipped, auto = [], [], []
    searches: dict[tuple[str, int], WindowSearch] = {}
    for sound in sounds:
        if len(sound.occurrences) < 2:
            skipped.append(f"{sound.file} {sound.sound}: only one occurrence, nothing to find")
            continue
        try:
            results += evaluate_sound(sound, tracks, config, searches, beats)
            auto += evaluate_auto_accept(sound, tracks, config, searches, beats)
        except SelectionError as error:
            skipped.append(f"{sound.file} {sound.sound}: {error}")
    return results, skipped, auto


def _evaluate_file_in_worker(args: tuple[Path, tuple[SoundTruth, ...], EvaluationConfig]):
    torch.set_num_threads(1)  # one process per core already fills the machine
    return evaluate_file(*args)


def summarize(results: Iterable[SoundResult]) -> tuple[RecallRow, ...]:
    """Per features × strategy × category × genre, with pooled ``all`` rows: mean recall, the
    answers spent per occurrence found (totals over the group's sounds, so a sound with many
    occurrences weighs more) and the share of hunts that found every occurrence."""
    groups: dict[tuple[str, str, str, str, str], list[SoundResult]] = defaultdict(list)
    for r in results:
        for category in (r.category, ALL):
            for genre in (r.genre, ALL):
                groups[(r.features, r.strategy, category, genre, r.review)].append(r)
    rows = []
    for (features, strategy, category, genre, review), members in groups.items():
        answers = sum(m.answers for m in members)
        pages = sum(m.pages for m in members)
        found = sum(m.found for m in members)
        rows.append(RecallRow(
            features, strategy, category, genre, float(np.mean([m.recall for m in members])),
            len(members), answers / found if found else math.inf,
            float(np.mean([m.complete for m in members])),
            _weighted_ms(members, "frame_error_ms"), _weighted_ms(members, "refined_error_ms"),
            review, pages / found if found else math.inf,
            *start_error_spread([e for m in members for e in m.start_errors_ms]),
            pooled_recall(members),
        ))
    return tuple(rows)


EVENT_TOLERANCE_MS = 20.0  # an event this close to the true start lands on time in a game


def start_error_spread(errors_ms: Sequence[float]) -> tuple[float, float, float]:
    """(median, 90th percentile, share within :data:`EVENT_TOLERANCE_MS`) of start errors in
    milliseconds; nan for each when nothing was found."""
    if not len(errors_ms):
        return math.nan, math.nan, math.nan
    errors = np.asarray(errors_ms, dtype=float)
    return (float(np.median(errors)), float(np.percentile(errors, 90)),
            float(np.mean(errors <= EVENT_TOLERANCE_MS)))


def _weighted_ms(members: Sequence[SoundResult], field: str) -> float:
    """Mean of a per-sound timing error over the group, weighted by occurrences found."""
    pairs = [(getattr(m, field), m.found * m.n_queries) for m in members
             if math.isfinite(getattr(m, field)) and m.found > 0]
    weight = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / weight if weight else math.nan


def _check_config(config: EvaluationConfig) -> None:
    for kind in config.features:
        if kind not in FEATURE_KINDS:
            raise SelectionError(
                f"Unknown feature kind {kind!r}; choose from {', '.join(FEATURE_KINDS)}."
            )
    for strategy in config.strategies:
        if strategy not in STRATEGIES:
            raise SelectionError(
                f"Unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}."
            )
    if not isinstance(config.batch, int) or not 0 <= config.batch <= MAX_BATCH:
        raise SelectionError(
            f"batch must be a whole number from 0 (off) to {MAX_BATCH}, not {config.batch!r}.")
    if config.review not in REVIEWS:
        raise SelectionError(f"review must be one of {', '.join(REVIEWS)}, not "
                             f"{config.review!r}.")
    if config.queries not in QUERY_MODES:
        raise SelectionError(
            f"queries must be one of {', '.join(QUERY_MODES)}, not {config.queries!r}.")
    if not config.features or not config.strategies:
        raise SelectionError("Give at least one feature kind and one strategy, not features "
                             f"{config.features!r} and strategies {config.strategies!r}.")
    speed_factors(config.speed_variants)  # refuse bad variants before any audio is read


def evaluate_dataset(
    root: str | Path, config: EvaluationConfig = EvaluationConfig(),
    progress: ProgressCallback = no_progress,
) -> EvaluationReport:
    """Evaluate a dataset folder (see :mod:`loopfind_core.corpus.dataset`)."""
    _check_config(config)
    started = time.perf_counter()
    dataset = read_dataset(root)
    sounds_by_file: dict[str, list[SoundTruth]] = defaultdict(list)
    for sound in dataset.sounds():
        sounds_by_file[sound.file].append(sound)
    tasks = [(dataset.path_of(f), tuple(s), config) for f, s in sounds_by_file.items()]
    jobs = min(len(tasks), config.jobs or os.cpu_count() or 1)
    results: list[SoundResult] = []
    skipped: list[str] = []
    auto: list[AutoAcceptResult] = []
    progress(0, len(tasks), "evaluating")
    if jobs <= 1:
        outcomes: Iterable = (evaluate_file(*task) for task in tasks)
        executor = None
    else:
        executor = ProcessPoolExecutor(max_workers=jobs)
        outcomes = executor.map(_evaluate_file_in_worker, tasks)
    try:
        for done, (file_results, file_skipped, file_auto) in enumerate(outcomes, start=1):
            results += file_results
            skipped += file_skipped
            auto += file_auto
            progress(done, len(tasks), "evaluating")
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    for reason in skipped:
        log.warning("skipped %s", reason)
    return EvaluationReport(
        rows=summarize(results), sounds=tuple(results), skipped=tuple(skipped),
        seconds=time.perf_counter() - started, auto_accept=summarize_auto_accept(auto),
        bands=summarize_bands(results), estimates=summarize_estimates(results),
    )


def summarize_auto_accept(results: Iterable[AutoAcceptResult]) -> tuple[AutoAcceptRow, ...]:
    """Per features × strategy × category (and ``all``) × threshold."""
    groups: dict[tuple[str, str, str, float], list[AutoAcceptResult]] = defaultdict(list)
    for r in results:
        for category in (r.category, ALL):
            groups[(r.features, r.strategy, category, r.threshold)].append(r)
    rows = []
    for (features, strategy, category, threshold), hunts in groups.items():
        accepted = sum(h.auto_correct + h.wrong for h in hunts)
        shown = [h for h in hunts if math.isfinite(h.estimated_precision) and h.estimated_count]
        expected = sum(h.estimated_count for h in shown)
        remaining = sum(h.remaining for h in hunts)
        rows.append(AutoAcceptRow(
            features, strategy, category, threshold,
            sum(h.auto_correct for h in hunts) / accepted if accepted else math.nan,
            float(np.mean([h.correct / h.to_find for h in hunts])),
            float(np.mean([h.answers for h in hunts])),
            sum(h.estimated_precision * h.estimated_count for h in shown) / expected
            if expected else math.nan, len(hunts),
            sum(h.auto_correct for h in hunts) / remaining if remaining else math.nan,
            sum(h.estimated_low * h.estimated_count for h in shown) / expected
            if expected else math.nan,
            sum(h.estimated_high * h.estimated_count for h in shown) / expected
            if expected else math.nan,
        ))
    return tuple(sorted(rows, key=lambda r: (r.features, r.strategy,
                                             (*CATEGORIES, ALL).index(r.category), r.threshold)))
