"""Faults that must lose no answer, in real headless Chromium (issue 22's fault suite):

- a server frozen (SIGSTOP) while an answer is in flight, then killed (SIGKILL) and started
  again on the same ``$LOOPFIND_CACHE`` and port: the tab reconnects by itself; every answer the
  server had acknowledged is kept, the one in flight is kept too (or the user is told plainly
  which one was not), the card does not jump back a candidate, and the next click is applied;
- a reload of a Library hunt: the same candidate, answers and found table;
- deep links (``/hunt``, ``/select``) opened in a fresh tab after a restart run through
  ``app.py``: page titles in the navigation, the sidebar, and a new selection made there is
  saved (a reload shows it); a token the server never issued is not adopted.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import soundfile as sf

from testkit.browser import (
    DECK,
    REPO,
    STARTUP_TIMEOUT_S,
    browser_test_marks,
    deck_caption,
    free_port,
    launch_chromium,
    open_page,
    wait_for_app,
    wait_healthy,
    wait_idle,
    wait_settled,
)
from testkit.load import process_tree, type_selection
from tests.system.test_browser_resume import (
    answer,
    found_table,
    hunt_state,
    metric,
    new_page,
    start_hunt,
    token_of,
)

pytestmark = browser_test_marks(slow=True)
RECONNECT_TIMEOUT_MS = 240_000  # the tab's reconnection backoff + a cold server's first run
PAGE_FILE_NAMES = ("track", "select", "hunt", "compare", "preview", "export", "library")
PAGE_TITLES = ("Track", "Select", "Hunt", "Compare", "Preview", "Export", "Library")
LIBRARY_CAPTION = re.compile(r"Candidate (\d+) · [^\n]*?\d+:\d+\.\d+")


# ----- a server this test can freeze, kill and start again on the same port --------------------


def start_server(port: int, log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    """``streamlit run app.py`` on ``port``, once it answers its health check."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true"],
            cwd=REPO, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    wait_healthy(f"http://127.0.0.1:{port}", process, log_path, STARTUP_TIMEOUT_S)
    return process


