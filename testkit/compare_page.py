"""Driving the Compare page in headless Chromium: a hunt answered from the planted truth, then
Compare opened and timed (used by tests/system/test_browser_compare.py and
scripts/browser_bench.py ``--compare``)."""

from __future__ import annotations

import re
import time

from testkit.answer_bench import start_hunt_in_browser
from testkit.browser import candidate_start_s, open_page, press_answer, wait_idle, wait_settled
from testkit.load import PAGE_TIMEOUT_MS, SessionTrack, is_planted

VERDICT_TEXT = re.compile(r"needs .+ judgements? for the")  # the verdict: "… needs N …"
MAX_ANSWERS = 40


def hunt_from_truth(page, track: SessionTrack, patience: int = 5) -> tuple[int, int]:
    """Upload ``track``, select its first chirp and hunt it, answering each candidate from the
    planted truth until the hunt ends; (yes answers, no answers)."""
    start_hunt_in_browser(page, track, patience)
    yes = no = 0
    for _ in range(MAX_ANSWERS):
        start = candidate_start_s(page)
        if start is None:
            break
        answer = is_planted(track, start)
        press_answer(page, "yes" if answer else "no")
        yes, no = yes + answer, no + (not answer)
        wait_settled(page, PAGE_TIMEOUT_MS)
    return yes, no


def open_compare(page) -> float:
    """Open Compare from the navigation; seconds until its verdict shows and the run is over."""
    started = time.perf_counter()
    open_page(page, "Compare")
    page.get_by_text(VERDICT_TEXT).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3",
                           timeout=PAGE_TIMEOUT_MS)
    wait_idle(page, PAGE_TIMEOUT_MS)
    return time.perf_counter() - started
