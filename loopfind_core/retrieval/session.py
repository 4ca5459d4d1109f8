"""Algorithm 1 of the paper as an interactive session: propose, answer, undo.

``RetrievalSession`` holds the positives P (the query and every confirmed window) and the
negatives N (every rejected window). ``propose()`` runs GetBestSamples; ``answer(yes)`` labels
the proposal; the session is done when |N| reaches ``patience``, when no window is left that
overlaps no labelled window by more than half, or when the user finishes early.

GetBestSamples, per strategy (every score is a mean squared distance per frame, lower is better):

- ``naive`` — the paper's baseline: the distance to the initial query only; answers only
  block their windows from being proposed again.
- ``active`` — see :func:`active_scores`.

The research switches measured and kept off (a beat-phase prior, speed variants of the
query) live in :mod:`loopfind_core.research.variants`, a subclass of this session.

Batch review: ``next_batch(n)`` shows the n best windows at once (mutually non-overlapping,
nothing changes); ``answer_batch`` records the reviewed page as n answers, and patience counts a
page with nothing ticked as one rejection.

All state is the list of answers, so ``undo()`` restores the previous state exactly and the
session is deterministic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch

from loopfind_core.base.errors import SelectionError
from loopfind_core.features.track import FeatureTrack
from loopfind_core.retrieval.calibration import MatchModel
from loopfind_core.retrieval.candidate import Answer, Candidate
from loopfind_core.retrieval.chances import ChanceMixin
from loopfind_core.retrieval.placement import PlacementMixin
from loopfind_core.retrieval.review import (
    ONE_AT_A_TIME,
    PageWindow,
    ReviewPolicy,
    page_length,
)
from loopfind_core.retrieval.search import (
    WindowSearch,
    allowed_starts,
    audible_starts,
    best_allowed_start,
    covered_starts,
    suppression_radius,
)

STRATEGIES = ("naive", "active")
DEFAULT_PATIENCE = 5  # the paper's setting (§IV)
MAX_PATIENCE = 1000
# γ in the active rule: how hard rejected windows push candidates away. Chosen on a generated
# tuning corpus that is not the evaluation corpus (docs/results.md §2): recall rises from γ = 0 to a
# plateau at 0.75–0.9 and falls past 1, where the score stops being a distance to a template.
NEGATIVE_WEIGHT = 0.75
AUTO_CHUNK = 16  # windows whose chances auto-accept computes at once
STATE_CACHE_ENTRIES = 8  # scores and allowed masks kept, of the latest states


class Branches(NamedTuple):
    """The candidate proposed next after each action on the session (see
    :meth:`RetrievalSession.branches`); None where the session would then be done (for
    ``undo``: nothing to take back)."""

    yes: Candidate | None  # after answer(True)
    no: Candidate | None  # after answer(False)
    undo: Candidate | None  # after undo()


def active_scores(
    positive_profiles: list[torch.Tensor],
    negative_profiles: list[torch.Tensor],
    negative_weight: float = NEGATIVE_WEIGHT,
) -> torch.Tensor:
    """The ``active`` GetBestSamples rule: Rocchio relevance feedback in distance form.

    score(t) = mean_{p∈P} D_p(t) − γ · mean_{n∈N} D_n(t),  γ = negative_weight ∈ [0, 1]

    For squared Euclidean distances, mean_p D_p(t) is the distance from window t to the
    centroid of the positive windows plus a constant. The centroid of several occurrences, each
    over a different backing, keeps what they share (the sound) and averages out what differs
    (the backing), so every confirmed occurrence sharpens the template instead of adding one
    more nearest neighbour. Subtracting γ·mean_n D_n(t) is Rocchio's negative term: it moves the
    template away from what the user rejected (decoys, the same backing without the sound).
    With γ < 1 the score is still a distance to a single template (c_P − γ·c_N) / (1 − γ), up to
    scale and a constant, so it stays bounded below and needs no tuning per track.
    """
    score = torch.stack(positive_profiles).mean(dim=0)
    if negative_profiles:
        score = score - negative_weight * torch.stack(negative_profiles).mean(dim=0)
    return score


class RetrievalSession(ChanceMixin, PlacementMixin):
    """Find the other occurrences of the window ``[start_s, start_s + duration_s)`` (seconds)
    in a feature track.

    Args:
        track_features: the track's feature frames.
        start_s: start of the query in seconds.
        duration_s: duration of the query in seconds; every candidate has this duration.
        patience: how many rejections end the session (the paper uses 5).
        strategy: ``"naive"`` or ``"active"``.
        device: torch device for the search; ``None`` picks CUDA when present.
        search: a prebuilt :class:`WindowSearch` for this track and window length, to share
            the track's FFT between sessions.
        negative_weight: γ of the ``active`` rule, from 0 (ignore rejections) to 1.
        valid_starts: optional boolean mask over window starts; False starts are never
            proposed (a library's concatenated tracks: windows that cross from one track into
            the next).
        match_model: the calibration (:mod:`.calibration`); None: the shipped one.
        review: how windows are shown and when the hunt ends (:mod:`.review`); the paper's
            one at a time by default.
    """

    def __init__(
        self,
        track_features: FeatureTrack,
        start_s: float,
        duration_s: float,
        patience: int = DEFAULT_PATIENCE,
        strategy: str = "active",
        *,
        device: str | torch.device | None = None,
        search: WindowSearch | None = None,
        negative_weight: float = NEGATIVE_WEIGHT,
        valid_starts: np.ndarray | None = None,
        match_model: MatchModel | None = None,
        review: ReviewPolicy = ONE_AT_A_TIME,
    ) -> None:
        self.features = track_features
        self.query_frame, self.window_frames = query_window_frames(
            track_features, start_s, duration_s)
        self.query_start_s = float(start_s)  # exact, not rounded to a frame
        if strategy not in STRATEGIES:
            raise SelectionError(
                f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}."
            )
        if not isinstance(patience, int) or not 1 <= patience <= MAX_PATIENCE:
            raise SelectionError(
                f"Patience must be a whole number from 1 to {MAX_PATIENCE}, not {patience!r}.")
        if not 0.0 <= negative_weight <= 1.0:
            raise SelectionError(f"negative_weight must be from 0 to 1, not {negative_weight}.")
        self.strategy = strategy
        self.patience = patience
        self._match_model = match_model
        self.negative_weight = float(negative_weight)
        if search is None or search.window_frames != self.window_frames:
            search = WindowSearch(track_features.values, self.window_frames, device=device)
        self._search = search
        self._valid = None
        if valid_starts is not None:
            if len(valid_starts) != search.n_starts:
                raise SelectionError(
                    f"valid_starts must have one entry per window start ({search.n_starts}), "
                    f"not {len(valid_starts)}.")
            self._valid = torch.as_tensor(np.asarray(valid_starts, dtype=bool),
                                          device=search.device)
        self.review = review
        self._audible = audible_starts(track_features, self.query_frame, self.window_frames,
                                       search.device)
        self._profiles: dict[int, torch.Tensor] = {}  # start frame → distance profile
        self._history: list[Answer] = []
        self._shown_logits: list[float] = []  # per answer: its log-odds when it was shown
        self._placed_cache: tuple[tuple[int, ...] | None, dict[int, int]] = (None, {})
        self._state_cache: dict[tuple, object] = {}  # (what, the answers) → value
        self._pending: Candidate | None = None
        self._finished = False
        self._median_query_distance: float | None = None
        self.query = self._candidate(self.query_frame, 0.0)

    # ----- state, all derived from the answers -----
    @property
    def history(self) -> tuple[Answer, ...]:
        return tuple(self._history)

    @property
    def found(self) -> list[Candidate]:
        """Confirmed occurrences, in the order they were confirmed (the query excluded)."""
        return [a.candidate for a in self._history if a.is_match]

    @property
    def rejected(self) -> list[Candidate]:
        return [a.candidate for a in self._history if not a.is_match]

    @property
    def patience_left(self) -> int:
        return max(0, self.patience - self._spent_patience())

    def _spent_patience(self) -> int:
        """Rejections one at a time, plus one per reviewed page with nothing ticked (see
        :meth:`answer_batch`); without pages, ``len(self.rejected)``. With the review's
        ``patience_in_a_row``, only those since the last yes."""
        looks: list[bool] = []  # per look (one answer, or one page): did it find the sound?
        page_of_look: dict[int, int] = {}
        for a in self._history:
            if a.page is None:
                looks.append(a.is_match)
            elif a.page in page_of_look:
                looks[page_of_look[a.page]] |= a.is_match
            else:
                page_of_look[a.page] = len(looks)
                looks.append(a.is_match)
        if self.review.patience_in_a_row:
            return len(looks) - 1 - max((i for i, hit in enumerate(looks) if hit), default=-1)
        return sum(not hit for hit in looks)

    @property
    def finished(self) -> bool:
        """Whether the user ended the session early (:meth:`finish`; :meth:`undo` reopens it)."""
        return self._finished

    @property
    def done(self) -> bool:
        if self._finished or self.patience_left == 0:
            return True
        return self.propose() is None

    # ----- the interaction -----
    def propose(self) -> Candidate | None:
        """The next candidate (the same one until it is answered), or None when done."""
        if self._finished or self.patience_left == 0:
            return None
        if self._pending is None:
            self._pending = self._best_candidate()
        return self._pending

    def answer(self, yes: bool) -> None:
        """Label the pending candidate as a match (``yes``) or not."""
        candidate = self.propose()
        if candidate is None:
            raise SelectionError("The session is done: there is no candidate to answer.")
        self._record([Answer(candidate, bool(yes))])

    def _record(self, answers: Sequence[Answer]) -> None:
        """Append answers given together (one, or a page): each keeps the log-odds it had
        under the answers before them (:meth:`adapted_model`)."""
        if answers:
            frames = torch.tensor([a.candidate.start_frame for a in answers])
            self._shown_logits += [float(z) for z in self._logits(frames)]
        self._history += answers
        self._pending = None

    def auto_accept(self, threshold: float) -> list[Candidate]:
        """Accept, without asking, the windows best first under the current answers (as a page
        of batch review is chosen: none overlapping another by more than half), up to the first
        whose chance of being the sound (:meth:`chances`) is below ``threshold``. The accepted
        windows do not steer each other: one wrong acceptance cannot pull the next ones its
        way, and what is accepted is what :meth:`precision_estimate` judged. Each is recorded
        as an automatic yes (:attr:`Answer.auto`), counts as a positive for the next
        proposals, and can be taken back with :meth:`undo` one by one.

        Returns:
            The accepted candidates, in order.
        """
        if not 0.0 <= threshold <= 1.0:
            raise SelectionError(f"The chance threshold must be from 0 to 1, not {threshold}.")
        accepted = self._confident_windows(threshold)
        self._record([Answer(candidate, True, auto=True) for candidate in accepted])
        return accepted

    def _confident_windows(self, threshold: float) -> list[Candidate]:
        """The windows :meth:`auto_accept` takes: best first under the current answers (as a
        page of batch review is chosen), up to the first whose chance is below ``threshold``
        (judged :data:`AUTO_CHUNK` windows at a time)."""
        windows = self._windows_best_first()
        taken: list[Candidate] = []
        while chunk := list(itertools.islice(windows, AUTO_CHUNK)):
            for candidate, chance in zip(chunk, self.chances(chunk)):
                if chance < threshold:
                    return taken
                taken.append(candidate)
        return taken

    def revise(self, start_frame: int, yes: bool) -> None:
        """Review an earlier answer (e.g. an automatic one): the answer about the window at
        ``start_frame`` becomes the user's own ``yes`` or no. Later proposals use it."""
        for i, answer in enumerate(self._history):
            if answer.candidate.start_frame == start_frame:
                self._history[i] = Answer(answer.candidate, bool(yes), page=answer.page)
                self._pending = None
                self._shown_logits = self._shown_logits[: i + 1]  # later states changed
                self._shown_logits += [self._logit_before(j)
                                       for j in range(i + 1, len(self._history))]
                return
        raise SelectionError(f"No answer about the window at frame {start_frame} to revise.")

    @property
    def auto_accepted(self) -> list[Candidate]:
        """Occurrences accepted automatically and not reviewed since."""
        return [a.candidate for a in self._history if a.auto]

    def undo(self) -> Candidate | None:
        """Take back the last answer; its candidate is proposed again. Returns it (or None)."""
        if self._finished:
            self._finished = False
            return self.propose()
        if not self._history:
            return None
        self._pending = self._history.pop().candidate
        del self._shown_logits[len(self._history):]
        return self._pending

    def finish(self) -> None:
        """End the session early ("Done"): the found list is final until undo(), which brings
        back exactly the candidate that was pending (kept, not proposed while finished)."""
        self._finished = True

    def branches(self) -> Branches:
        """What :meth:`propose` would return after each next action, computed ahead so an app
        can show it at once (the active rule makes the next candidate depend on the answer).
        Changes no observable state; the distance profiles it needs stay cached, so the real
        answer that follows costs no new profile."""
        pending = self.propose()
        after = []
        for yes in (True, False):
            if pending is None:
                after.append(None)
                continue
            self._shown_logits.append(float(self._logits(torch.tensor([pending.start_frame]))[0]))
            self._history.append(Answer(pending, yes))
            self._pending = None
            try:
                after.append(self.propose())
            finally:
                self._history.pop()
                self._shown_logits.pop()
                self._pending = pending
        if self._finished:
            self._finished = False
            try:
                back = self.propose()
            finally:
                self._finished = True
        else:
            back = self._history[-1].candidate if self._history else None
        return Branches(after[0], after[1], back)

    def similarity(self, candidate: Candidate) -> float:
        """How close ``candidate`` is to the query, 0…1: 1 − D_query(t) / median_t D_query(t),
        clipped. 1 is identical to the query; 0 is no closer than a typical window of the
        track."""
        typical = self._typical_distance()
        if typical <= 0.0:
            return 1.0
        distance = float(self._profile(self.query_frame)[candidate.start_frame])
        return float(min(1.0, max(0.0, 1.0 - distance / typical)))

    def _typical_distance(self) -> float:
        """The median of the query's distance profile (computed once)."""
        if self._median_query_distance is None:
            self._median_query_distance = float(self._profile(self.query_frame).median())
        return self._median_query_distance

    # ----- GetBestSamples -----
    def _profile(self, start_frame: int) -> torch.Tensor:
        if start_frame not in self._profiles:
            self._profiles[start_frame] = self._search.distance_profile(start_frame)
        return self._profiles[start_frame]

    def _query_profile(self) -> torch.Tensor:
        """The query's distance profile (a research variant may widen it: see
        :mod:`loopfind_core.research.variants`)."""
        return self._profile(self.query_frame)

    def scores(self) -> torch.Tensor:
        """The strategy's score of every start frame, shape (n_starts,); lower is better."""
        if self.strategy == "naive":
            return self._query_profile()
        return self._per_state("scores", self._active_scores)

    def _active_scores(self) -> torch.Tensor:
        positives = [self._query_profile()] + [self._profile(c.start_frame) for c in self.found]
        negatives = [self._profile(c.start_frame) for c in self.rejected]
        return active_scores(positives, negatives, self.negative_weight)

    def _per_state(self, name: str, compute):
        """``compute()``, kept until the answers change (the last few states are kept, so
        looking ahead in :meth:`branches` and coming back costs nothing)."""
        key = (name, tuple((a.candidate.start_frame, a.is_match) for a in self._history))
        if key not in self._state_cache:
            if len(self._state_cache) >= STATE_CACHE_ENTRIES:
                self._state_cache.pop(next(iter(self._state_cache)))
            self._state_cache[key] = compute()
        return self._state_cache[key]

    def _allowed(self) -> torch.Tensor:
        return self._per_state("allowed", self._allowed_now)

    def _allowed_now(self) -> torch.Tensor:
        """Where a window may be proposed: it overlaps the query or an answered window by at
        most half, it is covered at most half by the confirmed windows together (two
        confirmed neighbours leave no room for a window astride them), it lies in a valid
        part, and it is not silence or far quieter than the query (:func:`audible_starts`)."""
        search = self._search
        blocked = [self.query_frame] + [a.candidate.start_frame for a in self._history]
        allowed = allowed_starts(search.n_starts, self.window_frames, blocked, search.device)
        positives = [self.query_frame, *self._placements().values()]
        allowed &= ~covered_starts(search.n_starts, self.window_frames, positives,
                                   search.device)
        if self._valid is not None:
            allowed &= self._valid
        return allowed & self._audible

    def _best_candidate(self) -> Candidate | None:
        allowed = self._allowed()
        scores = self.scores()
        start = best_allowed_start(scores, allowed)
        if start is None:
            return None
        stop = self.review.stop_below_expected
        if stop > 0 and self.expected_matches()[0] < stop:
            return None
        return self._candidate(start, float(scores[start]))

    def _candidate(self, start_frame: int, distance: float) -> Candidate:
        return Candidate(
            start_s=self.features.frames_to_seconds(start_frame),
            duration_s=self.features.frames_to_seconds(self.window_frames),
            distance=distance,
            start_frame=start_frame,
        )

    def window_at(self, start_frame: int) -> Candidate:
        """The window starting at ``start_frame`` as a candidate, with its current score."""
        return self._candidate(start_frame, float(self.scores()[start_frame]))

    # ----- batch review: a page of windows judged at once -----
    def next_batch(self, n: int) -> list[Candidate]:
        """The ``n`` windows to review at once, best first: the pending proposal (what
        :meth:`propose` returns), then each next best allowed start under the current scores,
        blocking every chosen window before picking the next (the non-maximum suppression of
        single proposals), so no two overlap each other, the query or an answered window by
        more than half. Fewer when fewer are left; ``[]`` when the session is done. Changes no
        state: the scores are not updated between the windows of a page.
        """
        if not isinstance(n, int) or n < 1:
            raise SelectionError(f"A batch holds at least one window, not {n!r}.")
        return list(itertools.islice(self._windows_best_first(), n))

    def _windows_best_first(self) -> Iterator[Candidate]:
        """The pending proposal, then each next best allowed start under the current scores,
        blocking every one yielded before the next (see :meth:`next_batch`)."""
        first = self.propose()
        if first is None:
            return
        yield first
        search = self._search
        allowed = self._allowed().clone()  # narrowed below: the cached mask stays
        scores = self.scores()
        last = first
        while True:
            allowed &= allowed_starts(search.n_starts, self.window_frames, [last.start_frame],
                                      search.device)
            start = best_allowed_start(scores, allowed)
            if start is None:
                return
            last = self._candidate(start, float(scores[start]))
            yield last

    def answer_batch(self, decisions: Sequence[tuple[Candidate, bool]]) -> None:
        """Record a reviewed page: each (candidate, is it the sound?) becomes an answer, in
        order, so :meth:`undo` takes them back one by one and the active rule uses every one of
        them for the next batch. The page's answers share a page number; patience counts a page
        with no yes as one rejection (one fruitless look, as one "no" is one at a time), not
        each unticked window. An empty page records nothing.

        Raises:
            SelectionError: the session is done, or a window lies outside the track or
                overlaps the query, an answered window or another of the page by more than half
                (e.g. a page submitted twice); then nothing is recorded.
        """
        decisions = [(candidate, bool(yes)) for candidate, yes in decisions]
        if not decisions:
            return
        if self._finished or self.patience_left == 0:
            raise SelectionError("The session is done: there is no candidate to answer.")
        radius = suppression_radius(self.window_frames)
        taken = [self.query_frame] + [a.candidate.start_frame for a in self._history]
        for candidate, _ in decisions:
            start = candidate.start_frame
            legal = 0 <= start < self._search.n_starts and (
                self._valid is None or bool(self._valid[start]))
            if not legal or any(abs(start - t) < radius for t in taken):
                raise SelectionError(
                    f"The window at {candidate.start_s:.2f} s is answered already or overlaps "
                    "an answered one; nothing was recorded.")
            taken.append(start)
        page = 1 + max((a.page for a in self._history if a.page is not None), default=-1)
        self._record([Answer(candidate, yes, page=page) for candidate, yes in decisions])

    # ----- a stored session, rebuilt (interactive.workspace_store) -----
    def replay(self, answers: Sequence[tuple[int, float, bool, bool, int | None]],
               finished: bool = False) -> None:
        """Rebuild a stored history on this new session: each (start frame, distance, is it
        the sound, automatic, page) — the fields of an :class:`Answer` — becomes an answer, in
        order, exactly as recorded (revised answers and reviewed pages included, which
        re-proposing could not reproduce); then it is finished if it was.

        Raises:
            SelectionError: the session has answers already, or a window lies outside the
                track or overlaps the query or an earlier answer by more than half (a history
                of another track or query); then nothing is recorded.
        """
        if self._history:
            raise SelectionError("Only a new session can replay stored answers.")
        radius = suppression_radius(self.window_frames)
        taken, history = [self.query_frame], []
        for start, distance, is_match, auto, page in answers:
            start = int(start)
            legal = 0 <= start < self._search.n_starts and (
                self._valid is None or bool(self._valid[start]))
            if not legal or any(abs(start - t) < radius for t in taken):
                raise SelectionError(f"A stored answer (the window at frame {start}) does not "
                                     "fit this track and query; nothing was restored.")
            taken.append(start)
            history.append(Answer(self._candidate(start, float(distance)), bool(is_match),
                                  bool(auto), None if page is None else int(page)))
        self._history, self._pending, self._finished = history, None, bool(finished)
        self._shown_logits = [self._logit_before(j) for j in range(len(history))]

    # ----- adaptive review (retrieval.review) -----
    def next_page(self) -> list[PageWindow]:
        """The windows to show next, best first, each with its adapted chance and whether it
        is shown ticked: under the adaptive review the leading run of likely windows (see
        :func:`~loopfind_core.retrieval.review.page_length`), else the one pending proposal
        (never ticked). ``[]`` when the session is done. Changes no state; answer a page
        of one with :meth:`answer`, a longer one with :meth:`answer_batch`."""
        if self.propose() is None:
            return []
        return list(self._per_state("page", self._page_now))  # asked several times a rerun

    def _page_now(self) -> tuple[PageWindow, ...]:
        if not self.review.adaptive:
            first = self.propose()
            return (PageWindow(first, float(self.chances([first])[0]), False),)
        windows = list(itertools.islice(self._windows_best_first(), self.review.max_page))
        chances = [float(p) for p in self.chances(windows)]
        n = page_length(chances, self.review)
        tick = self.review.tick_chance if n > 1 else math.inf
        return tuple(PageWindow(c, p, p >= tick) for c, p in zip(windows[:n], chances[:n]))


