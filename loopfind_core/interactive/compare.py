"""Feature kinds side by side for one query: what a researcher shows (the app's Compare page).

For one query window and several feature tracks of the same audio:

- :func:`distance_curve` — the query's distance to every window of the track, divided by its
  median so kinds with different units share one axis (1 = a typical window);
- :func:`ranked_proposals` and :func:`occurrence_ranks` — where each true occurrence comes in
  the order a search with no answers would propose windows (1 = first proposal);
- :func:`self_similarity` — a downsampled frame-by-frame cosine self-similarity matrix;
- :func:`simulated_recalls` — the recall a simulated user reaches with each kind and strategy,
  when the track has ground truth;
- :func:`compare_kinds` — every kind (raw and whitened) judged against the answers a user gave
  in a hunt (:class:`Answers`: confirmed and rejected windows, or the demo's ground truth):
  each confirmed occurrence's rank, the judgements a simulated user answering as the user did
  needs to find them all (:func:`judged_hunt`), and :func:`verdict`, the one-sentence answer to
  "MFCC or learned?" with a sign test over the ranks. The Compare page and the CLI's
  ``compare`` both call it, so they give the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from loopfind_core.base.errors import LoopfindError, SelectionError
from loopfind_core.corpus.dataset import Occurrence, SoundTruth
from loopfind_core.corpus.truth import (
    MATCH_OVERLAP_FRACTION,
    matching_occurrence,
    overlap_s,
    simulate_user,
)
from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
from loopfind_core.features.track import FeatureTrack
from loopfind_core.library.hunt import LibraryHunt
from loopfind_core.retrieval.search import WindowSearch, allowed_starts, best_allowed_start
from loopfind_core.retrieval.session import (
    DEFAULT_PATIENCE,
    MAX_PATIENCE,
    STRATEGIES,
    RetrievalSession,
    query_window_frames,
)

MAX_RANKED_PROPOSALS = 200  # ranks beyond this are reported as "not in the first 200"
SELF_SIMILARITY_SIZE = 240  # cells per side of the self-similarity matrix


@dataclass(frozen=True)
class DistanceCurve:
    """One kind's distance from the query window to every window of the track."""

    kind: str
    frame_rate_hz: float
    query_frame: int  # the query window's start frame
    window_frames: int  # the window length L in frames
    relative_distance: np.ndarray  # (n_starts,) distance / median distance (1 = typical)

    @property
    def times_s(self) -> np.ndarray:
        """(n_starts,) window start times in seconds."""
        return np.arange(len(self.relative_distance)) / self.frame_rate_hz

    @property
    def window_s(self) -> float:
        return self.window_frames / self.frame_rate_hz


def distance_curve(track: FeatureTrack, start_s: float, duration_s: float) -> DistanceCurve:
    """The query window's mean squared distance to every window, relative to its median."""
    start, length = query_window_frames(track, start_s, duration_s)
    profile = WindowSearch(track.values, length, device="cpu").distance_profile(start)
    median = float(profile.median()) or 1.0
    return DistanceCurve(track.kind, track.frame_rate_hz, start, length,
                         (profile / median).numpy())


def ranked_proposals(curve: DistanceCurve, limit: int = MAX_RANKED_PROPOSALS) -> list[float]:
    """Start times (seconds) in the order a search with no answers proposes them: the lowest
    distance first, each window overlapping no earlier one (or the query) by over half."""
    scores = torch.from_numpy(np.asarray(curve.relative_distance, dtype=np.float32))
    blocked = [curve.query_frame]
    order: list[float] = []
    for _ in range(limit):
        allowed = allowed_starts(len(scores), curve.window_frames, blocked, scores.device)
        start = best_allowed_start(scores, allowed)
        if start is None:
            break
        blocked.append(start)
        order.append(start / curve.frame_rate_hz)
    return order


def occurrence_ranks(proposals_s: Sequence[float], window_s: float,
                     occurrences: Sequence[Occurrence]) -> list[int | None]:
    """For each occurrence, the 1-based rank of the first proposal covering at least half the
    window of it, or None if no proposal in the list does."""
    ranks: list[int | None] = []
    for occurrence in occurrences:
        rank = next(
            (i + 1 for i, start in enumerate(proposals_s)
             if overlap_s(start, start + window_s, occurrence.start_s, occurrence.end_s)
             >= MATCH_OVERLAP_FRACTION * window_s),
            None,
        )
        ranks.append(rank)
    return ranks


