"""Nothing lost, in real headless Chromium: a hunt survives a page reload and a server restart
(the workspace is in ``$LOOPFIND_CACHE/workspaces.sqlite`` under the URL's ``?w=`` token), a
new tab of the same browser offers to resume it, and another browser never sees it."""

from __future__ import annotations

import os
from contextlib import ExitStack
from urllib.parse import parse_qs, urlsplit

from loopfind_core.interactive.workspace_store import valid_token
from testkit.browser import (
    CANDIDATE_PATTERN,
    answer_one_at_a_time,
    browser_test_marks,
    launch_chromium,
    open_page,
    running_app,
    wait_for_app,
    wait_idle,
)
from testkit.load import hunt_typed_selection

pytestmark = browser_test_marks(slow=True)
QUERY_S = (12.0, 2.0)  # start and length (s) typed on the Select page (a stab of the demo)


def new_page(browser):
    """A tab of a new browser profile (its own localStorage)."""
    return browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()


def token_of(page) -> str | None:
    return valid_token(parse_qs(urlsplit(page.url).query).get("w", [None])[0])


def start_hunt(page) -> None:
    hunt_typed_selection(page, *QUERY_S)


def metric(page, label: str) -> str:
    return page.get_by_test_id("stMetric").filter(has_text=label).first.inner_text().split()[-1]


def answer(page, act: str) -> None:
    """Press Yes or No on the deck; wait until the server has recorded it (the Answers metric,
    drawn by the panel's rerun after the save)."""
    answers = int(metric(page, "Answers"))
    page.get_by_role("button", name=act, exact=True).click()
    page.get_by_text(f"Candidate {answers + 2}").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "([n]) => Array.from(document.querySelectorAll('[data-testid=stMetric]')).some("
        "m => m.innerText.includes('Answers') && m.innerText.trim().endsWith(String(n)))",
        arg=[answers + 1], timeout=60_000)
    wait_idle(page)


def found_table(page, rows: int) -> list[list[str]]:
    """The found table's cells, once it shows ``rows`` rows (the query and what was found):
    the grid is drawn on a canvas; its accessible twin, a <table>, is read."""
    page.get_by_test_id("stDataFrame").first.scroll_into_view_if_needed()
    page.wait_for_function(
        "([n]) => { const t = document.querySelector('[data-testid=stDataFrame] table');"
        " return t && t.getAttribute('aria-rowcount') === String(n + 1)"
        " && t.querySelectorAll('tbody tr').length === n; }", arg=[rows], timeout=60_000)
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] tbody tr'))"
        ".map(r => Array.from(r.querySelectorAll('td')).map(c => c.textContent))")