def query_window_frames(features: FeatureTrack, start_s: float,
                        duration_s: float) -> tuple[int, int]:
    """Convert a query (``start_s``, ``duration_s``, seconds) to (start frame, length in frames).

    Raises:
        SelectionError: the window is empty, not finite, or does not lie inside the track.
    """
    try:
        start_s, duration_s = float(start_s), float(duration_s)
    except (TypeError, ValueError):
        raise SelectionError(
            "The selection's start and duration must be numbers of seconds, not "
            f"{start_s!r} and {duration_s!r}."
        ) from None
    if not (math.isfinite(start_s) and math.isfinite(duration_s)):
        raise SelectionError("The selection's start and duration must be finite numbers of "
                             f"seconds, not {start_s} and {duration_s}.")
    track_s = features.duration_s
    if duration_s <= 0:
        raise SelectionError(
            f"The selection is empty ({duration_s:.2f} s); select at least one frame.")
    if start_s < 0 or start_s >= track_s:
        raise SelectionError(
            f"The selection starts at {start_s:.2f} s, outside the track (0–{track_s:.2f} s)."
        )
    window_frames = max(1, features.seconds_to_frames(duration_s))
    start_frame = features.seconds_to_frames(start_s)
    if start_frame + window_frames > features.n_frames:
        raise SelectionError(
            f"The selection {start_s:.2f}–{start_s + duration_s:.2f} s runs past the end of "
            f"the track ({track_s:.2f} s)."
        )
    if 2 * window_frames > features.n_frames:
        raise SelectionError(
            f"The selection is {duration_s:.2f} s, more than half the track ({track_s:.2f} s): "
            "there is no room for another occurrence."
        )
    return start_frame, window_frames
