"""The answer deck: the candidate card's caption, player and Yes/No/Undo/Done, answered at once.

The active rule makes the next candidate depend on the answer, but both possible next
candidates cost milliseconds (:meth:`RetrievalSession.branches`). So every run of the hunt panel
sends the browser the candidate now AND what follows a yes, a no and an undo, each with its
caption, chance of being the sound and audio clip. A click or a key (Y, N, U, D) swaps the card
to the prepared branch in the browser, with no round trip, and queues the answer; the panel's
rerun records it and sends the next branches (``answer_deck_component/deck.js`` says how the
browser side works).

The deck is a Streamlit custom component (``st.components.v2``) mounted in the page's own DOM,
not an iframe: its buttons are plain page elements named "Yes", "No", "Undo", "Done", and it
names the container of the shown candidate's picture (drawn by the panel) an image "Candidate
picture".

The queue. The browser sends its unacknowledged actions as the component's state, each with a
sequence number, the hunt it belongs to, the candidate it judges (frame) and how many answers
the user saw recorded; :func:`apply_actions` applies each number once, in order, and skips an
action whose candidate is no longer the one pending (a stale tab, a hunt restarted meanwhile).
So answers given faster than the reruns queue, and none is lost or applied twice. The hunt's
token is stable across a server restart (the panel derives it from the workspace and the
hunt), so a queue the browser kept while the server was down is sent again to the restarted
one and applied there; an answer the old server had stored before it died is recognised as
given (:func:`already_given`), not applied twice nor refused; any other is skipped, the user
is told, and the card shows the server's state.

With ``$LOOPFIND_ANSWER_LOG`` set to a file, each run that applies actions appends one CSV row
of timings (``scripts/browser_bench.py`` reads them): the server's own time from the answer to
the next branches leaving it, and to the end of the panel's rerun.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from loopfind_core.retrieval.session import Candidate, RetrievalSession

COMPONENT_DIR = Path(__file__).resolve().parent / "answer_deck_component"
PANEL_FRAGMENT = "hunt_panel"  # the hunt panel's fragment key
ACTIONS = ("yes", "no", "undo", "done")
MAX_QUEUED = 64  # actions read from one state value; more is not a person pressing keys
ANSWER_LOG_ENV = "LOOPFIND_ANSWER_LOG"
LOG_FIELDS = ("session", "seq", "action", "applied", "client_to_server_ms", "apply_ms",
              "sent_ms", "done_ms")

_deck = st.components.v2.component(
    "loopfind_answer_deck",
    html=(COMPONENT_DIR / "deck.html").read_text(),
    css=(COMPONENT_DIR / "deck.css").read_text(),
    js=(COMPONENT_DIR / "deck.js").read_text(),
    isolate_styles=False,
)


@dataclass(frozen=True)
class Card:
    """One candidate as the deck shows it."""

    frame: int  # its start frame: which window an answer judges
    at: str  # where it lies, plain text ("m:ss.ss" or "track · m:ss.ss")
    chance: float  # 0…1: the calibrated chance that the window is the sound
    clip: bytes | None  # a WAV from ``lead_s`` before the window to its end; None: unplayable
    lead_s: float  # seconds of the clip before the window
    note: str = ""  # why there is no clip (e.g. a library folder moved)


@dataclass(frozen=True)
class Action:
    """One press of the deck, as the browser queued it."""

    seq: int  # 1, 2, 3… per hunt: applied once each, in order
    act: str  # one of ACTIONS
    hunt: str  # the hunt's token (:class:`Ledger`): a stale queue never reaches a new hunt
    frame: int | None  # the candidate judged (yes, no, done); None for undo
    answers: int  # len(session.history) in the state the user saw
    sent_ms: float | None = None  # the browser's clock (epoch ms) when it sent it


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Ledger:
    """What the deck of one hunt has applied: the hunt's token and the last sequence number.

    The token is stable for one hunt of one workspace (given by the panel), so a hunt restored
    after a server restart takes the queue the browser kept; ``rev`` starts at the wall clock
    in milliseconds, so data of a restarted server is never taken for an older run's; ``boot``
    is new for each ledger: a browser seeing a new one sends its queue again at once."""

    token: str
    applied: int = 0
    rev: int = field(default_factory=_now_ms)  # the browser ignores an older run's data
    boot: str = field(default_factory=lambda: uuid.uuid4().hex[:8])


_LEDGERS: weakref.WeakKeyDictionary[RetrievalSession, Ledger] = weakref.WeakKeyDictionary()


def ledger_of(session: RetrievalSession, token: str | None = None) -> Ledger:
    """The hunt's ledger, with ``token`` (the hunt's stable identity) or a fresh random one
    (then a new hunt object starts a new queue)."""
    if session not in _LEDGERS:
        _LEDGERS[session] = Ledger(token or uuid.uuid4().hex[:12])
    return _LEDGERS[session]


def parse_actions(value: object) -> list[Action]:
    """The actions of the component's state value ``{"actions": {"list": [...]}}``; anything
    malformed is dropped (the value comes from the browser)."""
    queue = value.get("actions") if isinstance(value, dict) else None
    items = queue.get("list") if isinstance(queue, dict) else None
    actions = []
    for item in items[:MAX_QUEUED] if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        seq, act, hunt = item.get("seq"), item.get("act"), item.get("hunt")
        frame, answers, sent = item.get("frame"), item.get("answers"), item.get("sent")
        if not (_is_int(seq) and act in ACTIONS and isinstance(hunt, str) and _is_int(answers)):
            continue
        if act != "undo" and not _is_int(frame):
            continue
        actions.append(Action(seq, act, hunt, frame if act != "undo" else None, answers,
                              float(sent) if isinstance(sent, (int, float)) else None))
    return sorted(actions, key=lambda a: a.seq)


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def apply_actions(session: RetrievalSession, ledger: Ledger,
                  actions: list[Action]) -> list[tuple[Action, bool]]:
    """Apply each action not applied yet (sequence number above ``ledger.applied``, this
    hunt's token), in order; an action whose state no longer matches what the user saw (another
    candidate pending, another number of answers) is consumed and skipped, unless the session
    already holds its answer (:func:`already_given`). Returns (action, applied or already
    held?) for each action consumed."""
    consumed = []
    for action in actions:
        if action.hunt != ledger.token or action.seq <= ledger.applied:
            continue
        ledger.applied = action.seq
        pending = session.propose()
        seen = len(session.history) == action.answers
        if action.act == "undo":
            ok = seen and (bool(session.history) or session.done)  # something to take back
            if ok:
                session.undo()
        else:
            ok = seen and pending is not None and pending.start_frame == action.frame
            if ok and action.act == "done":
                session.finish()
            elif ok:
                session.answer(action.act == "yes")
            else:  # sent again after a restart that had stored it, or the same answer twice
                ok = already_given(session, action)
        consumed.append((action, ok))
    return consumed


def already_given(session: RetrievalSession, action: Action) -> bool:
    """Whether the session holds the answer ``action`` gives, by the user, at the place the
    user gave it (the same candidate, the same verdict): a queue the browser sends again to a
    restarted server that had stored it before it died, or a second tab giving the same
    answer. Such an action is counted as applied, not refused."""
    history = session.history
    if action.act not in ("yes", "no") or len(history) <= action.answers:
        return False
    given = history[action.answers]
    return (not given.auto and given.candidate.start_frame == action.frame
            and given.is_match == (action.act == "yes"))


# ----- what the browser gets ------------------------------------------------------------------


def clip_url(wav: bytes | None) -> str | None:
    return None if wav is None else "data:audio/wav;base64," + base64.b64encode(wav).decode()


def _card_json(card: Card, number: int) -> dict[str, object]:
    return {"frame": card.frame, "number": number, "at": card.at,
            "chance": round(card.chance, 3), "clip": clip_url(card.clip),
            "clip_id": f"{card.frame}:{card.lead_s:.3f}", "lead": card.lead_s,
            "note": card.note}


def state_json(card: Card | None, answers: int, found: int, own: int) -> dict[str, object]:
    """One state of the hunt as the deck draws it: the candidate pending (None: finished), how
    many answers are recorded (``answers``: the queue's check), how many occurrences are found
    (the query aside) and how many of the answers are the user's own (``own``: automatic
    acceptances aside). The candidate's number is ``own + 1``: the user's count, which an
    auto-accept of many windows does not advance."""
    return {"answers": answers, "own": own, "found": found,
            "candidate": None if card is None else _card_json(card, own + 1)}


def deck_data(session: RetrievalSession, ledger: Ledger,
              card_of: Callable[[Candidate], Card]) -> dict[str, object]:
    """The candidate now and the state after a yes, a no and an undo (computed ahead)."""
    history = session.history
    answers, found = len(history), len(session.found)
    own = sum(not a.auto for a in history)
    pending = session.propose()
    yes, no, back = session.branches()
    now = state_json(card_of(pending) if pending else None, answers, found, own)
    if pending is not None:
        now["yes"] = state_json(card_of(yes) if yes else None, answers + 1, found + 1, own + 1)
        now["no"] = state_json(card_of(no) if no else None, answers + 1, found, own + 1)
    if back is not None:
        popped = bool(history) and back == history[-1].candidate  # else Done is taken back
        back_found = found - (popped and history[-1].is_match)
        back_own = own - (popped and not history[-1].auto)
        now["back"] = state_json(card_of(back), answers - popped, back_found, back_own)
    ledger.rev = max(ledger.rev + 1, _now_ms())
    return {"hunt": ledger.token, "rev": ledger.rev, "applied": ledger.applied,
            "boot": ledger.boot, "now": now}


# ----- the server's own timing (only with $LOOPFIND_ANSWER_LOG) ------------------------------


@dataclass
class _Timing:
    session: str
    actions: list[tuple[Action, bool]]
    received: float  # perf_counter when the run that applies them began
    wall_ms: float  # time.time() then, ms: against the browser's clock
    applied: float = 0.0
    sent: float = 0.0


def _log_path() -> Path | None:
    path = os.environ.get(ANSWER_LOG_ENV)
    return Path(path) if path else None


def timing_done(key: str) -> None:
    """The panel's rerun is over: log the timings of the actions it applied (if enabled)."""
    timing = st.session_state.pop(f"{key}__timing", None)
    path = _log_path()
    if timing is None or path is None or not timing.actions:
        return
    done = time.perf_counter()
    rows = []
    for action, ok in timing.actions:
        client = "" if action.sent_ms is None else f"{timing.wall_ms - action.sent_ms:.2f}"
        rows.append(",".join([timing.session, str(action.seq), action.act, str(int(ok)), client,
                              f"{1000 * (timing.applied - timing.received):.2f}",
                              f"{1000 * (timing.sent - timing.received):.2f}",
                              f"{1000 * (done - timing.received):.2f}"]))
    new = not path.exists()
    with path.open("a") as log:
        log.write((",".join(LOG_FIELDS) + "\n" if new else "") + "\n".join(rows) + "\n")


