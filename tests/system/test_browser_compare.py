"""Compare on an uploaded real song in headless Chromium: a song of the real-music corpus
(:data:`testkit.corpus_song.CORPUS_SONG`, rendered and labelled as the corpus is) is uploaded,
one of its labelled samples hunted by answering from its truth, and Compare must judge every
feature kind by those answers (ranks and a judgement count per kind, no "no ground truth").
Screenshots at 1280×800 (light and dark) and 1920×1080 go to ``artifacts/browser/compare-*.png``
(look at them)."""

from __future__ import annotations

import os
import re

from testkit.browser import REPO, browser_test_marks, launch_chromium, running_app, wait_idle
from testkit.compare_page import hunt_from_truth, open_compare
from testkit.corpus_song import CORPUS_SONG, corpus_song_marks, corpus_sound_track

pytestmark = [*browser_test_marks(slow=True), *corpus_song_marks()]
SONG_S = 120.0  # the song's first two minutes
MOST_OCCURRENCES = 10  # a sample of moderate size: a hunt of a few dozen answers
SCREENSHOTS = REPO / "artifacts" / "browser"
KINDS = ("MFCC (paper)", "Log-mel", "mel-std", "Learned (real music)", "fused")


def test_compare_judges_every_kind_by_the_users_answers(tmp_path):
    from playwright.sync_api import sync_playwright

    track = corpus_sound_track(CORPUS_SONG, "sample", MOST_OCCURRENCES, SONG_S)
    assert len(track.starts_s) >= 4
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_app({"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"]}) as url, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page.goto(url)
        yes, no = hunt_from_truth(page, track, patience=10)
        assert yes >= 2, "the sample is found more than once"
        open_compare(page)
        page.screenshot(path=str(SCREENSHOTS / "compare-1280-light.png"), full_page=True)
        body = page.locator("body").inner_text()
        assert "no ground truth" not in body.lower()
        assert f"your {yes} confirmed occurrence" in body and f"{no} rejected window" in body
        assert f"for the {yes} confirmed occurrence" in body
        grid = page.locator("[data-testid='stTable']").first
        grid.wait_for()
        table = grid.inner_text()
        for kind in KINDS:
            assert kind in table, table
        found = re.findall(rf"(\d+) / {yes}\b", table)  # per kind: how many it would find
        assert len(found) == len(KINDS) and all(0 < int(n) <= yes for n in found), table
        rank_plot = page.locator(".js-plotly-plot").first
        assert rank_plot.locator(".scatterlayer .point").count() == yes * len(KINDS)
        for i, name in enumerate(("ranks", "curves", "self-similarity")):  # below the fold
            plot = page.locator(".js-plotly-plot").nth(i)
            plot.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"compare-1280-{name}.png"))
        with page.expect_download() as download:
            page.get_by_role("button", name="Ranks (CSV)").click()
        rows = open(download.value.path()).read().splitlines()
        assert len(rows) == 1 + 2 * len(KINDS) * yes  # raw and whitened, per occurrence

        page.emulate_media(color_scheme="dark")
        page.reload()
        open_compare(page)
        page.screenshot(path=str(SCREENSHOTS / "compare-1280-dark.png"), full_page=True)
        page.set_viewport_size({"width": 1920, "height": 1080})
        wait_idle(page)
        page.screenshot(path=str(SCREENSHOTS / "compare-1920-light.png"), full_page=False)
        browser.close()
