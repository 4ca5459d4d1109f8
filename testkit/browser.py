"""Driving the app in real headless Chromium (Debian's ``chromium``) with Playwright.

Used by tests in ``tests/system/`` (browser, load, security), by ``testkit.load`` and by
``scripts/screenshots.py`` and ``scripts/load_test.py``. The app runs as a
``streamlit run app.py`` subprocess on a free localhost port.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("LOOPFIND_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
STARTUP_TIMEOUT_S = 120.0
CANDIDATE_PATTERN = re.compile(r"Candidate (\d+) · (\d+):(\d+(?:\.\d+)?)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout_s: float,
                 poll_s: float = 0.5) -> None:
    """Wait until the server at ``url`` answers its health check.

    Raises:
        RuntimeError: the process ended, or ``timeout_s`` seconds passed (with its log's tail)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(poll_s)


@contextmanager
def running_app(env: dict[str, str] | None = None) -> Iterator[str]:
    """Start the app; yield its URL; stop it. The server's log goes to a temp file."""
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"loopfind-app-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true"],
            cwd=REPO, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log_path, STARTUP_TIMEOUT_S)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                      headless=True)


def wait_for_app(page, text: str, timeout_ms: int = 90_000) -> None:
    """Wait until ``text`` shows and Streamlit has stopped running the script."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the app's 'running' indicator is gone and no element is stale (the script
    run has finished: a fragment's rerun shows no indicator, but the elements of its previous
    run stay on the page, marked stale, until the rerun ends)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=timeout_ms,
    )


def open_page(page, title: str) -> None:
    """Click a page in the top navigation and wait for it to render."""
    page.get_by_role("link", name=title, exact=True).first.click()
    page.get_by_role("heading", name=re.compile(title)).first.wait_for(timeout=60_000)
    wait_idle(page)


def plot_point(page, plot_index: int, time_s: float, row_fraction: float = 0.5):
    """Viewport (x, y) of ``time_s`` on plot ``plot_index``'s first x axis, at a height
    ``row_fraction`` down its first y axis (waiting until plotly has drawn it)."""
    page.wait_for_function(
        "([i]) => { const gd = document.querySelectorAll('.js-plotly-plot')[i];"
        " return gd && gd._fullLayout && gd._fullLayout.xaxis; }", arg=[plot_index],
        timeout=60_000,
    )
    return page.evaluate(
        """([index, t, f]) => {
            const gd = document.querySelectorAll('.js-plotly-plot')[index];
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            const box = gd.getBoundingClientRect();
            return [box.left + xa._offset + xa.d2p(t), box.top + ya._offset + f * ya._length];
        }""",
        [plot_index, time_s, row_fraction],
    )


def zoom_around(page, plot_index: int, time_s: float, wheel_steps: int = 15) -> None:
    """Zoom in around ``time_s`` with the mouse wheel, as a user would."""
    x, y = plot_point(page, plot_index, time_s)
    page.mouse.move(x, y)
    for _ in range(wheel_steps):
        page.mouse.wheel(0, -240)
        page.wait_for_timeout(120)
    page.wait_for_timeout(500)


def drag_box(page, plot_index: int, start_s: float, end_s: float) -> None:
    """Drag a selection box across ``[start_s, end_s]`` on the waveform row."""
    x0, y = plot_point(page, plot_index, start_s)
    x1, _ = plot_point(page, plot_index, end_s)
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, y, steps=5)
    page.mouse.move(x1, y, steps=5)
    page.mouse.up()


DECK = ".lf-deck"  # the answer deck (loopfind_app/answer_deck_component): caption and buttons
ANSWER_NAMES = {"yes": "Yes", "no": "No", "undo": "Undo", "done": "Done"}


def wait_settled(page, timeout_ms: int = 60_000) -> None:
    """Wait until the answer deck has no answer the server has not acknowledged, shows no
    placeholder, and the app has stopped running (the panel drawn from the same state)."""
    page.wait_for_function(
        "() => { const d = document.querySelector('.lf-deck');"
        " return !d || (d.dataset.pending === '0' && d.dataset.state !== 'loading'); }",
        timeout=timeout_ms, polling=20)
    wait_idle(page, timeout_ms)


def deck_caption(page) -> str:
    """The answer deck's caption ("Candidate N · m:ss.ss · chance …" or "Hunt finished · …"),
    or the page's text when no deck is drawn."""
    deck = page.locator(f"{DECK} .lf-caption")
    return deck.first.inner_text() if deck.count() else page.locator("body").inner_text()


def candidate_start_s(page) -> float | None:
    """The start of the candidate on screen (seconds), or None when the hunt is finished."""
    match = CANDIDATE_PATTERN.search(deck_caption(page))
    if match is None:
        return None
    return 60.0 * int(match.group(2)) + float(match.group(3))


def press_answer(page, act: str, key: bool = False) -> None:
    """Press the deck's Yes, No, Undo or Done (``act``: yes, no, undo, done): a click on the
    button of that accessible name, or its key (Y, N, U, D) with ``key``."""
    if key:
        page.keyboard.press(act[0])
    else:
        page.get_by_role("button", name=ANSWER_NAMES[act], exact=True).click()


def app_server_pid(url: str) -> int:
    """The process id of the ``streamlit run`` that :func:`running_app` started for ``url``
    (a child of this process, found by its ``--server.port`` in /proc)."""
    port = url.rsplit(":", 1)[1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
            stat = (cmdline.parent / "stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and "streamlit" in " ".join(args) and port in args:
            return int(cmdline.parent.name)
    raise RuntimeError(f"no streamlit process of this one serves {url}")


def browser_test_marks(*, slow: bool = True) -> list:
    """The ``pytestmark`` of a test module that drives Chromium: ``browser``, ``slow`` when it
    is, and a skip when Debian's Chromium is absent — unless ``$LOOPFIND_REQUIRE_BROWSER`` is
    set (as ``.ci/run`` does), where a missing browser fails the test instead."""
    import pytest

    return [
        pytest.mark.browser,
        *([pytest.mark.slow] if slow else []),
        pytest.mark.skipif(
            not CHROMIUM.exists() and not os.environ.get("LOOPFIND_REQUIRE_BROWSER"),
            reason=f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)",
        ),
    ]


HUNT_SETTINGS_FOLD = "New hunt: features, strategy, patience, name"  # pages/hunt.py's expander


def set_patience(page, patience: int, timeout_ms: int = 60_000) -> None:
    """Type ``patience`` into the Hunt page's Patience field, unfolding the new-hunt settings
    first where a hunt already exists (the page folds them then)."""
    field_ = page.get_by_role("spinbutton", name="Patience", exact=True)
    if not field_.is_visible():
        page.get_by_text(HUNT_SETTINGS_FOLD).click()
    field_.fill(str(patience))
    field_.press("Tab")
    wait_idle(page, timeout_ms)


def answer_one_at_a_time(page, timeout_ms: int = 120_000) -> None:
    """After "Start hunt": choose the review "One at a time" (the app's default, Adaptive, may
    show a page of likely windows first) and wait for the deck's first candidate."""
    control = page.get_by_text("One at a time", exact=True).first  # a segmented control's
    control.wait_for(timeout=timeout_ms)
    control.click()
    page.get_by_text(re.compile(r"Candidate \d+ ·")).first.wait_for(timeout=timeout_ms)

