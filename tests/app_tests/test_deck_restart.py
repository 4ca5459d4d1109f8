"""The answer deck's queue across a server restart: the browser sends its unacknowledged
actions again to a new server (a new ledger under the hunt's stable token, ``applied`` 0);
what the old server had stored before it died is recognised as given (never applied twice,
never reported as refused), what it had not is applied, and a different answer on a stored
place is still refused. Real Chromium with a frozen then killed server:
tests/system/test_browser_faults.py."""

from __future__ import annotations

import pytest

from loopfind_app.answer_deck import Action, Ledger, already_given, apply_actions
from loopfind_core.retrieval.session import RetrievalSession

TOKEN = "hunt-a"


@pytest.fixture
def session(planted, planted_mfcc):
    return RetrievalSession(planted_mfcc, planted.sound_starts_s[0], planted.sound_duration_s,
                            patience=5)


def presses(session: RetrievalSession, acts: list[str], first_seq: int = 1) -> list[Action]:
    """The actions a browser queues for ``acts`` pressed one after the other from ``session``'s
    state (each on the candidate the one before leads to), ``session`` itself unchanged."""
    shadow, actions = _copy(session), []
    for offset, act in enumerate(acts):
        candidate = shadow.propose()
        actions.append(Action(first_seq + offset, act, TOKEN, candidate.start_frame,
                              len(session.history) + offset))
        shadow.answer(act == "yes")
    return actions


def _copy(session: RetrievalSession) -> RetrievalSession:
    """A session in the same state, as the store restores it: the answers replayed."""
    twin = RetrievalSession(session.features, session.query_start_s, session.query.duration_s,
                            patience=session.patience)
    for answer in session.history:
        assert twin.propose() == answer.candidate
        twin.answer(answer.is_match)
    return twin


def test_a_queue_sent_again_to_a_restarted_server_is_applied_once(session):
    queue = presses(session, ["yes", "no", "yes", "no"])
    old_server = Ledger(TOKEN)
    applied = apply_actions(session, old_server, queue[:2])  # stored, then the server died
    assert [ok for _, ok in applied] == [True, True]
    stored = list(session.history)

    restarted = _copy(session)  # the workspace restored from the store: the two answers
    new_server = Ledger(TOKEN)  # the same token, nothing applied
    consumed = apply_actions(restarted, new_server, queue)  # the browser's whole queue again
    assert [(a.seq, ok) for a, ok in consumed] == [(1, True), (2, True), (3, True), (4, True)]
    assert [(a.candidate, a.is_match) for a in restarted.history[:2]] == [
        (a.candidate, a.is_match) for a in stored]
    assert [a.is_match for a in restarted.history] == [True, False, True, False]
    assert new_server.applied == 4


def test_a_different_answer_on_a_stored_place_is_still_refused(session):
    yes = presses(session, ["yes"])[0]
    apply_actions(session, Ledger(TOKEN), [yes])
    no_instead = Action(1, "no", TOKEN, yes.frame, 0)  # another tab said no to the same one
    assert not already_given(session, no_instead)
    consumed = apply_actions(session, Ledger(TOKEN), [no_instead])
    assert consumed == [(no_instead, False)] and [a.is_match for a in session.history] == [True]
    elsewhere = Action(1, "yes", TOKEN, yes.frame + 1, 0)  # the same verdict, another window
    assert not already_given(session, elsewhere)
    assert not already_given(session, Action(1, "undo", TOKEN, None, 0))
    assert not already_given(session, Action(1, "yes", TOKEN, yes.frame, 1))  # not given yet
