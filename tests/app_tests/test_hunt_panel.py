"""The hunt panel's answer deck: the queue of presses (parsed, applied once each, in order,
never to another candidate or hunt), the states it is drawn with (the candidate now and after
a yes, a no and an undo), and the panel through AppTest (which draws the component; presses
are made by setting its state, as its JavaScript does: testkit.deck).

The deck in real Chromium (clicks, keys, the instant swap): tests/system/test_browser_answers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from loopfind_app.answer_deck import (
    MAX_QUEUED,
    Action,
    Card,
    Ledger,
    apply_actions,
    clip_url,
    deck_data,
    parse_actions,
)
from loopfind_core.retrieval.session import RetrievalSession
from testkit.deck import deck_data as drawn_deck
from testkit.deck import deck_press, start_hunt

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TOKEN = "hunt-a"


def card(candidate) -> Card:
    return Card(candidate.start_frame, f"{candidate.start_s:.2f}", 0.5, b"RIFF", 1.0)


def press(seq: int, act: str, session: RetrievalSession, hunt: str = TOKEN,
          frame: int | None = None) -> Action:
    """An action as the browser sends it, judged on ``session``'s state now."""
    pending = session.propose()
    if frame is None and act != "undo" and pending is not None:
        frame = pending.start_frame
    return Action(seq, act, hunt, None if act == "undo" else frame, len(session.history))


@pytest.fixture
def session(planted, planted_mfcc):
    return RetrievalSession(planted_mfcc, planted.sound_starts_s[0], planted.sound_duration_s,
                            patience=3)


def test_the_queue_is_read_defensively():
    good = {"seq": 2, "act": "yes", "hunt": "h", "frame": 10, "answers": 0, "sent": 1.5}
    value = {"actions": {"hunt": "h", "list": [
        good, {**good, "seq": 1, "act": "undo", "frame": "ignored"},
        {**good, "seq": True}, {**good, "act": "rm -rf"}, {**good, "frame": "10"},
        {**good, "answers": None}, {**good, "hunt": 3}, "junk", None]}}
    actions = parse_actions(value)
    assert [(a.seq, a.act, a.frame) for a in actions] == [(1, "undo", None), (2, "yes", 10)]
    assert actions[1].sent_ms == 1.5
    for junk in (None, [], "x", {"actions": None}, {"actions": {"list": "x"}}):
        assert parse_actions(junk) == []
    flood = {"actions": {"list": [{**good, "seq": i} for i in range(1, 1000)]}}
    assert len(parse_actions(flood)) == MAX_QUEUED


def test_each_press_is_applied_once_in_order(session):
    ledger = Ledger(TOKEN)
    first = session.propose()
    after_yes = session.branches().yes
    queue = [press(1, "yes", session)]
    queue.append(Action(2, "no", TOKEN, after_yes.start_frame, 1))  # pressed on the branch
    assert [ok for _, ok in apply_actions(session, ledger, queue)] == [True, True]
    assert [(a.candidate, a.is_match) for a in session.history] == [(first, True),
                                                                     (after_yes, False)]
    assert ledger.applied == 2
    # the same queue again (a rerun that still carries it): nothing is applied twice
    assert apply_actions(session, ledger, queue) == []
    assert len(session.history) == 2


def test_a_press_on_another_candidate_or_hunt_is_skipped(session):
    ledger = Ledger(TOKEN)
    pending = session.propose()
    stale = Action(1, "yes", TOKEN, pending.start_frame + 999, 0)
    other_hunt = press(2, "yes", session, hunt="hunt-b")
    wrong_count = Action(3, "no", TOKEN, pending.start_frame, 5)
    consumed = apply_actions(session, ledger, [stale, other_hunt, wrong_count])
    assert [(a.seq, ok) for a, ok in consumed] == [(1, False), (3, False)]
    assert session.history == () and session.propose() == pending


def test_undo_and_done_through_the_queue(session):
    ledger = Ledger(TOKEN)
    first = session.propose()
    apply_actions(session, ledger, [press(1, "yes", session)])
    apply_actions(session, ledger, [press(2, "done", session)])
    assert session.done and len(session.found) == 1
    apply_actions(session, ledger, [press(3, "undo", session)])  # takes back Done
    assert not session.done and len(session.found) == 1
    apply_actions(session, ledger, [press(4, "undo", session)])  # takes back the yes
    assert session.history == () and session.propose() == first
    consumed = apply_actions(session, ledger, [press(5, "undo", session)])
    assert consumed[0][1] is False, "nothing left to undo"


