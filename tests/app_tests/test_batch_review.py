"""The Hunt page's batch review through AppTest: a loop of the demo with many occurrences,
reviewed a page of 12 at a time (loopfind_app/batch_review.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from loopfind_app.batch_review import ADAPTIVE, BATCH, BATCH_SIZE, ONE_AT_A_TIME, with_context
from loopfind_app.hunt_panel import Place
from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.demo import ensure_demo_track
from loopfind_core.corpus.truth import MATCH_OVERLAP_FRACTION, matching_occurrence
from testkit.deck import start_hunt

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TICK = "Is this the sound?"


@pytest.fixture(scope="module")
def hook_loop():
    """The demo's loop with 16 occurrences."""
    return {s.sound: s for s in read_dataset(ensure_demo_track()).sounds()}["loop_hook_4"]


def run(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, app.exception
    return app


def batch_view_on(sound, mode: str = BATCH) -> AppTest:
    """The app with a hunt of ``sound``'s first occurrence, answered in ``mode``."""
    app = run(AppTest.from_file(APP, default_timeout=180))
    app.switch_page("pages/select.py")
    run(app)
    query = sound.occurrences[0]
    app.number_input(key="sel_start").set_value(query.start_s)
    app.number_input(key="sel_duration").set_value(query.duration_s)
    app.get("form_submit_button")[0].click()
    run(app)
    app.switch_page("pages/hunt.py")
    run(app)
    return start_hunt(app, mode, run=run)


def ticks(app: AppTest):
    return [c for c in app.checkbox if c.label == TICK]


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


@pytest.mark.slow
def test_a_page_of_12_is_judged_submitted_and_undone(hook_loop):
    app = batch_view_on(hook_loop)
    session = app.session_state.workspace.hunt.session
    page = session.next_batch(BATCH_SIZE)
    boxes = ticks(app)
    assert len(boxes) == BATCH_SIZE == len(page) and not any(b.value for b in boxes)
    charts = {c.proto.id for c in app.get("plotly_chart")}
    assert len(charts) >= BATCH_SIZE + 1, "a picture per window, and the timeline"
    assert len(app.get("audio")) == 1 + BATCH_SIZE, "the query's player, and one per window"
    assert any(f"Submit these {BATCH_SIZE}" == b.label for b in app.button)

    needed_s = MATCH_OVERLAP_FRACTION * hook_loop.occurrences[0].duration_s
    unfound = set(range(1, len(hook_loop.occurrences)))
    truth = []
    for box, candidate in zip(boxes, page):
        match = matching_occurrence(candidate, hook_loop.occurrences, unfound, needed_s)
        unfound.discard(match)
        truth.append(match is not None)
        if match is not None:
            box.check()
    assert sum(truth) >= 8, "a loop with 16 occurrences fills most of its first page"
    app.button(key="batch_submit").click()
    run(app)

    assert [(a.candidate, a.is_match, a.page) for a in session.history] == [
        (c, yes, 0) for c, yes in zip(page, truth)]
    assert metric(app, "Occurrences") == str(1 + sum(truth))
    assert metric(app, "Answers") == str(BATCH_SIZE) and metric(app, "Pages") == "1"
    found_table = app.dataframe[0].value
    assert len(found_table) == 1 + sum(truth)
    second = session.next_batch(BATCH_SIZE)
    assert not {c.start_frame for c in second} & {c.start_frame for c in page}
    assert not any(b.value for b in ticks(app)), "a new page starts unticked"

    app.button(key="batch_undo").click()
    run(app)
    assert session.history == () and session.next_batch(BATCH_SIZE) == page

    app.segmented_control(key="review_mode").set_value(ONE_AT_A_TIME)
    run(app)
    assert not ticks(app) and not any(b.key == "batch_submit" for b in app.button)
    assert session.propose() == page[0], "one at a time goes on with the page's first window"


def test_done_ends_the_batch_review(hook_loop):
    app = batch_view_on(hook_loop)
    app.button(key="batch_done").click()
    run(app)
    assert app.session_state.workspace.hunt.session.done
    assert any("Hunt finished" in m.value for m in app.markdown)
    assert not ticks(app)
    app.button(key="batch_undo").click()  # reopens the hunt: the same page again
    run(app)
    assert len(ticks(app)) == BATCH_SIZE


@pytest.mark.slow
def test_the_adaptive_review_is_the_default_and_ticks_likely_windows(hook_loop):
    app = batch_view_on(hook_loop, ADAPTIVE)
    assert app.segmented_control(key="review_mode").value == ADAPTIVE
    session = app.session_state.workspace.hunt.session
    page = session.next_page()
    if len(page) > 1:  # likely windows: a page, ticked where very likely
        boxes = ticks(app)
        assert len(boxes) == len(page)
        assert [b.value for b in boxes] == [w.ticked for w in page]
        app.button(key="batch_submit").click()
        run(app)
        assert len(session.history) == len(page)
        assert sum(a.is_match for a in session.history) == sum(w.ticked for w in page)
    else:  # rare: one at a time, on the deck
        assert not ticks(app) and any(e.key == "deck" for e in app.get("bidi_component"))
    assert any("more likely" in c.value or "Probably none left" in c.value
               for c in app.caption)


def test_players_start_a_second_early():
    assert with_context(Place(5.0, 7.0, "t")) == Place(4.0, 7.0, "t")
    assert with_context(Place(0.4, 2.0)) == Place(0.0, 2.0)