def self_similarity(track: FeatureTrack, size: int = SELF_SIMILARITY_SIZE) -> np.ndarray:
    """(size, size) cosine similarity between segments: frames averaged into ``size`` equal
    segments (fewer for a short track), each dimension centred over the track first."""
    values = track.values - track.values.mean(axis=0, keepdims=True)
    size = max(1, min(size, len(values)))
    bounds = np.linspace(0, len(values), size + 1).astype(int)
    segments = np.add.reduceat(values, bounds[:-1], axis=0) / np.diff(bounds)[:, None]
    norms = np.linalg.norm(segments, axis=1, keepdims=True) + 1e-9
    unit = segments / norms
    return (unit @ unit.T).astype(np.float32)


@dataclass(frozen=True)
class SimulatedRecall:
    kind: str
    strategy: str
    found: int
    total: int  # occurrences other than the query
    answers: int

    @property
    def recall(self) -> float:
        return self.found / self.total if self.total else 1.0


def simulated_recalls(
    tracks: Mapping[str, FeatureTrack], sound: SoundTruth, query_index: int,
    patience: int = DEFAULT_PATIENCE, strategies: Sequence[str] = STRATEGIES,
) -> list[SimulatedRecall]:
    """A simulated user hunting ``sound`` from occurrence ``query_index`` with each feature kind
    and strategy, answering from the ground truth (the protocol of ``evaluate``)."""
    query = sound.occurrences[query_index]
    results = []
    for kind, track in tracks.items():
        for strategy in strategies:
            session = RetrievalSession(track, query.start_s, query.duration_s, patience,
                                       strategy, device="cpu")
            hunt = simulate_user(session, sound.occurrences, query_index)
            results.append(SimulatedRecall(kind, strategy, hunt.found,
                                           len(sound.occurrences) - 1, hunt.answers))
    return results


# ----- judging every kind against the answers a user gave (or the ground truth) -----
COMPARED_KINDS = ("mfcc", "mel", "mel-std", "learned", "fused")
BASELINE_KIND = "mfcc"  # the paper's features: what the verdict measures a kind against
MAX_JUDGEMENTS = 150  # a simulated hunt that has not found everything by then stops
ANSWERS_FORMAT = "loopfind-answers"  # the "format" field of an answers file
ANSWERS_VERSION = 1
SIGN_TEST_CLEAR_P = 0.05  # a verdict says "clearly" below this two-sided sign-test p


@dataclass(frozen=True)
class Answers:
    """What was judged in one hunt, in seconds from the start of the track: the query window,
    the windows confirmed as the sound and the windows rejected. ``from_truth``: the ground
    truth's occurrences (the demo), where every other window is known not to be the sound."""

    track: str
    query_start_s: float
    duration_s: float
    confirmed_s: tuple[float, ...]  # starts of confirmed occurrences, time order
    rejected_s: tuple[float, ...] = ()  # starts of rejected windows, time order
    from_truth: bool = False
    source: str = "hunt"  # what gave the answers, for people: "hunt", "library hunt", …

    def occurrences(self) -> tuple[Occurrence, ...]:
        """The confirmed windows as occurrences (each the query's length)."""
        return tuple(Occurrence(s, s + self.duration_s) for s in self.confirmed_s)

    def to_json(self) -> str:
        """The answers file the CLI's ``compare`` reads (what the Compare page downloads)."""
        return json.dumps({
            "format": ANSWERS_FORMAT, "version": ANSWERS_VERSION, "track": self.track,
            "source": self.source, "from_truth": self.from_truth,
            "query": {"start_s": self.query_start_s, "duration_s": self.duration_s},
            "confirmed_s": list(self.confirmed_s), "rejected_s": list(self.rejected_s),
        }, indent=1)


def answers_from_session(session: RetrievalSession, track: str,
                         source: str = "hunt") -> Answers:
    """A hunt's answers (its query, confirmed and rejected windows: window starts on the
    session's frame grid, seconds)."""
    return Answers(track, session.query_start_s, session.query.duration_s,
                   tuple(sorted(c.start_s for c in session.found)),
                   tuple(sorted(c.start_s for c in session.rejected)), source=source)


def answers_from_truth(sound: SoundTruth, query_index: int, track: str) -> Answers:
    """The ground truth of ``sound`` as answers, occurrence ``query_index`` the query."""
    query = sound.occurrences[query_index]
    others = tuple(o.start_s for i, o in enumerate(sound.occurrences) if i != query_index)
    return Answers(track, query.start_s, query.duration_s, others, (), from_truth=True,
                   source=f"ground truth of {sound.sound}")


