"""The answer deck in real headless Chromium: answers by click and by key advance the caption
at once, rapid presses are neither lost nor applied twice, keys typed into a text field answer
nothing, Undo and Done work, and the export holds exactly the planted occurrences answered yes.

No timing is asserted here (the latency is measured by scripts/browser_bench.py, docs/results.md
§7)."""

from __future__ import annotations

import os

from testkit.browser import (
    HUNT_SETTINGS_FOLD,
    answer_one_at_a_time,
    browser_test_marks,
    candidate_start_s,
    deck_caption,
    launch_chromium,
    open_page,
    press_answer,
    running_app,
    wait_settled,
)
from testkit.load import (
    download_json,
    export_problems,
    is_planted,
    session_track,
    upload,
)

pytestmark = browser_test_marks(slow=True)
TRACK_INDEX = 7  # testkit.load's generated track: a chirp planted 4 times


def metric(page, label: str) -> int:
    return int(page.get_by_test_id("stMetric").filter(has_text=label).inner_text().split()[-1])


def number(page) -> int:
    """The candidate number on the deck's caption."""
    return int(deck_caption(page).split("·")[0].split()[-1])


def shown_audio_ready(page) -> bool:
    return page.evaluate("() => { const a = Array.from(document.querySelectorAll("
                         "'.lf-deck audio')).find((x) => !x.hidden); return !!a && "
                         "a.readyState >= 2 && a.getAttribute('aria-label').startsWith("
                         "'Candidate '); }")


def test_answers_by_click_and_key_undo_done_and_export(tmp_path):
    from playwright.sync_api import sync_playwright

    track = session_track(TRACK_INDEX)
    with running_app({"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"]}) as url, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_text("Beats found").first.wait_for(timeout=240_000)
        upload(page, track)
        open_page(page, "Select")
        for label, value in (("Start (s)", track.query_start_s),
                             ("Length (s)", track.sound_duration_s)):
            page.get_by_label(label).fill(f"{value:.3f}")
            page.get_by_label(label).press("Tab")
        page.get_by_role("button", name="Use these times").click()
        page.get_by_text("Hunt this sound").first.wait_for()
        open_page(page, "Hunt")
        page.get_by_role("button", name="Start hunt").click()
        answer_one_at_a_time(page)
        wait_settled(page)

        for name in ("Yes", "No", "Undo", "Done"):  # plain page elements, named for everyone
            assert page.get_by_role("button", name=name, exact=True).count() == 1, name
        assert page.get_by_role("button", name="Undo", exact=True).is_disabled()

        # keys typed into a text field answer nothing (the new hunt's settings, folded)
        page.get_by_text(HUNT_SETTINGS_FOLD).click()
        page.get_by_role("textbox", name="Sound name").type("nyd")
        page.wait_for_timeout(500)
        assert number(page) == 1 and deck_caption(page).startswith("Candidate 1 ·")
        page.get_by_role("textbox", name="Sound name").fill("")
        page.locator("h1").first.click()  # focus back on the page

        yes_answers, answered = 0, 0
        for i in range(4):  # clicks and keys alternately, from the planted truth
            start = candidate_start_s(page)
            yes = is_planted(track, start)
            press_answer(page, "yes" if yes else "no", key=i % 2 == 1)
            assert deck_caption(page).startswith(f"Candidate {answered + 2} ·"), \
                "the next candidate shows at once, before the server answers"
            answered += 1
            yes_answers += yes
            wait_settled(page)
            assert shown_audio_ready(page)
            assert metric(page, "Answers") == answered
        assert metric(page, "Occurrences") == 1 + yes_answers

        before = candidate_start_s(page)
        press_answer(page, "undo", key=True)  # back to the last answered candidate
        assert number(page) == answered
        wait_settled(page)
        assert metric(page, "Answers") == answered - 1
        undone = candidate_start_s(page)
        assert undone != before
        yes = is_planted(track, undone)
        press_answer(page, "yes" if yes else "no")  # answered again, the same way
        wait_settled(page)
        assert candidate_start_s(page) == before and metric(page, "Answers") == answered

        # two rapid presses (faster than any rerun): both applied, once each, in order
        first = candidate_start_s(page)
        page.keyboard.press("n" if not is_planted(track, first) else "y")
        second = candidate_start_s(page)
        assert second is not None and second != first
        page.keyboard.press("n" if not is_planted(track, second) else "y")
        yes_answers += is_planted(track, first) + is_planted(track, second)
        answered += 2
        wait_settled(page)
        if "Hunt finished" not in deck_caption(page):
            assert number(page) == answered + 1
        assert metric(page, "Answers") == answered, "neither lost nor doubled"
        assert metric(page, "Occurrences") == 1 + yes_answers

        if "Hunt finished" not in deck_caption(page):
            press_answer(page, "done")
            assert deck_caption(page).startswith("Hunt finished")
            wait_settled(page)
            assert page.get_by_role("button", name="Yes", exact=True).is_disabled()
            press_answer(page, "undo")  # takes back Done: the same candidate again
            assert deck_caption(page).startswith(f"Candidate {answered + 1} ·")
            wait_settled(page)
            press_answer(page, "done", key=True)
            wait_settled(page)
        assert deck_caption(page).startswith("Hunt finished")

        open_page(page, "Export")
        document = download_json(page, tmp_path, 0)
        browser.close()
    assert export_problems(track, document, yes_answers) == []
