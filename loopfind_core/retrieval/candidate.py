"""A window proposed to the user and the user's answer about it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A window proposed to the user."""

    start_s: float  # seconds from the start of the track
    duration_s: float
    distance: float  # the strategy's score: mean squared feature distance per frame
    start_frame: int

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Answer:
    """The user's verdict on one candidate."""

    candidate: Candidate
    is_match: bool
    auto: bool = False  # accepted by auto_accept(), not by the user
    page: int | None = None  # the reviewed page (answer_batch) it came from; None: one at a time
