"""Page-level timings in headless Chromium, for ``scripts/browser_bench.py``: what a user waits
for around the answer deck.

:func:`pages_session` drives one user on its own generated track and times, each from the
click to the moment the page shows the result and Streamlit's run is over (the status widget
gone), read no sooner than :data:`SETTLE_MS` after the click (so every figure is at least
that; the run has to start before its end can be seen):

- **page switch** — Track → Select → Hunt → Export (→ Track), from the top navigation, to the
  new page's heading shown and its run over;
- **batch submit** — on a hunt answered "12 at a time": "Submit these 12" to the next page's
  first window shown (a different window) and the run over;
- **undo page** — "Undo page" to the previous page's first window shown again;
- **accept all** — "Accept all above" on the answer deck ("One at a time", after a few answers
  from the planted truth) to the run over;
- **compare, first visit / again** — the Compare page opened from the navigation, to its
  verdict and its three plots drawn; the first visit of this hunt, then again after a visit to
  Hunt.
"""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import dataclass, field

from .answer_bench import MAX_PATIENCE
from .browser import (
    answer_one_at_a_time,
    candidate_start_s,
    launch_chromium,
    press_answer,
    set_patience,
    wait_idle,
    wait_settled,
)
from .compare_page import VERDICT_TEXT
from .load import (
    PAGE_TIMEOUT_MS,
    SessionTrack,
    click_until_shown,
    is_planted,
    open_app,
    type_selection,
    upload,
)

PAGE_CYCLE = ("Select", "Hunt", "Export", "Track")  # from Track, round and back
FIRST_CELL = re.compile(r"(?:^|\n)1 · (\d+:\d\d\.\d\d)")  # a batch page's first window
IDLE_JS = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
ANSWERS_BEFORE_ACCEPT = 4  # deck answers from the planted truth before "Accept all"
SETTLE_MS = 150  # after a click, before "the run is over" may be read: the run has to start
COMPARE_TIMEOUT_MS = 120_000
CLICK_ATTEMPTS = 3  # clicks of a batch page's button before giving up (as testkit.load does)
CLICK_WAIT_MS = 60_000  # ... each waited for this long


@dataclass
class PagesResult:
    """Seconds per action, by action name."""

    track: str
    seconds: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None

    def add(self, action: str, seconds: float) -> None:
        self.seconds.setdefault(action, []).append(round(seconds, 4))


def _idle_after(page, clicked: float, condition_js: str, arg=None,
                timeout_ms: int = PAGE_TIMEOUT_MS) -> float:
    """Seconds from ``clicked`` until ``condition_js`` holds and the run is over; the run
    must have had :data:`SETTLE_MS` to start (a check right after the click would find the
    previous run's idle page)."""
    page.wait_for_timeout(SETTLE_MS)
    page.wait_for_function(f"(a) => ({condition_js})(a) && ({IDLE_JS})()", arg=arg,
                           timeout=timeout_ms, polling=10)
    return time.perf_counter() - clicked


def switch_page(page, title: str) -> float:
    """Open ``title`` from the navigation; seconds until its heading shows and its run is
    over."""
    link = page.get_by_role("link", name=title, exact=True).first
    clicked = time.perf_counter()
    link.click()
    return _idle_after(page, clicked, "(t) => Array.from(document.querySelectorAll('h1'))"
                                      ".some((h) => h.textContent.startsWith(t))", title)


def first_cell(page) -> str | None:
    match = FIRST_CELL.search(page.locator("body").inner_text())
    return match.group(1) if match else None