def kill_server(process: subprocess.Popen) -> None:
    """SIGKILL the server and the worker processes it started (by their ids)."""
    for pid in reversed(process_tree(process.pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM, as an operator stopping it; SIGKILL if it does not end."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        kill_server(process)


@contextmanager
def servers():
    """A port and a list of the servers started on it; each is killed at the end."""
    started: list[subprocess.Popen] = []
    try:
        yield free_port(), started
    finally:
        for process in started:
            if process.poll() is None:
                kill_server(process)


@dataclass
class AppRun:
    """One test's app: the servers started on one port and cache folder, and a Chromium tab
    that opened the demo on the first of them."""

    port: int
    log_path: Path
    env: dict[str, str]
    started: list[subprocess.Popen]
    browser: object = None
    page: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start a server on the run's port and cache folder (again, after a stop)."""
        self.started.append(start_server(self.port, self.log_path, self.env))


@contextmanager
def app_on_demo(tmp_path: Path, extra_env: dict[str, str] | None = None):
    """A server on ``$LOOPFIND_CACHE`` (plus ``extra_env``) and a tab on its demo, analysed."""
    from playwright.sync_api import sync_playwright

    env = {"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"], **(extra_env or {})}
    with servers() as (port, started), sync_playwright() as playwright:
        run = AppRun(port, tmp_path / "server.log", env, started)
        run.start()
        run.browser = launch_chromium(playwright)
        run.page = new_page(run.browser)
        run.page.goto(run.url)
        wait_for_app(run.page, "Beats found", timeout_ms=240_000)
        yield run


def deck_pending(page) -> int:
    return int(page.locator(DECK).first.get_attribute("data-pending") or 0)


def body(page) -> str:
    return page.locator("body").inner_text()


# ----- a frozen, then killed server; a server stopped with answers in flight -------------------


def named_as_lost(text: str) -> int:
    """How many answers the page's notices say were not kept or not applied."""
    return (sum(int(n) for n in re.findall(r"(\d+) answers? in “", text))
            + sum(int(n) for n in re.findall(r"(\d+) answers? given on an older view", text)))


@pytest.mark.parametrize("stop", ["frozen-then-killed", "terminated"])
def test_answers_in_flight_when_the_server_dies_are_kept_and_the_next_click_counts(tmp_path,
                                                                                   stop):
    """Two answers in flight (the second on the card the first led to, whose own next state the
    server had not sent yet: "loading…"); the server frozen then killed, or stopped with
    SIGTERM; a new server on the same cache and port. Every answer is stored or named."""
    with app_on_demo(tmp_path) as run:
        page, started = run.page, run.started
        token = token_of(page)
        start_hunt(page)
        for act in ("Yes", "No"):
            answer(page, act)  # acknowledged: drawn by the server's rerun after its save
        acknowledged = hunt_state(page)
        assert acknowledged[0].startswith("Candidate 3 · ") and acknowledged[1:3] == ("2", "2")

        if stop == "frozen-then-killed":  # the clicks below never reach it
            started[-1].send_signal(signal.SIGSTOP)
        page.get_by_role("button", name="Yes", exact=True).click()
        in_flight = deck_caption(page)  # the prepared branch, shown at once by the browser
        assert in_flight.startswith("Candidate 4 · "), in_flight
        page.get_by_role("button", name="No", exact=True).click()
        if stop == "frozen-then-killed":
            assert deck_pending(page) == 2, "both answers wait for a server"
            page.wait_for_timeout(1500)
            kill_server(started[-1])  # killed while frozen: the answers in its socket are gone
        else:
            stop_server(started[-1])  # at once: the answers may or may not have been stored

        run.start()  # the same cache, the same port
        # the tab reconnects by itself and sends its queue to the new server
        wait_settled(page, RECONNECT_TIMEOUT_MS)
        assert token_of(page) == token
        after = hunt_state(page)
        stored, named = int(after[2]), named_as_lost(body(page))
        assert stored + named == 4 and stored >= 2, (after, body(page)[-2000:])
        assert int(after[0].split()[1]) == stored + 1, "the card shows the stored state"
        if named == 0:  # kept: the card moved on from the candidate the user saw in flight
            assert after[0].startswith("Candidate 5 · ") and after[1] == "3", after

        answer(page, "No")  # the next click is applied, not dropped
        final = hunt_state(page)
        assert int(final[2]) == stored + 1 and final[0].startswith(f"Candidate {stored + 2} ·")

        page.reload()  # what the server shows is what it stored
        wait_for_app(page, "Answer", timeout_ms=RECONNECT_TIMEOUT_MS)
        page.get_by_text("One at a time", exact=True).first.click()
        page.get_by_text(final[0].split(" · ")[0]).first.wait_for(timeout=120_000)
        wait_idle(page)
        assert hunt_state(page) == final
        run.browser.close()
        stop_server(started[-1])


# ----- a Library hunt, reloaded -----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_library(tmp_path_factory) -> Path:
    """An MFCC index of two small generated tracks with a planted chirp (as the AppTest of the
    Library page builds)."""
    from loopfind_core.library.store import build_index
    from testkit.audio import SR_HZ, planted_track

    root = tmp_path_factory.mktemp("fault_library")
    (root / "music").mkdir()
    for seed in (0, 1):
        sf.write(root / "music" / f"planted_{seed}.wav", planted_track(seed=seed).samples, SR_HZ)
    build_index(root / "music", root / "index", kind="mfcc", jobs=1)
    return root / "index"


def library_state(page) -> tuple[str, str, str, list[list[str]]]:
    """(the library deck's caption up to its time, Occurrences, Answers, the found table),
    once two readings agree."""
    def reading():
        caption = LIBRARY_CAPTION.search(deck_caption(page))
        assert caption is not None, body(page)[-2000:]
        occurrences = metric(page, "Occurrences")
        return (caption.group(0), occurrences, metric(page, "Answers"),
                found_table(page, int(occurrences)))

    last = reading()
    for _ in range(40):
        page.wait_for_timeout(1500)
        wait_idle(page)
        again = reading()
        if again == last:
            return last
        last = again
    raise AssertionError(f"the library hunt kept changing: {last}")


def answer_library(page, act: str) -> None:
    """Yes or No on the Library page's deck, once the server has recorded it."""
    answers = int(metric(page, "Answers"))
    page.get_by_role("button", name=act, exact=True).click()
    page.wait_for_function(
        "([n]) => Array.from(document.querySelectorAll('[data-testid=stMetric]')).some("
        "m => m.innerText.includes('Answers') && m.innerText.trim().endsWith(String(n)))",
        arg=[answers + 1], timeout=60_000)
    wait_settled(page)


def test_a_reload_of_a_library_hunt_keeps_its_answers(tmp_path, small_library):
    from loopfind_core.library.catalog import LIBRARY_ENV

    with app_on_demo(tmp_path, {LIBRARY_ENV: str(small_library)}) as run:
        page, started = run.page, run.started
        open_page(page, "Select")
        type_selection(page, 12.0, 2.0)
        open_page(page, "Library")
        page.get_by_role("button", name="Hunt the library").click()
        page.get_by_text(re.compile(r"Candidate 1 ·")).first.wait_for(timeout=180_000)
        wait_settled(page)
        for act in ("Yes", "No", "No"):
            answer_library(page, act)
        before = library_state(page)
        assert before[0].startswith("Candidate 4 · ") and before[2] == "3", before

        page.reload()
        page.get_by_text(re.compile(r"Candidate 4 ·")).first.wait_for(timeout=180_000)
        wait_settled(page)
        assert "Press Hunt the library" not in body(page)
        assert library_state(page) == before  # the same hunt, the same three answers
        answer_library(page, "No")  # and it goes on where it was
        assert library_state(page)[0].startswith("Candidate 5 · ")
        run.browser.close()
        stop_server(started[-1])


# ----- deep links after a restart ---------------------------------------------------------------


def nav_names(page) -> list[str]:
    """The names of the links in the top navigation and the sidebar's page list (each link's
    last line: its icon's name comes first)."""
    return page.evaluate(
        "() => Array.from(document.querySelectorAll("
        "'header a, [data-testid=stSidebarNav] a, [data-testid=stTopNavLink], "
        "[data-testid=stSidebarNavLink]')).map(a => a.innerText.trim().split('\\n').pop().trim())"
        ".filter(Boolean)")


def assert_runs_through_app(page, heading: str, shows: str) -> None:
    """The page ``heading`` is drawn inside app.py, down to the text ``shows``: its navigation
    names pages by title, the sidebar holds Loopfind's header and summary."""
    page.get_by_role("heading", name=heading).first.wait_for(timeout=RECONNECT_TIMEOUT_MS)
    page.get_by_text(shows).first.wait_for(timeout=RECONNECT_TIMEOUT_MS)
    wait_idle(page)
    page.wait_for_timeout(1000)
    wait_idle(page)
    names = nav_names(page)
    assert set(PAGE_TITLES) <= set(names), names
    assert not set(PAGE_FILE_NAMES) & set(names), names  # no raw file names
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.count() and "Loopfind" in sidebar.first.inner_text(), "the sidebar is there"


def test_deep_links_after_a_restart_run_through_the_app_and_save(tmp_path):
    with app_on_demo(tmp_path) as run:
        page, started, url = run.page, run.started, run.url
        token = token_of(page)
        open_page(page, "Select")
        type_selection(page, 12.0, 2.0)
        context = page.context
        page.close()
        stop_server(started[-1])

        run.start()
        hunt = context.new_page()  # a fresh tab straight to /hunt, the first visit of this server
        hunt.goto(f"{url}/hunt?w={token}")
        assert_runs_through_app(hunt, "Hunt", "Query: 0:12.00")  # the saved selection
        assert token_of(hunt) == token
        hunt.close()

        stop_server(started[-1])
        run.start()
        select = context.new_page()
        select.goto(f"{url}/select?w={token}")
        assert_runs_through_app(select, "Select", "Selected 0:12.00")
        select.get_by_label("Start (s)").fill("20")
        select.get_by_label("Length (s)").fill("1.5")
        select.get_by_label("Length (s)").press("Tab")
        select.get_by_role("button", name="Use these times").click()
        select.get_by_text("Selected 0:20.00").first.wait_for(timeout=60_000)
        wait_idle(select)
        select.reload()  # a new session: what it shows comes from the store
        assert_runs_through_app(select, "Select", "Selected 0:20.00")
        assert urlsplit(select.url).path.endswith("/select") and token_of(select) == token

        chosen = "0" * 32  # a token this server never issued: not adopted
        other = context.browser.new_context().new_page()
        other.goto(f"{url}/select?w={chosen}")
        assert_runs_through_app(other, "Select", "does not name a workspace of this server")
        assert token_of(other) not in (chosen, token)
        assert "Selected 0:20.00" not in body(other)
        run.browser.close()
        stop_server(started[-1])
