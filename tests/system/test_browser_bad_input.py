"""Hostile uploads through the real file uploader in headless Chromium.

A representative part of testkit/hostile_inputs.py goes through the Track page's uploader the
way a visitor's browser sends it: each refused file shows its clear message and keeps the
track, hostile names show literally (no HTML, no script, no file written), no traceback or
exception text ever shows, and a good file afterwards still loads.
"""

from __future__ import annotations

import os

from testkit.browser import (
    REPO,
    browser_test_marks,
    launch_chromium,
    running_app,
    wait_for_app,
    wait_idle,
)
from testkit.hostile_inputs import MARKER_NAME, content_of, good_file, hostile_inputs

pytestmark = browser_test_marks(slow=False)
KEPT = "The current track is kept."
# (corpus case, the words the visitor must see); every text is distinct, so each upload's
# outcome is told apart from the previous one's
UPLOADS = [
    ("zero-length .wav", "is empty (0 bytes)"),
    ("random bytes .mp3", "could not be decoded"),
    ("float wav with NaN", "NaN or infinity"),
    ("all-zero audio", "is silent"),
    ("64 channels", "has 64 channels"),
    ("4 kHz", "4000 Hz"),
    ("hostile name: markdown and html",
     "Loaded <img src=x onerror=alert(1)>[x](javascript:alert(1)).wav"),
    ("hostile name: path traversal", "Loaded passwd.wav"),
    ("hostile name: shell substitution", f"Loaded $(touch {MARKER_NAME}).wav"),
]
LEAKS = ("Traceback", "Exception", "Error:", "File \"")


def upload(page, name: str, data: bytes, mime: str = "audio/wav") -> None:
    """Put one file into the Track page's uploader, as a visitor choosing it would."""
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}]
    )


def body_text(page) -> str:
    return page.locator("body").inner_text()


def test_hostile_uploads_say_why_and_the_app_keeps_working(tmp_path):
    from playwright.sync_api import sync_playwright

    cases = {c.case: c for c in hostile_inputs()}
    dialogs: list[str] = []
    with running_app({"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"]}) as url, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url)
        wait_for_app(page, "Beats found", timeout_ms=180_000)
        for case, expected in UPLOADS:
            item = cases[case]
            upload(page, item.file_name, content_of(item, tmp_path))
            page.get_by_text(expected, exact=False).first.wait_for(timeout=60_000)
            wait_idle(page)
            text = body_text(page)
            assert (KEPT in text) == (item.expect != "ok"), (case, text[-1500:])
            assert not any(leak in text for leak in LEAKS), (case, text[-1500:])
            if item.expect != "ok":
                assert "track_000_house.flac" in text, "the demo track stays"

        assert page.locator("img[src='x']").count() == 0, "a file name became HTML"
        assert not dialogs, f"a file name ran script: {dialogs}"
        upload(page, "good.wav", good_file("wav"))
        page.get_by_text("Loaded good.wav", exact=False).first.wait_for(timeout=60_000)
        wait_idle(page)
        metric = page.get_by_test_id("stMetric").filter(has_text="Duration")
        assert metric.inner_text().split()[-1] == "0:03.00"
        assert not any(leak in body_text(page) for leak in LEAKS)
        browser.close()
    for folder in (REPO, REPO / "tests", tmp_path):
        assert not (folder / MARKER_NAME).exists(), "a file name ran a shell command"
        assert not (folder / "passwd.wav").exists(), "a file name became a path"