def test_the_deck_is_drawn_with_every_next_state(session):
    ledger = Ledger(TOKEN)
    first = session.propose()
    yes, no, back = session.branches()
    data = deck_data(session, ledger, card)
    now = data["now"]
    assert (data["hunt"], data["applied"]) == (TOKEN, 0)
    first_rev = data["rev"]  # from the wall clock: a restarted server's data is newer
    assert now["candidate"]["frame"] == first.start_frame and now["candidate"]["number"] == 1
    assert now["candidate"]["clip"] == clip_url(b"RIFF") and now["candidate"]["lead"] == 1.0
    assert (now["yes"]["candidate"]["frame"], now["yes"]["answers"], now["yes"]["found"]) == (
        yes.start_frame, 1, 1)
    assert (now["no"]["candidate"]["frame"], now["no"]["found"]) == (no.start_frame, 0)
    assert now["no"]["candidate"]["number"] == 2 and back is None and "back" not in now
    session.answer(True)
    session.finish()
    finished_data = deck_data(session, ledger, card)
    assert finished_data["rev"] > first_rev
    finished = finished_data["now"]
    assert finished["candidate"] is None and "yes" not in finished and "no" not in finished
    assert finished["back"]["candidate"]["frame"] == yes.start_frame  # undo takes back Done
    assert (finished["back"]["answers"], finished["back"]["found"]) == (1, 1)
    session.undo()
    session.undo()
    assert deck_data(session, ledger, card)["rev"] > finished_data["rev"]


def test_the_candidate_number_counts_the_users_own_answers(session):
    session.answer(True)
    session.answer(True)
    accepted = session.auto_accept(0.0)  # every window left: many automatic answers
    assert len(accepted) >= 2
    session.undo()  # the last automatic acceptance is pending again
    now = deck_data(session, Ledger(TOKEN), card)["now"]
    assert (now["answers"], now["own"]) == (len(session.history), 2)
    assert now["candidate"]["number"] == 3, "automatic acceptances do not advance the number"
    assert now["no"]["candidate"] is None or now["no"]["candidate"]["number"] == 4
    back = now["back"]  # an undo takes back another automatic acceptance: the number stays
    assert (back["own"], back["candidate"]["number"]) == (2, 3)


def test_a_patience_ending_no_leads_to_the_finished_state(planted_mfcc):
    session = RetrievalSession(planted_mfcc, 3.1, 0.6, patience=1)
    now = deck_data(session, Ledger(TOKEN), card)["now"]
    assert now["no"]["candidate"] is None and now["yes"]["candidate"] is not None
    session.answer(False)
    back = deck_data(session, Ledger(TOKEN), card)["now"]["back"]
    assert (back["answers"], back["found"], back["candidate"]["number"]) == (0, 0, 1)


@pytest.fixture(scope="module")
def stab_loop():
    from loopfind_core.corpus.dataset import read_dataset
    from loopfind_core.corpus.demo import ensure_demo_track

    return {s.sound: s for s in read_dataset(ensure_demo_track()).sounds()}["loop_stab_1"]


def test_the_hunt_page_deck_in_apptest(stab_loop):
    app = AppTest.from_file(APP, default_timeout=180)
    app.run()
    app.switch_page("pages/select.py").run()
    query = stab_loop.occurrences[0]
    app.number_input(key="sel_start").set_value(query.start_s)
    app.number_input(key="sel_duration").set_value(query.duration_s)
    app.get("form_submit_button")[0].click()
    app.run()
    app.switch_page("pages/hunt.py").run()
    start_hunt(app)
    assert not app.exception, app.exception
    session = app.session_state.workspace.hunt.session
    data = drawn_deck(app)
    assert data["now"]["candidate"]["frame"] == session.propose().start_frame
    assert data["now"]["candidate"]["clip"].startswith("data:audio/wav;base64,")

    deck_press(app, "yes", "no").run()  # two presses faster than a rerun: both, in order
    assert not app.exception, app.exception
    assert [a.is_match for a in session.history] == [True, False]
    assert drawn_deck(app)["applied"] == 2
    occurrences = next(m.value for m in app.metric if m.label == "Occurrences")
    assert occurrences == "2", "the metrics drawn after the deck applied the presses"
    app.run()  # a rerun carrying the same queue again applies nothing twice
    assert len(session.history) == 2

    deck_press(app, "undo").run()
    assert [a.is_match for a in session.history] == [True]
    deck_press(app, "done").run()
    assert session.done and drawn_deck(app)["now"]["candidate"] is None
    deck_press(app, "undo").run()
    assert not session.done and drawn_deck(app)["now"]["candidate"] is not None

    start_hunt(app)  # a new hunt: the old hunt's queue, still in the component's state, is ignored
    assert app.session_state.workspace.hunt.session.history == ()
    assert drawn_deck(app)["hunt"] != data["hunt"]