def read_answers(text: str, query_start_s: float | None = None) -> Answers:
    """Answers from an answers file (:meth:`Answers.to_json`) or from the events JSON export
    of a hunt (``docs/exports.md``): then the query is the event at ``query_start_s`` (the
    nearest; default the first), the other events are the confirmed windows and no window is
    known to be rejected.

    Raises:
        SelectionError: the text is neither, or holds no query.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SelectionError(f"The answers file is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise SelectionError("The answers file must hold a JSON object.")
    try:
        if document.get("format") == ANSWERS_FORMAT:
            query = document["query"]
            return Answers(str(document.get("track", "")), float(query["start_s"]),
                           float(query["duration_s"]),
                           tuple(sorted(float(s) for s in document["confirmed_s"])),
                           tuple(sorted(float(s) for s in document.get("rejected_s", []))),
                           bool(document.get("from_truth", False)),
                           str(document.get("source", "answers file")))
        if "sounds" in document:
            events = [e for sound in document["sounds"][:1] for e in sound["events"]]
            if not events:
                raise SelectionError("The events file holds no event to take as the query.")
            starts = [float(e["start_s"]) for e in events]
            at = 0 if query_start_s is None else int(
                np.argmin([abs(s - query_start_s) for s in starts]))
            name = document.get("track", {}).get("name", "")
            return Answers(str(name), starts[at], float(events[at]["duration_s"]),
                           tuple(sorted(s for i, s in enumerate(starts) if i != at)),
                           source="events export (rejections unknown)")
    except (KeyError, TypeError, ValueError) as error:
        raise SelectionError(f"The answers file lacks a field or has a bad value: {error}") \
            from None
    raise SelectionError("Not an answers file: expected the Compare page's answers JSON or the "
                         "Export page's events JSON.")


@dataclass(frozen=True)
class JudgedHunt:
    """A simulated user hunting with one kind, answering as the answers say: yes to a window
    covering half of a confirmed occurrence not found yet, no to anything else. ``unknown``
    counts the no's to windows the user never judged (for ground truth: 0)."""

    judgements: int  # windows judged until every confirmed occurrence was found (or it stopped)
    found: int  # confirmed occurrences found
    total: int  # confirmed occurrences
    unknown: int  # windows judged no that the answers never judged

    @property
    def complete(self) -> bool:
        return self.found == self.total


def judged_hunt(track: FeatureTrack, answers: Answers, strategy: str = "active",
                max_judgements: int = MAX_JUDGEMENTS) -> JudgedHunt:
    """Hunt ``answers``' query in ``track`` with a simulated user who answers from
    ``answers`` (the 50 %-overlap rule of the ground truth), until every confirmed occurrence
    is found, the session proposes nothing more, or ``max_judgements`` windows were judged."""
    session = RetrievalSession(track, answers.query_start_s, answers.duration_s, MAX_PATIENCE,
                               strategy, device="cpu")
    confirmed = answers.occurrences()
    needed_s = MATCH_OVERLAP_FRACTION * answers.duration_s
    judged = [Occurrence(s, s + answers.duration_s) for s in answers.rejected_s] + list(confirmed)
    unfound = set(range(len(confirmed)))
    judgements = unknown = 0
    while unfound and judgements < max_judgements:
        candidate = session.propose()
        if candidate is None:
            break
        match = matching_occurrence(candidate, confirmed, unfound, needed_s)
        if match is not None:
            unfound.discard(match)
        elif not answers.from_truth and not any(
                overlap_s(candidate.start_s, candidate.end_s, w.start_s, w.end_s) >= needed_s
                for w in judged):
            unknown += 1
        session.answer(match is not None)
        judgements += 1
    return JudgedHunt(judgements, len(confirmed) - len(unfound), len(confirmed), unknown)


@dataclass(frozen=True)
class KindResult:
    """One feature kind (raw or whitened) judged against the answers."""

    kind: str
    whitened: bool
    curve: DistanceCurve
    ranks: tuple[int | None, ...]  # per confirmed occurrence (time order); None: beyond the list
    hunt: JudgedHunt
    self_similarity: np.ndarray  # (n, n) cosine, see :func:`self_similarity`

    @property
    def label(self) -> str:
        return f"{self.kind}{' (whitened)' if self.whitened else ''}"


