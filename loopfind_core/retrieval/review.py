"""How a hunt is reviewed: one window at a time or a page at once, and when it stops.

A :class:`ReviewPolicy` is part of a hunt's settings (:mod:`.defaults`). The paper's review
(:data:`ONE_AT_A_TIME`) shows one window per answer and ends after ``patience`` rejections in
all. The adaptive review (:data:`ADAPTIVE`) reads the calibrated chance of every window
(:mod:`.calibration`, adapted to the hunt's own answers):

- **pages**: while the next windows are likely matches (chance ≥ ``page_chance``), they are
  shown together, up to ``max_page``, those at least ``tick_chance`` likely ticked in advance;
  otherwise one window at a time, so each answer steers the next proposal;
- **stop**: the hunt is over when the expected number of matches among all the windows not
  judged yet (the sum of their chances, :func:`expected_matches`) falls below
  ``stop_below_expected``; ``patience`` then only caps waste: rejections *in a row* (a page
  with no yes counts as one).

Pure functions over tensors; the session (:mod:`.session`) holds the state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ReviewPolicy:
    """How windows are shown and when the hunt ends (see the module docstring)."""

    patience_in_a_row: bool = False  # patience counts rejections since the last yes
    stop_below_expected: float = 0.0  # done when fewer matches than this are expected; 0: off
    page_chance: float = math.inf  # windows at least this likely share a page; inf: never
    tick_chance: float = 1.0  # windows at least this likely are ticked on a page
    max_page: int = 12  # windows on one page at most

    @property
    def adaptive(self) -> bool:
        return self.stop_below_expected > 0 or math.isfinite(self.page_chance)


ONE_AT_A_TIME = ReviewPolicy()
ADAPTIVE = ReviewPolicy(patience_in_a_row=True, stop_below_expected=0.5, page_chance=0.5,
                        tick_chance=0.7, max_page=12)


@dataclass(frozen=True)
class PageWindow:
    """One window of a review page."""

    candidate: object  # a session.Candidate
    chance: float  # its adapted calibrated probability of being the sound, 0…1
    ticked: bool  # shown ticked: the user only unticks what is wrong


def local_minimum_starts(scores: torch.Tensor, allowed: torch.Tensor, radius: int) -> torch.Tensor:
    """The allowed starts whose score is the lowest within ``radius − 1`` frames either side
    among allowed starts: the windows a best-first review would reach (non-maximum suppression
    without its sequential loop), as a 1-D tensor of start frames, best first."""
    masked = torch.where(allowed, scores, torch.full_like(scores, math.inf))
    width = max(1, 2 * radius - 1)
    pooled = -F.max_pool1d((-masked)[None, None], width, stride=1, padding=width // 2)[0, 0]
    pooled = pooled[: len(masked)]
    keep = allowed & (masked <= pooled) & torch.isfinite(masked)
    starts = torch.nonzero(keep).flatten()
    return starts[torch.argsort(masked[starts], stable=True)]


def page_length(chances: list[float], policy: ReviewPolicy) -> int:
    """How many of the next windows (``chances``, best first) to show at once: the leading
    run at least ``page_chance`` likely, at most ``max_page``; 1 when the first is less
    likely (or the policy never pages); 0 when there is nothing."""
    if not chances:
        return 0
    run = 0
    for chance in chances[: policy.max_page]:
        if chance < policy.page_chance:
            break
        run += 1
    return max(1, run)


def left_text(session) -> str:
    """What is left of a hunt (a :class:`~.session.RetrievalSession`), in words: under an
    adaptive review how many more matches are likely (the sum of the chances of every window
    not judged yet, with its 90 % range) and the 'no' left in a row; otherwise the patience
    left. What the Hunt page and ``hunt`` show."""
    policy = session.review
    if not policy.adaptive:
        return f"Patience: {session.patience_left} of {session.patience} ‘no’ left"
    expected, low, high = session.expected_matches()
    patience = f"{session.patience_left} of {session.patience} ‘no’ in a row left"
    if expected < policy.stop_below_expected:
        return f"Probably none left · {patience}"
    spread = f" ({low:.0f}–{high:.0f})" if round(low) != round(high) else ""
    return f"About {expected:.0f} more likely{spread} · {patience}"
