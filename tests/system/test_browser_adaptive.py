"""The adaptive review in real headless Chromium, on a real song of the music corpus
(:data:`testkit.corpus_song.CORPUS_SONG`, its first two minutes rendered and labelled as the
corpus is) and its busiest labelled sample up to 60 occurrences (a figure played all along). The
Hunt page's default review shows pages of likely windows, ticked in advance, and one window at a
time where matches are rare; the user corrects the ticks from the truth and answers the deck,
until the hunt says it is finished. The export then holds one event per occurrence found, none
overlapping another, each at its occurrence's start. Screenshots of a page of ticked windows at
1280×800 are written to ``$LOOPFIND_SCREENSHOTS`` (default: the test's temporary folder).

No timing is asserted here (scripts/browser_bench.py measures it)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from testkit.browser import (
    browser_test_marks,
    candidate_start_s,
    deck_caption,
    launch_chromium,
    open_page,
    press_answer,
    running_app,
    wait_idle,
    wait_settled,
)
from testkit.corpus_song import CORPUS_SONG, corpus_song_marks, corpus_sound_track
from testkit.load import SessionTrack, download_json, type_selection, upload

pytestmark = [*browser_test_marks(slow=True), *corpus_song_marks()]
CELL_PATTERN = re.compile(r"(\d+):(\d+(?:\.\d+)?) · chance (\d+)%")
MAX_LOOKS = 60  # pages and single answers: far more than the hunt needs
EVENT_TOLERANCE_S = 0.02
SONG_S = 120.0  # the song's first two minutes
MOST_OCCURRENCES = 60


@pytest.fixture(scope="module")
def busy_song() -> SessionTrack:
    """The song's busiest labelled sample (up to :data:`MOST_OCCURRENCES`)."""
    track = corpus_sound_track(CORPUS_SONG, "sample", MOST_OCCURRENCES, SONG_S)
    assert len(track.starts_s) >= 20, "a busy sound"
    return track


def _covers(start_s: float, track: SessionTrack) -> int | None:
    """The occurrence (index) a window from ``start_s`` covers at least half of."""
    for i, s in enumerate(track.starts_s):
        shared = min(start_s + track.sound_duration_s, s + track.sound_duration_s) - max(start_s, s)
        if shared >= 0.5 * track.sound_duration_s:
            return i
    return None


def _answers(page) -> int:
    """The Answers metric: every window the user judged."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Answers").first
    return int(metric.inner_text().split()[-1])


def _page_cells(page) -> list[tuple[float, int]]:
    """Each window of the page on screen: (start seconds, chance percent), in order."""
    texts = page.get_by_text(CELL_PATTERN).all_inner_texts()
    return [(60.0 * int(m.group(1)) + float(m.group(2)), int(m.group(3)))
            for m in (CELL_PATTERN.search(t) for t in texts) if m]


def test_a_busy_sound_is_hunted_to_the_end_in_pages(busy_song, tmp_path):
    from playwright.sync_api import sync_playwright

    track = busy_song
    shots = Path(os.environ.get("LOOPFIND_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    found: set[int] = {0}
    pages_seen = 0
    with running_app({"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"]}) as url, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_text("Beats found").first.wait_for(timeout=240_000)
        upload(page, track)
        open_page(page, "Select")
        type_selection(page, track.query_start_s, track.sound_duration_s)
        open_page(page, "Hunt")
        page.get_by_role("button", name="Start hunt").click()
        page.get_by_text(re.compile("Candidate 1 ·|Is this the sound")).first.wait_for()
        wait_settled(page)
        for _ in range(MAX_LOOKS):
            boxes = page.get_by_role("checkbox", name="Is this the sound?")
            if boxes.count() > 1:
                cells = _page_cells(page)
                assert len(cells) == boxes.count()
                if pages_seen == 0:
                    assert any(box.is_checked() for box in boxes.all()), "ticked in advance"
                    page.screenshot(path=str(shots / "adaptive-page-1280x800.png"))
                    boxes.first.scroll_into_view_if_needed()
                    page.screenshot(path=str(shots / "adaptive-page-1280x800-grid.png"))
                for box, (start, _) in zip(boxes.all(), cells):
                    hit = _covers(start, track)
                    wanted = hit is not None and hit not in found
                    if wanted:
                        found.add(hit)
                    if box.is_checked() != wanted:  # its label covers the input: click that
                        box.locator("xpath=ancestor::label[1]").click()
                        page.wait_for_function("(b) => b.checked === " + str(wanted).lower(),
                                               arg=box.element_handle())
                answered = _answers(page) + len(cells)
                wait_idle(page)  # the ticks' reruns are over: no earlier page's button is left
                page.get_by_role("button", name=f"Submit these {len(cells)}").click()
                page.wait_for_function(  # the page is recorded and the next one is drawn
                    "([n]) => Array.from(document.querySelectorAll('[data-testid=stMetric]'))"
                    ".some(m => m.innerText.includes('Answers')"
                    " && m.innerText.trim().endsWith(String(n)))", arg=[answered])
                pages_seen += 1
            elif "Hunt finished" in deck_caption(page):
                break
            else:
                start = candidate_start_s(page)
                hit = _covers(start, track)
                yes = hit is not None and hit not in found
                if yes:
                    found.add(hit)
                press_answer(page, "yes" if yes else "no")
            wait_settled(page)
        else:
            pytest.fail("the hunt did not finish")
        assert pages_seen >= 1, "a busy sound is reviewed in pages"
        page.screenshot(path=str(shots / "adaptive-finished-1280x800.png"), full_page=True)
        open_page(page, "Export")
        document = download_json(page, tmp_path, 0)
        browser.close()
    events = sorted(float(e["start_s"]) for s in document["sounds"] for e in s["events"])
    assert len(events) == len(found) >= 0.9 * len(track.starts_s)
    assert all(b - a >= track.sound_duration_s - EVENT_TOLERANCE_S
               for a, b in zip(events, events[1:])), "no two events of the sound overlap"
    errors = [min(abs(e - s) for s in track.starts_s) for e in events]
    assert max(errors) <= EVENT_TOLERANCE_S, sorted(errors)[-5:]