@dataclass(frozen=True)
class Comparison:
    """Every kind judged against one set of answers."""

    answers: Answers
    results: tuple[KindResult, ...]
    skipped: tuple[str, ...] = ()  # "kind: why" for kinds that could not be computed

    def result(self, kind: str, whitened: bool) -> KindResult | None:
        return next((r for r in self.results if r.kind == kind and r.whitened == whitened),
                    None)


def compare_kinds(features: Callable[[str, float | None], FeatureTrack], answers: Answers,
                  kinds: Sequence[str] = COMPARED_KINDS,
                  whitenings: Sequence[float | None] = (None, DEFAULT_WHITENING_SHRINKAGE),
                  strategy: str = "active") -> Comparison:
    """Judge every kind × whitening against ``answers``: each confirmed occurrence's rank in
    a search with no answers, the judgements a simulated user answering from ``answers``
    needs (:func:`judged_hunt`), the distance curve and the self-similarity matrix.
    ``features(kind, whiten)`` gives the track's features (the app's cache, or extraction).
    A kind whose features fail (a missing checkpoint) is listed in ``skipped``."""
    results, skipped = [], []
    confirmed = answers.occurrences()
    for kind in kinds:
        for whiten in whitenings:
            try:
                track = features(kind, whiten)
            except LoopfindError as error:
                skipped.append(f"{kind}: {error}")
                break
            curve = distance_curve(track, answers.query_start_s, answers.duration_s)
            ranks = occurrence_ranks(ranked_proposals(curve), curve.window_s, confirmed)
            results.append(KindResult(kind, whiten is not None, curve, tuple(ranks),
                                      judged_hunt(track, answers, strategy),
                                      self_similarity(track)))
    return Comparison(answers, tuple(results), tuple(skipped))


@dataclass(frozen=True)
class Verdict:
    """The one-sentence answer to "MFCC or learned?" with its uncertainty."""

    kind: str  # the kind set against the baseline (learned when there is one)
    baseline: str
    whitened: bool
    kind_judgements: int
    baseline_judgements: int
    better: int  # confirmed occurrences the kind ranks above the baseline
    worse: int  # ... below it
    p_value: float  # two-sided sign test of better vs worse (ties dropped)
    text: str


def sign_test_p(better: int, worse: int) -> float:
    """Two-sided exact sign test: the chance of a split at least this uneven by coin flips."""
    n = better + worse
    if n == 0:
        return 1.0
    k = min(better, worse)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def kind_name(kind: str) -> str:
    """A kind as a sentence names it: MFCC in capitals, the others as spelled."""
    return "MFCC" if kind == "mfcc" else kind


def _count(hunt: JudgedHunt) -> str:
    """A judgement count: "11", or "over 150 (7 of 10 found)" for a hunt that stopped short."""
    if hunt.complete:
        return str(hunt.judgements)
    return f"over {hunt.judgements} ({hunt.found} of {hunt.total} found)"


def verdict(comparison: Comparison, whitened: bool, kind: str = "learned",
            baseline: str = BASELINE_KIND) -> Verdict | None:
    """``kind`` against ``baseline`` (both raw or both whitened): judgements needed, and how
    many confirmed occurrences each ranks higher (sign test). None if either is missing or
    nothing was confirmed. A kind missing is replaced by the kind needing fewest judgements."""
    rows = [r for r in comparison.results if r.whitened == whitened]
    base = next((r for r in rows if r.kind == baseline), None)
    if base is None or not comparison.answers.confirmed_s:
        return None
    other = next((r for r in rows if r.kind == kind), None) or min(
        (r for r in rows if r.kind != baseline),
        key=lambda r: (not r.hunt.complete, r.hunt.judgements), default=None)
    if other is None:
        return None
    ceiling = MAX_RANKED_PROPOSALS + 1
    pairs = [(a or ceiling, b or ceiling) for a, b in zip(other.ranks, base.ranks)]
    better = sum(a < b for a, b in pairs)
    worse = sum(a > b for a, b in pairs)
    p = sign_test_p(better, worse)
    n = len(comparison.answers.confirmed_s)
    song = "on the demo" if comparison.answers.from_truth else "on this song"
    plural = "s" if other.hunt.judgements != 1 else ""
    text = (f"{song.capitalize()} {kind_name(other.kind)} needs {_count(other.hunt)} "
            f"judgement{plural} for the {n} "
            f"{'true' if comparison.answers.from_truth else 'confirmed'} occurrence"
            f"{'s' if n != 1 else ''}, {kind_name(base.kind)} {_count(base.hunt)} "
            f"({'whitened' if whitened else 'raw'} features). ")
    if better == worse:
        text += (f"{kind_name(other.kind)} ranks {better} of the {n} higher than "
                 f"{kind_name(base.kind)} and {worse} lower: the ranks do not tell them apart.")
    else:
        leader = kind_name(other.kind if better > worse else base.kind)
        strength = (f"{leader} is clearly the better here." if p < SIGN_TEST_CLEAR_P else
                    f"{leader} leads, but too few occurrences differ to be sure.")
        text += (f"{kind_name(other.kind)} ranks {better} of the {n} higher than "
                 f"{kind_name(base.kind)}, {worse} lower (sign test p = {p:.2g}): {strength}")
    unknown = other.hunt.unknown + base.hunt.unknown
    if unknown:
        text += (f" {unknown} of the windows they proposed {'was' if unknown == 1 else 'were'}"
                 " never judged by you and counted as no (had any been the sound, the counts "
                 "would differ).")
    return Verdict(other.kind, base.kind, whitened, other.hunt.judgements,
                   base.hunt.judgements, better, worse, p, text)


