"""Screenshots of every page of the app on the demo, in light and dark mode, for a look.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]      (default artifacts/screenshots)

With ``LOOPFIND_LIBRARY=INDEX`` set, the Library page's screenshot shows a hunt across it.

Needs Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from testkit.browser import (  # noqa: E402
    REPO,
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

PAGES = ("Track", "Select", "Hunt", "Compare", "Export")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with running_app() as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 1500, "height": 1100},
                                    color_scheme=scheme)
            page.goto(url)
            wait_for_app(page, "Beats found", timeout_ms=180_000)
            page.screenshot(path=str(out / f"{scheme}-1-track.png"))
            open_page(page, "Select")
            zoom_around(page, 0, 47.7 + 4.0)
            drag_box(page, 0, 47.7, 55.6)  # the demo's 8-second hook loop
            page.get_by_text("Hunt this sound").first.wait_for(timeout=60_000)
            wait_idle(page)
            page.screenshot(path=str(out / f"{scheme}-2-select.png"))
            open_page(page, "Hunt")
            page.locator(".st-key-hunt_start button, button:has-text('Start hunt')").first.click()
            page.get_by_text("Candidate 1").first.wait_for(timeout=90_000)
            wait_idle(page)
            for answer in ("yes", "yes", "no", "yes"):
                press_answer(page, answer)
                wait_settled(page)
            page.screenshot(path=str(out / f"{scheme}-3-hunt.png"), full_page=True)
            open_page(page, "Compare")
            page.get_by_text("Self-similarity").first.wait_for(timeout=90_000)
            wait_idle(page)
            page.screenshot(path=str(out / f"{scheme}-4-compare.png"), full_page=True)
            open_page(page, "Export")
            page.screenshot(path=str(out / f"{scheme}-5-export.png"))
            open_page(page, "Library")  # with $LOOPFIND_LIBRARY set: a hunt across it
            hunt_button = page.get_by_text("Hunt the library")
            if hunt_button.count():
                hunt_button.first.click()
                page.get_by_text("Candidate 1").first.wait_for(timeout=120_000)
                wait_idle(page)
                for answer in ("yes", "no"):
                    press_answer(page, answer)
                    wait_settled(page)
            page.screenshot(path=str(out / f"{scheme}-6-library.png"), full_page=True)
            page.close()
        browser.close()
    print(f"wrote {len(list(out.glob('*.png')))} screenshots to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "artifacts" / "screenshots")