# ----- the deck -------------------------------------------------------------------------------


def _received(key: str) -> None:
    """The component's state changed (an answer arrived): note when, for the log."""
    st.session_state[f"{key}__received"] = (time.perf_counter(), 1000 * time.time())


def take_answers(session: RetrievalSession, key: str, hunt_token: str | None = None) -> None:
    """Apply the answers the browser queued in the deck ``key`` to ``session`` (whose stable
    identity is ``hunt_token``): first thing in the panel's run, so everything it draws
    shows them."""
    received = st.session_state.pop(f"{key}__received", None) or (
        time.perf_counter(), 1000 * time.time())
    consumed = apply_actions(session, ledger_of(session, hunt_token),
                             parse_actions(st.session_state.get(key)))
    refused = sum(not ok and action.act in ("yes", "no") for action, ok in consumed)
    if refused:  # pressed on a state this tab no longer shows (another tab answered first)
        st.warning(f"{refused} answer{'s' if refused > 1 else ''} given on an older view of "
                       "this hunt {} not applied: the candidate had changed. This tab now shows "
                       "the newest state; answer again where needed.".format(
                           "were" if refused > 1 else "was"), icon=":material/sync_problem:")
    if consumed and _log_path() is not None:
        st.session_state[f"{key}__timing"] = _Timing(
            st.session_state.get("_deck_session_id") or _session_label(), consumed, *received,
            applied=time.perf_counter())


def answer_deck(session: RetrievalSession, card_of: Callable[[Candidate], Card], key: str,
                hint: str = "", picture_class: str = "", hunt_token: str | None = None) -> None:
    """Draw the deck ``key``: the candidate now and the states that follow each action.
    ``hint`` is a caption under "Hunt finished"; ``picture_class`` + a candidate's start frame
    is the class of the container of that candidate's picture: the browser dims every picture
    but the one of the candidate it shows (the panel's rerun draws the next one after)."""
    data = deck_data(session, ledger_of(session, hunt_token), card_of)
    data |= {"hint": hint, "picture": picture_class}
    _deck(key=key, data=data, on_actions_change=lambda: _received(key))
    timing = st.session_state.get(f"{key}__timing")
    if timing is not None:
        timing.sent = time.perf_counter()


def _session_label() -> str:
    st.session_state["_deck_session_id"] = uuid.uuid4().hex[:8]
    return st.session_state["_deck_session_id"]
