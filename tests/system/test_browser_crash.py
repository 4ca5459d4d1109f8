"""Crash containment and the compile cache, in real headless Chromium.

- Two sessions; one uploads a track whose analysis kills its worker process with SIGSEGV
  (the test hook ``$LOOPFIND_TEST_CRASH_ON``, loopfind_core/base/worker.py): that session sees
  one clear message with a Retry button, the server process lives on, and the other session
  keeps working (it uploads and analyses a track afterwards, on a new worker).
- ``./run`` on a fresh machine (empty cache folders) compiles librosa's kernels before the
  server starts, with a progress line; the first visit then shows the demo and compiles
  nothing (the compile cache's files are the same before and after it).

Screenshots go to ``artifacts/browser/`` (look at them).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from loopfind_core.base.compile_cache import COMPLETE_NAME, compile_cache_tag
from loopfind_core.base.worker import CRASH_TEST_ENV
from testkit.browser import (
    REPO,
    app_server_pid,
    browser_test_marks,
    free_port,
    launch_chromium,
    open_page,
    running_app,
    wait_for_app,
    wait_healthy,
    wait_idle,
)
from testkit.hostile_inputs import good_file

pytestmark = browser_test_marks(slow=True)
CRASHING_TRACK = "crash-me.wav"
CRASH_WORDS = "stopped unexpectedly"
LEAKS = ("Traceback", "Exception", "Error:", "File \"", "/tmp", "site-packages", "SIGSEGV")
SCREENSHOTS = REPO / "artifacts" / "browser"
RUN_START_TIMEOUT_S = 1200.0  # ./run on a cold compile cache, on a loaded 2-core machine


def upload(page, name: str, data: bytes) -> None:
    """Put one file into the Track page's uploader, as a visitor choosing it would."""
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": name, "mimeType": "audio/wav", "buffer": data}])


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_crashing_analysis_costs_one_message_not_the_server():
    from playwright.sync_api import sync_playwright

    env = {"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"], CRASH_TEST_ENV: CRASHING_TRACK}
    with running_app(env) as url, sync_playwright() as playwright:
        server_pid = app_server_pid(url)
        browser = launch_chromium(playwright)
        crashing = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        for page in (crashing, other):
            page.goto(url)
            wait_for_app(page, "Beats found", timeout_ms=300_000)

        upload(crashing, CRASHING_TRACK, good_file("wav"))
        crashing.get_by_text(CRASH_WORDS, exact=False).first.wait_for(timeout=120_000)
        wait_idle(crashing)
        shot(crashing, "crash-message")
        text = crashing.locator("body").inner_text()
        assert CRASHING_TRACK in text and "Retry" in text, text[-1500:]
        assert not any(leak in text for leak in LEAKS), text[-1500:]
        assert text.count(CRASH_WORDS) == 1, "one message"

        # the other session goes on: a new upload is decoded and analysed on a new worker
        upload(other, "after-the-crash.wav", good_file("wav", duration_s=6.0))
        other.get_by_text("Loaded after-the-crash.wav", exact=False).first.wait_for(
            timeout=120_000)
        wait_idle(other)
        assert CRASH_WORDS not in other.locator("body").inner_text()
        open_page(other, "Select")
        shot(other, "crash-other-session")
        assert CRASH_WORDS not in other.locator("body").inner_text()

        # Retry tries again (the hook crashes it again: one message again, the server lives)
        crashing.get_by_role("button", name="Retry").click()
        crashing.get_by_text(CRASH_WORDS, exact=False).first.wait_for(timeout=120_000)
        wait_idle(crashing)
        assert crashing.locator("body").inner_text().count(CRASH_WORDS) == 1
        upload(crashing, "good.wav", good_file("wav"))
        crashing.get_by_text("Loaded good.wav", exact=False).first.wait_for(timeout=120_000)
        assert app_server_pid(url) == server_pid, "the same server process throughout"
        browser.close()


def _compiled_files(folder: Path) -> dict[str, int]:
    """Every file numba keeps in ``folder``, with its size in bytes."""
    return {str(path.relative_to(folder)): path.stat().st_size
            for path in folder.rglob("*.nb[ic]")}


def test_the_first_visit_after_run_on_a_fresh_machine_compiles_nothing(tmp_path):
    from playwright.sync_api import sync_playwright

    compiled_root = tmp_path / "compiled"
    env = {**os.environ, "LOOPFIND_CACHE": str(tmp_path / "cache"),
           "LOOPFIND_COMPILE_CACHE": str(compiled_root)}
    env.pop("NUMBA_CACHE_DIR", None)
    port = free_port()
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(REPO / "run"), "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true"], cwd=REPO, env=env, stdout=log,
            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log_path, RUN_START_TIMEOUT_S, poll_s=1.0)
        folder = compiled_root / compile_cache_tag()
        assert (folder / COMPLETE_NAME).is_file(), "compiled before the server started"
        output = log_path.read_text()
        assert "Preparing the audio analysis" in output and "Audio analysis ready" in output
        before = _compiled_files(folder)
        assert before, "the kernels are in the compile cache"

        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            wait_for_app(page, "Beats found", timeout_ms=600_000)
            text = page.locator("body").inner_text()
            assert "track_000_house.flac" in text and "BPM" in text, text[-1500:]
            browser.close()
        assert _compiled_files(folder) == before, "the first visit compiled nothing"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
