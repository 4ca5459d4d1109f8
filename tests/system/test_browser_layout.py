"""The Hunt page on a laptop's screen, in real headless Chromium: at 1280×800 the candidate's
caption, its picture (the image named "Candidate picture") and the Yes and No buttons are in
the viewport without scrolling, when the first candidate shows and after an answer.

Screenshots go to ``artifacts/browser/`` (look at them)."""

from __future__ import annotations

import re

from playwright.sync_api import sync_playwright

from testkit.browser import (
    REPO,
    browser_test_marks,
    launch_chromium,
    press_answer,
    running_app,
    wait_for_app,
    wait_idle,
    wait_settled,
)
from testkit.load import hunt_typed_selection

pytestmark = browser_test_marks(slow=True)
SCREENSHOTS = REPO / "artifacts" / "browser"
VIEWPORT = {"width": 1280, "height": 800}
QUERY_S = (12.0, 2.0)  # start and length (s) typed on the Select page (a stab of the demo)


def start_hunt(page) -> None:
    hunt_typed_selection(page, *QUERY_S)


def outside_viewport(page) -> dict[str, dict | None]:
    """The boxes (x, y, width, height in CSS pixels, as the page lies unscrolled) of what must
    show at once, for each one not wholly inside the viewport; None when it is absent."""
    scrolled = page.evaluate("() => window.scrollY + Array.from(document.querySelectorAll('*'))"
                             ".reduce((sum, e) => sum + e.scrollTop, 0)")
    assert scrolled == 0, "nothing is scrolled: the page as it opens"
    wanted = {
        "caption": page.locator(".lf-deck .lf-caption").first,
        "Yes": page.get_by_role("button", name="Yes", exact=True),
        "No": page.get_by_role("button", name="No", exact=True),
        "Candidate picture": page.get_by_role("img", name="Candidate picture", exact=True),
    }
    outside = {}
    for name, locator in wanted.items():
        box = locator.bounding_box() if locator.count() == 1 else None
        inside = box is not None and box["width"] > 0 and box["height"] > 0 and (
            box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"]
            and box["y"] + box["height"] <= VIEWPORT["height"])
        if not inside:
            outside[name] = box
    return outside


def wait_for_picture(page) -> None:
    """Until the shown candidate's picture is drawn and named (the panel draws it after the
    deck)."""
    page.get_by_role("img", name="Candidate picture", exact=True).locator(
        ".js-plotly-plot").first.wait_for(timeout=60_000)
    wait_idle(page)


def test_the_candidate_its_picture_and_the_answers_fit_a_laptop_screen():
    with running_app() as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        wait_for_app(page, "Beats found", timeout_ms=180_000)
        start_hunt(page)
        wait_for_picture(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "layout-hunt-1280x800.png"))
        assert re.match(r"Candidate 1 · \d+:\d\d\.\d\d", page.locator(
            ".lf-deck .lf-caption").first.inner_text())
        assert outside_viewport(page) == {}
        assert page.get_by_role("img", name="Candidate picture").count() == 1

        press_answer(page, "no")
        wait_settled(page)
        page.get_by_text(re.compile(r"Candidate 2 ·")).first.wait_for(timeout=60_000)
        wait_for_picture(page)
        page.screenshot(path=str(SCREENSHOTS / "layout-hunt-1280x800-answered.png"))
        assert outside_viewport(page) == {}
        assert page.get_by_role("img", name="Candidate picture").count() == 1
