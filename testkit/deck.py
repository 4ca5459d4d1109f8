"""The answer deck through Streamlit's AppTest, which draws a custom component but cannot click
it: read the data the deck was drawn with, and press its buttons by setting the component's
state as its JavaScript does (``loopfind_app/answer_deck_component/deck.js``).

    deck_press(app, "yes").run()          # one answer, applied by the next run
    deck_press(app, "yes", "no").run()    # two presses faster than a rerun: queued together
"""

from __future__ import annotations

import json


def deck_data(app, key: str = "deck") -> dict:
    """The data of the deck ``key`` in the last run: {hunt, rev, applied, now: {answers,
    found, candidate, yes, no, back}}."""
    for element in app.get("bidi_component"):
        if element.key == key:
            return json.loads(element.proto.json or element.proto.mixed.json)
    raise LookupError(f"no answer deck {key!r} drawn")


def deck_press(app, *acts: str, key: str = "deck"):
    """Queue ``acts`` (yes, no, undo, done) as presses on the deck ``key`` drawn in the last
    run, each judged on the state the one before leads to (as the browser's trail does);
    returns ``app`` so ``.run()`` applies them."""
    data = deck_data(app, key)
    state, seq, queue = data["now"], data["applied"], []
    for act in acts:
        candidate = state.get("candidate")
        seq += 1
        queue.append({"seq": seq, "act": act, "hunt": data["hunt"], "answers": state["answers"],
                      "frame": candidate["frame"] if candidate else None})
        if act in ("yes", "no"):
            state = state.get(act) or {"answers": state["answers"] + 1, "candidate": None}
        elif act == "undo":
            state = state.get("back") or state
    app.session_state[key] = {"actions": {"hunt": data["hunt"], "list": queue}}
    return app


def start_hunt(app, mode: str = "One at a time", run=None):
    """Press the Hunt page's "Start hunt", then choose how to answer (``mode``: a label of
    ``loopfind_app.batch_review``'s review control; the app's default is "Adaptive"), running
    the app after each (with ``run(app)`` when given, else ``app.run()``); returns ``app``."""
    run = run or (lambda a: a.run())
    next(b for b in app.button if b.label == "Start hunt").click()
    run(app)
    control = [c for c in app.segmented_control if c.key == "review_mode"]
    if control and control[0].value != mode:
        control[0].set_value(mode)
        run(app)
    return app