def _press_for_cell(page, name: str, changed_from: str | None = None,
                    back_to: str | None = None) -> float:
    """Press the button ``name``; seconds until the batch page's first window differs from
    ``changed_from`` (or is ``back_to``) and the run is over."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    button = page.get_by_role("button", name=re.compile(name)).first
    page.wait_for_function(IDLE_JS, timeout=PAGE_TIMEOUT_MS, polling=10)
    js = ("([was, want]) => { const m = document.body.innerText.match(/(?:^|\\n)1 · "
          "(\\d+:\\d\\d\\.\\d\\d)/); const now = m ? m[1] : null;"
          " return want !== null ? now === want : now !== was; }")
    clicked = time.perf_counter()
    for attempt in range(1, CLICK_ATTEMPTS + 1):  # a click can land on a rerun's old element
        button.click(timeout=CLICK_WAIT_MS)
        try:
            return _idle_after(page, clicked, js, [changed_from, back_to],
                               timeout_ms=CLICK_WAIT_MS)
        except PlaywrightTimeout:
            if attempt == CLICK_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def start_hunt(page, track: SessionTrack, review: str) -> None:
    """Select the track's first planted sound and start a hunt reviewed ``review``."""
    page.get_by_role("link", name="Select", exact=True).first.click()
    page.get_by_role("heading", name=re.compile("Select")).first.wait_for(
        timeout=PAGE_TIMEOUT_MS)
    wait_idle(page, PAGE_TIMEOUT_MS)
    type_selection(page, track.query_start_s, track.sound_duration_s)
    page.get_by_role("link", name="Hunt", exact=True).first.click()
    page.get_by_role("heading", name=re.compile("Hunt")).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    wait_idle(page, PAGE_TIMEOUT_MS)
    set_patience(page, MAX_PATIENCE, PAGE_TIMEOUT_MS)
    click_until_shown(page, page.get_by_role("button", name="Start hunt"), "One at a time")
    if review == "One at a time":
        answer_one_at_a_time(page, PAGE_TIMEOUT_MS)
    else:
        page.get_by_text(review, exact=True).first.click()
        page.get_by_role("button", name=re.compile("Submit these")).first.wait_for(
            timeout=PAGE_TIMEOUT_MS)
    wait_idle(page, PAGE_TIMEOUT_MS)


def open_compare(page) -> float:
    """Open Compare; seconds until its verdict and three plots show and its run is over."""
    link = page.get_by_role("link", name="Compare", exact=True).first
    clicked = time.perf_counter()
    link.click()
    page.get_by_text(VERDICT_TEXT).first.wait_for(timeout=COMPARE_TIMEOUT_MS)
    return _idle_after(page, clicked,
                       "() => document.querySelectorAll('.js-plotly-plot').length >= 3")


def pages_session(url: str, track: SessionTrack, rounds: int) -> PagesResult:
    """One user in headless Chromium timing the actions of the module docstring, ``rounds``
    times each: the page switches, then a hunt answered 12 at a time (submit, undo), then one
    on the deck (a few answers, Accept all) and the Compare visits it allows."""
    from playwright.sync_api import sync_playwright

    result = PagesResult(track.name)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = open_app(browser, url)
            upload(page, track)
            for _ in range(rounds):
                for title in PAGE_CYCLE:
                    result.add("page switch", switch_page(page, title))
            start_hunt(page, track, "12 at a time")
            for _ in range(rounds):  # page 1 → 2, back to 1: the hunt never runs out
                shown = first_cell(page)
                result.add("batch submit", _press_for_cell(page, "Submit these",
                                                           changed_from=shown))
                result.add("undo page", _press_for_cell(page, "Undo page", back_to=shown))
            start_hunt(page, track, "One at a time")
            for _ in range(ANSWERS_BEFORE_ACCEPT):  # a confirmed occurrence, for Compare
                start = candidate_start_s(page)
                if start is None:
                    break
                press_answer(page, "yes" if is_planted(track, start) else "no")
                wait_settled(page, PAGE_TIMEOUT_MS)
            for _ in range(rounds):
                button = page.get_by_role("button", name="Accept all above").first
                if not button.count() or button.is_disabled():  # the hunt is over
                    break
                clicked = time.perf_counter()
                button.click()
                result.add("accept all", _idle_after(page, clicked, "() => true"))
            for visit in range(rounds):
                result.add("compare, first visit" if visit == 0 else "compare, again",
                           open_compare(page))
                switch_page(page, "Hunt")
            browser.close()
    except Exception:  # noqa: BLE001 — reported, the other sessions go on
        result.error = traceback.format_exc(limit=6)
    return result