def hunt_state(page, settle_ms: int = 1500, timeout_ms: int = 60_000
               ) -> tuple[str, str, str, list[list[str]]]:
    """(the candidate's caption, Occurrences, Answers, the found table's rows), once two
    readings ``settle_ms`` apart agree: the metrics are drawn before the table in the panel's
    rerun, and the grid's accessible twin can lag its data, so one reading may mix states."""
    reading = _hunt_reading(page)
    for _ in range(max(1, timeout_ms // settle_ms)):
        page.wait_for_timeout(settle_ms)
        wait_idle(page)
        again = _hunt_reading(page)
        if again == reading:
            return reading
        reading = again
    raise AssertionError(f"the hunt's state kept changing: last {reading}")


def _hunt_reading(page) -> tuple[str, str, str, list[list[str]]]:
    """One reading of :func:`hunt_state`."""
    caption = CANDIDATE_PATTERN.search(page.locator("body").inner_text())
    assert caption is not None, page.locator("body").inner_text()[-2000:]
    occurrences = metric(page, "Occurrences")
    return (caption.group(0), occurrences, metric(page, "Answers"),
            found_table(page, int(occurrences)))


def test_a_reload_keeps_the_hunt_and_a_new_tab_offers_it():
    from playwright.sync_api import sync_playwright

    with running_app({"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"]}) as url, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = new_page(browser)
        page.goto(url)
        wait_for_app(page, "Beats found", timeout_ms=180_000)
        token = token_of(page)
        assert token is not None, page.url  # a new visit gets a token in its URL
        start_hunt(page)
        for act in ("Yes", "No", "Yes"):
            answer(page, act)
        before = hunt_state(page)
        assert before[0].startswith("Candidate 4 · ") and before[1:3] == ("3", "3")
        assert len(before[3]) == 3 and before[3][0][-1] == "query"  # the query, two found
        assert all(row[0] == str(i) for i, row in enumerate(before[3]))

        page.reload()
        answer_one_at_a_time(page, 180_000)  # the review control starts at its default again
        wait_for_app(page, "Candidate 4", timeout_ms=180_000)
        assert token_of(page) == token
        assert hunt_state(page) == before  # the same hunt, the same three answers
        answer(page, "No")  # and it goes on where it was
        after = hunt_state(page)
        assert after[0].startswith("Candidate 5 · ")

        tab = page.context.new_page()  # the same browser, the app opened again without ?w=
        tab.goto(url)
        offer = tab.get_by_test_id("stVerticalBlock").filter(has_text="Resume your last hunt?")
        offer.first.wait_for(timeout=60_000)
        assert "1 hunt · 4 answers" in offer.first.inner_text()
        tab.get_by_role("button", name="Resume your last hunt").click()
        tab.get_by_text("Resume your last hunt?").wait_for(state="detached", timeout=60_000)
        open_page(tab, "Hunt")
        answer_one_at_a_time(tab, 180_000)
        tab.get_by_text("Candidate 5").first.wait_for(timeout=180_000)
        wait_idle(tab)
        assert hunt_state(tab) == after and token_of(tab) == token
        tab.close()

        fresh = page.context.new_page()
        fresh.goto(url)
        fresh.get_by_role("button", name="Start fresh").click()
        fresh.get_by_text("Resume your last hunt?").wait_for(state="detached", timeout=60_000)
        open_page(fresh, "Hunt")
        assert "Select a sound first" in fresh.locator("body").inner_text()
        assert token_of(fresh) not in (None, token)
        fresh.close()

        other = new_page(browser)  # another browser: isolated, nothing offered
        other.goto(url)
        wait_for_app(other, "Beats found", timeout_ms=180_000)
        other.wait_for_timeout(1500)
        wait_idle(other)
        assert "Resume your last hunt" not in other.locator("body").inner_text()
        open_page(other, "Hunt")
        assert "Select a sound first" in other.locator("body").inner_text()
        assert token_of(other) not in (None, token)
        browser.close()


def test_a_hunt_survives_server_restarts_between_answers():
    from playwright.sync_api import sync_playwright

    env = {"LOOPFIND_CACHE": os.environ["LOOPFIND_CACHE"]}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = new_page(browser)
        states = []
        for round_, act in enumerate(("Yes", "No", "Yes")):
            with ExitStack() as server:  # a new server process each round, on the same cache
                url = server.enter_context(running_app(env))
                if round_ == 0:
                    page.goto(url)
                    wait_for_app(page, "Beats found", timeout_ms=180_000)
                    start_hunt(page)
                else:
                    where = urlsplit(page.url)
                    page.goto(f"{url}{where.path}?{where.query}")  # the same page and token
                    answer_one_at_a_time(page, 180_000)  # the review control's default again
                    wait_for_app(page, f"Candidate {round_ + 1}", timeout_ms=180_000)
                    assert hunt_state(page) == states[-1]  # as it was when it stopped
                answer(page, act)
                states.append(hunt_state(page))
        assert [s[0].split(" · ")[0] for s in states] == [
            "Candidate 2", "Candidate 3", "Candidate 4"]
        assert [s[1:3] for s in states] == [("2", "1"), ("2", "2"), ("3", "3")]
        with running_app(env) as url:  # the third answer survives a restart too
            where = urlsplit(page.url)
            page.goto(f"{url}{where.path}?{where.query}")
            answer_one_at_a_time(page, 180_000)
            wait_for_app(page, "Candidate 4", timeout_ms=180_000)
            assert hunt_state(page) == states[-1]
        browser.close()