def comparison_csv(comparison: Comparison) -> str:
    """The comparison as CSV, one row per kind × confirmed occurrence: ``kind,whitened,
    occurrence_start_s,rank,judgements,found,total,unknown`` (rank empty: beyond
    :data:`MAX_RANKED_PROPOSALS`; the last four are the kind's, repeated)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "whitened", "occurrence_start_s", "rank", "judgements", "found",
                     "total", "unknown"])
    for r in comparison.results:
        for start, rank in zip(comparison.answers.confirmed_s, r.ranks):
            writer.writerow([r.kind, int(r.whitened), f"{start:.3f}", rank or "",
                             r.hunt.judgements, r.hunt.found, r.hunt.total, r.hunt.unknown])
    return out.getvalue()


def answers_from_library(hunt: LibraryHunt) -> Answers:
    """A library hunt's answers in the query's own track (the windows it proposed in other
    tracks are left out: the comparison is of one track's features)."""
    session = hunt.session
    track, query_s = hunt.location(session.query)

    def starts(candidates: Sequence) -> tuple[float, ...]:
        placed = [hunt.location(c) for c in candidates]
        return tuple(sorted(at_s for name, at_s in placed if name == track))

    return Answers(track, query_s, session.query.duration_s, starts(session.found),
                   starts(session.rejected), source="library hunt (this track's answers)")


# ----- the demo's default comparison: the sound whose kinds differ most, measured -----
DEMO_COMPARISON_SOUND = "sample_hit_3"  # chosen by `loopfind compare --demo` (docs/results.md)


@dataclass(frozen=True)
class DemoMeasurement:
    """How much the kinds differ on one annotated sound (its first occurrence the query):
    each kind's judgements with the ground truth answering, whitened as the app hunts."""

    sound: str
    occurrences: int
    judgements: Mapping[str, int]  # kind → judgements (MAX_JUDGEMENTS when it stopped short)

    @property
    def spread(self) -> int:
        """The most judgements a kind needs minus the fewest (0: the kinds do not differ)."""
        return max(self.judgements.values()) - min(self.judgements.values())


def measure_demo_sounds(features: Callable[[str, float | None], FeatureTrack],
                        sounds: Sequence[SoundTruth], track: str,
                        kinds: Sequence[str] = COMPARED_KINDS,
                        whiten: float | None = DEFAULT_WHITENING_SHRINKAGE
                        ) -> list[DemoMeasurement]:
    """For every sound with at least 3 occurrences, the judgements each kind needs (ground
    truth answering, the first occurrence the query), best spread first: the first is the
    demo's default comparison, the one where the kinds differ most visibly."""
    rows = []
    for sound in sounds:
        if len(sound.occurrences) < 3:
            continue
        comparison = compare_kinds(features, answers_from_truth(sound, 0, track), kinds,
                                   (whiten,))
        rows.append(DemoMeasurement(sound.sound, len(sound.occurrences), {
            r.kind: r.hunt.judgements if r.hunt.complete else MAX_JUDGEMENTS
            for r in comparison.results}))
    return sorted(rows, key=lambda m: (-m.spread, -m.occurrences, m.sound))
