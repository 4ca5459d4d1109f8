"""End to end in real headless Chromium: keep the demo, drag a box over a known loop, answer
from the demo's ground truth until the hunt ends, check the found list, download the JSON.

Screenshots of every page go to ``artifacts/browser/`` (look at them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.demo import ensure_demo_track
from loopfind_core.corpus.truth import MATCH_OVERLAP_FRACTION, overlap_s
from testkit.browser import (
    CHROMIUM,
    REPO,
    answer_one_at_a_time,
    candidate_start_s,
    drag_box,
    launch_chromium,
    open_page,
    press_answer,
    running_app,
    wait_for_app,
    wait_idle,
    wait_settled,
    zoom_around,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("LOOPFIND_REQUIRE_BROWSER"),
        reason=f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)",
    ),
]
SOUND = "loop_stab_1"  # a 2-second stab loop with 5 occurrences in the demo track
SCREENSHOTS = REPO / "artifacts" / "browser"
MAX_ANSWERS = 40


@pytest.fixture(scope="module")
def demo_truth():
    sounds = {s.sound: s for s in read_dataset(ensure_demo_track()).sounds()}
    return sounds[SOUND]


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_hunt_a_demo_loop_in_chromium_and_export_json(demo_truth, tmp_path):
    from playwright.sync_api import sync_playwright

    query = demo_truth.occurrences[0]
    with running_app({"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"]}) as url, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        page.goto(url)
        wait_for_app(page, "Beats found", timeout_ms=180_000)
        assert "track_000_house.flac" in page.locator("body").inner_text()
        shot(page, "1-track")

        open_page(page, "Select")
        page.get_by_text("Snap to the beat grid").click()  # a user's way to a precise box
        wait_idle(page)
        zoom_around(page, 0, (query.start_s + query.end_s) / 2)
        drag_box(page, 0, query.start_s, query.end_s)
        page.get_by_text("Hunt this sound").first.wait_for(timeout=60_000)
        wait_idle(page)
        body = page.locator("body").inner_text()
        assert f"occurrence 1 of {len(demo_truth.occurrences)}" in body, body[-2000:]
        shot(page, "2-select")

        open_page(page, "Hunt")
        page.get_by_role("button", name="Start hunt").click()
        answer_one_at_a_time(page, 90_000)
        wait_idle(page)
        shot(page, "3-hunt-start")
        unfound = list(demo_truth.occurrences[1:])
        confirmed = []
        for answers in range(1, MAX_ANSWERS + 1):
            start = candidate_start_s(page)
            if start is None:
                break
            end = start + query.duration_s
            hit = max(unfound, key=lambda o: overlap_s(start, end, o.start_s, o.end_s),
                      default=None)
            yes = hit is not None and overlap_s(start, end, hit.start_s, hit.end_s) >= (
                MATCH_OVERLAP_FRACTION * query.duration_s)
            if yes:
                unfound.remove(hit)
                confirmed.append(start)
            press_answer(page, "yes" if yes else "no")
            page.wait_for_function(
                "([n]) => document.body.innerText.includes(`Candidate ${n}`) || "
                "document.body.innerText.includes('Hunt finished')", arg=[answers + 1],
                timeout=30_000,
            )
            wait_settled(page)
        assert "Hunt finished" in page.locator("body").inner_text()
        assert len(confirmed) >= len(demo_truth.occurrences) - 2, "the demo loop is easy"
        metric = page.get_by_test_id("stMetric").filter(has_text="Occurrences")
        assert metric.inner_text().split()[-1] == str(1 + len(confirmed))
        shot(page, "4-hunt-finished")

        open_page(page, "Compare")
        page.get_by_text("Where each occurrence ranks").wait_for(timeout=300_000)
        wait_idle(page)
        shot(page, "5-compare")

        open_page(page, "Export")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="JSON (game engines)").click()
        path = Path(tmp_path) / "export.json"
        download_info.value.save_as(path)
        shot(page, "6-export")
        browser.close()

    document = json.loads(path.read_text())
    track = document["track"]
    assert document["schema_version"] == "2.0" and track["name"] == "track_000_house.flac"
    assert track["sample_rate_hz"] > 0 and 100 < track["tempo_bpm"] < 140
    (sound,) = document["sounds"]
    times = [e["start_s"] for e in sound["events"]]
    assert times == sorted(times)
    assert len(times) == 1 + len(confirmed)
    for start in confirmed:
        assert min(abs(t - start) for t in times) < 0.02
    for event in sound["events"]:
        assert set(event) == {"start_s", "end_s", "duration_s", "start_sample", "beat",
                              "chance"}
        assert abs(event["start_sample"] - event["start_s"] * track["sample_rate_hz"]) <= 1
