"""The ground truth's rules: when a proposed window counts as an occurrence, which annotated
sound a selection covers, and a simulated user who answers a hunt from the truth (the paper's
protocol, §IV). Used by ``evaluate`` and by the app's Compare page alike.

A session here is anything with ``propose()``, ``answer(yes)`` and ``refined_start_s(c)``
(:class:`HuntSession`), or for batch review ``next_batch(n)`` and ``answer_batch(decisions)``
(:class:`BatchHuntSession`): the corpus layer knows nothing of how windows are searched.
"""


from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from loopfind_core.corpus.dataset import Occurrence, SoundTruth

MATCH_OVERLAP_FRACTION = 0.5  # a proposal is correct if it covers ≥ 50% of d of an occurrence


class ProposedWindow(Protocol):
    """A proposed window (a retrieval Candidate): seconds from the start of the track."""

    start_s: float
    end_s: float


class HuntSession(Protocol):
    """What the simulated user needs of a session (a retrieval RetrievalSession)."""

    def propose(self) -> ProposedWindow | None: ...

    def answer(self, yes: bool) -> None: ...

    def refined_start_s(self, candidate) -> float: ...


class BatchHuntSession(Protocol):
    """What the simulated batch reviewer needs of a session (a retrieval RetrievalSession)."""

    def next_batch(self, n: int) -> Sequence[ProposedWindow]: ...

    def answer_batch(self, decisions: Sequence[tuple[ProposedWindow, bool]]) -> None: ...

    def refined_start_s(self, candidate) -> float: ...


@dataclass(frozen=True)
class SimulatedHunt:
    found: int  # occurrences found, the query excluded
    answers: int  # yes/no answers given (in batch review: every window shown, ticked or not)
    frame_errors_s: tuple[float, ...] = ()  # |frame start − true start| per found occurrence
    refined_errors_s: tuple[float, ...] = ()  # |refined start − true start| per found one
    pages: int = 0  # screens the user looked at: one per answer, or one per reviewed batch
    shown: tuple[tuple[float, bool], ...] = ()  # adaptive review: (the chance shown, was it
    #                                             the sound) per window judged
    expected_left: float | None = None  # adaptive review: matches the session expected
    #                                     among the unjudged windows when it stopped


def overlap_s(start_a: float, end_a: float, start_b: float, end_b: float) -> float:
    """Length in seconds of the intersection of two windows."""
    return max(0.0, min(end_a, end_b) - max(start_a, start_b))


class TruthJudge:
    """The simulated user's judgement during one hunt: a window is an occurrence iff it covers
    at least half the query's duration of an occurrence not found yet; each occurrence is found
    once. Keeps what was found and the start errors (seconds) of the found ones."""

    def __init__(self, occurrences: Sequence[Occurrence], query_index: int) -> None:
        self.occurrences = occurrences
        self.needed_s = MATCH_OVERLAP_FRACTION * occurrences[query_index].duration_s
        self.unfound = set(range(len(occurrences))) - {query_index}
        self.frame_errors_s: list[float] = []
        self.refined_errors_s: list[float] = []

    def judge(self, candidate, session: HuntSession) -> bool:
        """Yes iff ``candidate`` is an occurrence not found yet (then it counts as found)."""
        match = matching_occurrence(candidate, self.occurrences, self.unfound, self.needed_s)
        if match is None:
            return False
        self.unfound.discard(match)
        true_start = self.occurrences[match].start_s
        self.frame_errors_s.append(abs(candidate.start_s - true_start))
        self.refined_errors_s.append(abs(session.refined_start_s(candidate) - true_start))
        return True

    def hunt(self, answers: int, pages: int, shown: Sequence[tuple[float, bool]] = (),
             expected_left: float | None = None) -> SimulatedHunt:
        return SimulatedHunt(len(self.occurrences) - 1 - len(self.unfound), answers,
                             tuple(self.frame_errors_s), tuple(self.refined_errors_s),
                             pages, tuple(shown), expected_left)


def simulate_user(
    session: HuntSession, occurrences: Sequence[Occurrence], query_index: int
) -> SimulatedHunt:
    """Answer the session's proposals from ground truth until it is done."""
    judge = TruthJudge(occurrences, query_index)
    answers = 0
    while (candidate := session.propose()) is not None:
        session.answer(judge.judge(candidate, session))
        answers += 1
    return judge.hunt(answers, pages=answers)


def simulate_batch_user(
    session: BatchHuntSession, occurrences: Sequence[Occurrence], query_index: int,
    batch_size: int,
) -> SimulatedHunt:
    """Review the session's pages of ``batch_size`` windows until it is done: tick exactly
    the windows that cover enough of an occurrence not found yet (the same rule and order as
    :func:`simulate_user`, so two windows of a page never claim one occurrence), submit, and
    ask for the next page. The session decides when it is done (its patience counts a page
    with nothing ticked as one rejection). Every window shown counts as one answer."""
    judge = TruthJudge(occurrences, query_index)
    answers = pages = 0
    while batch := session.next_batch(batch_size):
        session.answer_batch([(candidate, judge.judge(candidate, session))
                              for candidate in batch])
        answers += len(batch)
        pages += 1
    return judge.hunt(answers, pages)


class AdaptiveHuntSession(BatchHuntSession, HuntSession, Protocol):
    """What the simulated user of the adaptive review needs (a retrieval RetrievalSession):
    ``next_page()`` gives windows (each with a ``candidate``) to judge at once."""

    def next_page(self) -> Sequence: ...

    def expected_matches(self) -> tuple[float, float, float]: ...


def simulate_adaptive_user(
    session: AdaptiveHuntSession, occurrences: Sequence[Occurrence], query_index: int,
) -> SimulatedHunt:
    """Review what the session shows until it is done: a page of one window is answered
    yes/no, a longer page is judged window by window (ticks corrected to the truth) and
    submitted. Every window shown counts as one answer; each page as one screen."""
    judge = TruthJudge(occurrences, query_index)
    answers = pages = 0
    shown: list[tuple[float, bool]] = []
    while page := session.next_page():
        decisions = [(w.candidate, judge.judge(w.candidate, session)) for w in page]
        shown += [(w.chance, yes) for w, (_, yes) in zip(page, decisions)]
        if len(decisions) == 1:
            session.answer(decisions[0][1])
        else:
            session.answer_batch(decisions)
        answers += len(decisions)
        pages += 1
    return judge.hunt(answers, pages, shown, session.expected_matches()[0])


def matching_occurrence(candidate, occurrences: Sequence[Occurrence], unfound: set[int],
                        needed_s: float) -> int | None:
    """The unfound occurrence ``candidate`` covers enough of (the simulated user's rule)."""
    overlaps = {i: overlap_s(candidate.start_s, candidate.end_s, occurrences[i].start_s,
                             occurrences[i].end_s) for i in unfound}
    match = max(overlaps, key=lambda i: (overlaps[i], -i), default=None)
    return match if match is not None and overlaps[match] >= needed_s else None


def matching_sound(
    sounds: Sequence[SoundTruth], start_s: float, duration_s: float
) -> tuple[SoundTruth, int] | None:
    """The annotated sound (and occurrence index) the query window covers at least half of."""
    best: tuple[float, SoundTruth, int] | None = None
    for sound in sounds:
        for i, occurrence in enumerate(sound.occurrences):
            shared = overlap_s(start_s, start_s + duration_s, occurrence.start_s, occurrence.end_s)
            if shared >= MATCH_OVERLAP_FRACTION * max(duration_s, occurrence.duration_s):
                if best is None or shared > best[0]:
                    best = (shared, sound, i)
    return None if best is None else (best[1], best[2])
